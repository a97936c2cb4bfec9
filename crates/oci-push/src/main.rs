fn main() -> std::process::ExitCode {
    deploykit::cli::main_with_summary("oci-push", oci_push::run)
}
