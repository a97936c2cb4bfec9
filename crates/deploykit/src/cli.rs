//! The `main` every binary calls, and the one place that writes to stderr.
//!
//! A tool's `main.rs` is one call:
//!
//! ```text
//! deploykit::cli::main::<tool::Args>("tool", tool::run)
//! ```
//!
//! It parses the flags (clap's errors reworded to begin `tool: `, exit 2),
//! reads stdin once, passes an upstream failure through untouched
//! (ARCHITECTURE.md, "Failure travels down the pipe"), runs the tool, prints
//! its object, and exits with the status the tool returned. Stdout closed by
//! the reader (`tool | head`) exits quietly, as ripgrep does.

use std::io::Write;
use std::process::ExitCode;
use std::sync::OnceLock;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use serde_json::{Value, json};

use crate::error::{Error, Exit, Result};
use crate::stream::{self, Envelope, Stdin};

static TOOL: OnceLock<&'static str> = OnceLock::new();

/// What a run of a tool ends with: the object to print (or none) and how it
/// went. A tool that failed but has a report to give returns
/// [`Outcome::failed`]; a tool that failed with nothing to say returns `Err`.
#[derive(Debug)]
pub struct Outcome {
    output: Option<Envelope>,
    text: Option<String>,
    failure: Option<Error>,
}

impl Outcome {
    /// Success: print `doc`, exit 0.
    pub fn success(doc: Envelope) -> Self {
        Outcome {
            output: Some(doc),
            text: None,
            failure: None,
        }
    }

    /// Failure with a report: print `doc` with `error: {tool, message,
    /// exitCode}` added, tell stderr, and exit with the error's code.
    pub fn failed(doc: Envelope, error: Error) -> Self {
        Outcome {
            output: Some(doc),
            text: None,
            failure: Some(error),
        }
    }

    /// Success that prints `text` as it is instead of the JSON object: for
    /// what another program reads raw (`ecr-login --password-stdout`, a
    /// Docker credential helper's answer), never for the pipe's object.
    pub fn text(text: String) -> Self {
        Outcome {
            output: None,
            text: Some(text),
            failure: None,
        }
    }

    /// Failure that still prints `text` raw (a protocol's own error answer,
    /// such as a credential helper's "credentials not found"), with the
    /// error on stderr and its exit code.
    pub fn failed_text(text: String, error: Error) -> Self {
        Outcome {
            output: None,
            text: Some(text),
            failure: Some(error),
        }
    }

    /// The object to print and the failure, for a tool that goes on from
    /// another step's outcome (ecs-deploy --wait waits once it deployed).
    pub fn into_parts(self) -> (Option<Envelope>, Option<Error>) {
        (self.output, self.failure)
    }

    /// Success with nothing to print.
    pub fn quiet() -> Self {
        Outcome {
            output: None,
            text: None,
            failure: None,
        }
    }
}

/// Runs a tool: flags, stdin, the upstream-failure rule, `run`, stdout, exit.
pub fn main<A: clap::Parser>(
    tool: &'static str,
    run: impl FnOnce(A, Stdin) -> Result<Outcome>,
) -> ExitCode {
    main_from(tool, std::env::args_os(), run)
}

/// [`main`] with the command line given (a tool invoked under another name,
/// such as a Docker credential helper, rewrites it first).
pub fn main_from<A: clap::Parser>(
    tool: &'static str,
    argv: impl IntoIterator<Item = std::ffi::OsString>,
    run: impl FnOnce(A, Stdin) -> Result<Outcome>,
) -> ExitCode {
    main_with(tool, argv, true, run)
}

/// [`main_from`] for a tool speaking another protocol than the pipe's (a
/// Docker credential helper): stdin is not the pipe's object, so an `error`
/// in it is not an upstream failure.
pub fn main_outside_the_pipe<A: clap::Parser>(
    tool: &'static str,
    argv: impl IntoIterator<Item = std::ffi::OsString>,
    run: impl FnOnce(A, Stdin) -> Result<Outcome>,
) -> ExitCode {
    main_with(tool, argv, false, run)
}

