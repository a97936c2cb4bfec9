fn main() -> std::process::ExitCode {
    oci_push::main(std::env::args_os().collect())
}
