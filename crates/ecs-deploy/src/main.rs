fn main() -> std::process::ExitCode {
    ecs_deploy::main(std::env::args_os().collect())
}