fn main_with<A: clap::Parser>(
    tool: &'static str,
    argv: impl IntoIterator<Item = std::ffi::OsString>,
    in_the_pipe: bool,
    run: impl FnOnce(A, Stdin) -> Result<Outcome>,
) -> ExitCode {
    let _ = TOOL.set(tool);
    let args = match A::try_parse_from(argv) {
        Ok(args) => args,
        Err(e) => return clap_exit(tool, &e),
    };
    let result = Stdin::read().and_then(|stdin| {
        // Outside the pipe, stdin is not the pipe's object: not even parsed.
        let upstream = if in_the_pipe {
            stdin.upstream_failure()
        } else {
            None
        };
        match upstream {
            Some((doc, code)) => Ok(pass_through(stdin.bytes(), &doc, code)),
            None => run(args, stdin).and_then(|outcome| finish(tool, outcome)),
        }
    });
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) if e.is_broken_pipe() => ExitCode::from(Exit::Success.code()),
        Err(e) => {
            emit(&format!("{tool}: {e}"));
            ExitCode::from(e.exit().code())
        }
    }
}

/// Prints the outcome and gives the exit code.
fn finish(tool: &str, outcome: Outcome) -> Result<u8> {
    let Outcome {
        output,
        text,
        failure,
    } = outcome;
    if let Some(text) = text {
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .map_err(|e| Error::output("writing stdout", &e))?;
    }
    let code = failure.as_ref().map_or(Exit::Success, Error::exit).code();
    if let Some(doc) = output {
        let doc = match &failure {
            Some(e) => with_error(doc, tool, e),
            None => doc,
        };
        stream::write_stdout(&doc)?;
    }
    if let Some(e) = failure {
        emit(&format!("{tool}: {e}"));
    }
    Ok(code)
}

/// The report of a failed run: the tool's object with
/// `error: {tool, message, exitCode}` added last.
fn with_error(mut doc: Envelope, tool: &str, e: &Error) -> Envelope {
    doc.insert(
        "error".to_string(),
        json!({"tool": tool, "message": e.message(), "exitCode": e.exit().code()}),
    );
    doc
}

/// An upstream tool failed and said so in the object: do nothing, print the
/// object as it came, and end with its exit code, so that the last status of
/// a pipe tells, with or without `pipefail`.
fn pass_through(bytes: &[u8], doc: &Envelope, code: u8) -> u8 {
    let upstream = doc
        .get("error")
        .and_then(|e| e.get("tool"))
        .and_then(Value::as_str)
        .unwrap_or("an earlier step");
    // Whatever the object says goes to a terminal: no control characters.
    let upstream: String = upstream
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    emit(&format!(
        "{}: skipped: {upstream} failed before it (exit {code}); passing its report on",
        tool()
    ));
    let mut out = std::io::stdout().lock();
    let newline: &[u8] = if bytes.ends_with(b"\n") { b"" } else { b"\n" };
    // A reader that has gone away is no reason to change the exit code.
    let _ = out.write_all(bytes).and_then(|()| out.write_all(newline));
    let _ = out.flush();
    code
}

/// clap's own errors in the toolkit's form: `tool: message`, exit 2; help
/// and version on stdout, exit 0. A value clap did not expect is not
/// repeated: a secret typed after a space (`--env PASSWORD= s3cr3t`) lands
/// there.
fn clap_exit(tool: &str, e: &clap::Error) -> ExitCode {
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let _ = e.print();
        return ExitCode::from(Exit::Success.code());
    }
    if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        let _ = e.print();
        return ExitCode::from(Exit::Usage.code());
    }
    let mut text = e.render().to_string();
    for kind in [ContextKind::InvalidArg, ContextKind::InvalidValue] {
        if let Some(ContextValue::String(value)) = e.get(kind)
            && !value.starts_with('-')
            && !value.is_empty()
        {
            text = text.replace(&format!("'{value}'"), "(a value, not repeated here)");
        }
    }
    let text = text.strip_prefix("error: ").unwrap_or(&text);
    emit(&format!("{tool}: {}", text.trim_end()));
    ExitCode::from(Exit::Usage.code())
}

/// The running tool's name, for messages (`tool` until [`main`] sets it).
pub fn tool() -> &'static str {
    TOOL.get().copied().unwrap_or("tool")
}

/// Progress a person reading the CI log wants: `tool: message`.
pub fn note(message: impl std::fmt::Display) {
    emit(&format!("{}: {message}", tool()));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_run_reports_with_error_added_last() {
        let mut doc = Envelope::new();
        doc.insert("wait".into(), json!({"status": "timeout"}));
        let doc = with_error(
            doc,
            "ecs-wait",
            &Error::timeout("rollout still IN_PROGRESS after 15m"),
        );
        assert_eq!(
            serde_json::to_value(&doc).unwrap(),
            json!({"wait": {"status": "timeout"}, "error": {"tool": "ecs-wait", "message": "rollout still IN_PROGRESS after 15m", "exitCode": 3}})
        );
        assert_eq!(doc.keys().next_back().map(String::as_str), Some("error"));
    }
}
