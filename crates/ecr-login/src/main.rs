fn main() -> std::process::ExitCode {
    let (argv, as_helper) = ecr_login::argv();
    if as_helper {
        deploykit::cli::main_outside_the_pipe("ecr-login", argv, ecr_login::run)
    } else {
        deploykit::cli::main_from("ecr-login", argv, ecr_login::run)
    }
}
