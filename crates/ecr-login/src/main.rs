fn main() -> std::process::ExitCode {
    ecr_login::main(std::env::args_os().collect())
}
