fn main() -> std::process::ExitCode {
    taskdef_render::main(std::env::args_os().collect())
}
