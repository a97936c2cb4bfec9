fn main() -> std::process::ExitCode {
    deploykit::cli::main_with_summary("ecs-wait", ecs_wait::run)
}
