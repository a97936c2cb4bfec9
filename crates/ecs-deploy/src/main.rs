fn main() -> std::process::ExitCode {
    deploykit::cli::main_with_summary("ecs-deploy", ecs_deploy::run)
}
