fn main() -> std::process::ExitCode {
    ecs_run::main(std::env::args_os().collect())
}
