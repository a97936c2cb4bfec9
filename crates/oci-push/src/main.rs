fn main() -> std::process::ExitCode {
    deploykit::cli::main("oci-push", oci_push::run)
}
