fn main() -> std::process::ExitCode {
    deploykit::cli::main_from("ecr-login", ecr_login::argv(), ecr_login::run)
}
