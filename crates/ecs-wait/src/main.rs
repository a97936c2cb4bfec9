fn main() -> std::process::ExitCode {
    deploykit::cli::main("ecs-wait", ecs_wait::run)
}
