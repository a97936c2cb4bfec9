fn main() -> std::process::ExitCode {
    deploykit::cli::main("ecs-run", ecs_run::run)
}
