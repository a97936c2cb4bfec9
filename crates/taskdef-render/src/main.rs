fn main() -> std::process::ExitCode {
    deploykit::cli::main("taskdef-render", taskdef_render::run)
}
