fn main() -> std::process::ExitCode {
    deploykit::cli::main("ecs-deploy", ecs_deploy::run)
}
