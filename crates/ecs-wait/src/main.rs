fn main() -> std::process::ExitCode {
    ecs_wait::main(std::env::args_os().collect())
}
