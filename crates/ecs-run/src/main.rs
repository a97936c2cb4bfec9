fn main() -> std::process::ExitCode {
    deploykit::cli::main_with_summary("ecs-run", ecs_run::run)
}
