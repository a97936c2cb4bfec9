use clap::Parser;

fn main() -> std::process::ExitCode {
    deploykit::cli::main("taskdef-render", || {
        taskdef_render::run(taskdef_render::Args::parse())
    })
}
