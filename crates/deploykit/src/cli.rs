//! The `main` every binary calls, and the one place that writes to stderr.
//!
//! A tool's `main.rs` is `deploykit::cli::main("tool", || tool::run(Args::parse()))`:
//! errors print as `tool: message` and exit with the error's code; stdout
//! closed by the reader (`tool | head`) exits quietly, as ripgrep does.

use std::io::Write;
use std::process::ExitCode;
use std::sync::OnceLock;

use crate::error::{Exit, Result};

static TOOL: OnceLock<&'static str> = OnceLock::new();

/// Runs the tool and turns its result into the process's exit code.
pub fn main(tool: &'static str, run: impl FnOnce() -> Result<()>) -> ExitCode {
    let _ = TOOL.set(tool);
    match run() {
        Ok(()) => ExitCode::from(Exit::Success.code()),
        Err(e) if e.is_broken_pipe() => ExitCode::from(Exit::Success.code()),
        Err(e) => {
            emit(&format!("{tool}: {e}"));
            ExitCode::from(e.exit().code())
        }
    }
}

/// The running tool's name, for messages (`tool` until [`main`] sets it).
pub fn tool() -> &'static str {
    TOOL.get().copied().unwrap_or("tool")
}

/// Tells the user something they should know but that is not a failure,
/// such as an input field dropped or a flag ignored: `tool: warning: ...`.
pub fn warn(message: impl std::fmt::Display) {
    emit(&format!("{}: warning: {message}", tool()));
}

#[allow(clippy::print_stderr)]
fn emit(line: &str) {
    // A closed stderr is no reason to fail the work; there is nobody to tell.
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}
