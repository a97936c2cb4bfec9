//! The error every tool returns, and the exit codes (ARCHITECTURE.md, "Exit codes").
//!
//! An error carries its exit code from where it is made, so the code that
//! knows *why* something failed (bad input, AWS said no, a wait ran out) is
//! the code that decides the exit status; `main` only prints and exits.

use std::fmt;
use std::io;

/// The exit codes every tool shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: the tool did what was asked.
    Success = 0,
    /// 1: the operation failed (AWS refused, deployment failed, registry error).
    Failed = 1,
    /// 2: usage or input error: nothing was registered, deployed, tagged or
    /// given a manifest (a corrupt blob, found as it streams, comes after
    /// other blobs were uploaded: its message says so).
    Usage = 2,
    /// 3: a wait ran out of time.
    Timeout = 3,
}

impl Exit {
    /// The process exit status.
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// A failure with the exit code it should end the process with.
///
/// The message reads as `what was being done: why`, lowercase, no trailing
/// period; [`Error::context`] prepends what the caller was doing.
#[derive(Debug)]
pub struct Error {
    exit: Exit,
    message: String,
    broken_pipe: bool,
    transient: bool,
    denied: bool,
}

/// The result type of the toolkit.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    fn new(exit: Exit, message: impl Into<String>) -> Self {
        Error {
            exit,
            message: message.into(),
            broken_pipe: false,
            transient: false,
            denied: false,
        }
    }

    /// A usage or input error (exit 2): a bad flag, malformed JSON, a missing field.
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Exit::Usage, message)
    }

    /// The operation failed (exit 1).
    pub fn failed(message: impl Into<String>) -> Self {
        Self::new(Exit::Failed, message)
    }

    /// A wait ran out of time (exit 3).
    pub fn timeout(message: impl Into<String>) -> Self {
        Self::new(Exit::Timeout, message)
    }

    /// Reading something the user gave us failed: that is their input, so exit 2.
    pub fn input(doing: impl fmt::Display, err: &io::Error) -> Self {
        Self::usage(format!("{doing}: {}", io_reason(err)))
    }

    /// Writing our own output failed (exit 1); a closed pipe is remembered so
    /// that `main` can exit quietly, as `head` downstream expects.
    pub fn output(doing: impl fmt::Display, err: &io::Error) -> Self {
        let mut e = Self::failed(format!("{doing}: {}", io_reason(err)));
        e.broken_pipe = err.kind() == io::ErrorKind::BrokenPipe;
        e
    }

    /// Prepends what was being done: `reading task definition: <message>`.
    #[must_use]
    pub fn context(mut self, doing: impl fmt::Display) -> Self {
        self.message = format!("{doing}: {}", self.message);
        self
    }

    /// The same error, its message rewritten by `f` (its exit code and
    /// marks kept).
    #[must_use]
    pub fn reworded(mut self, f: impl FnOnce(&str) -> String) -> Self {
        self.message = f(&self.message);
        self
    }

    /// The exit code this error ends the process with.
    pub fn exit(&self) -> Exit {
        self.exit
    }

    /// The message, without the tool's name.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Marks a failure that may pass if the same call is made again later
    /// (throttling, a 5xx, a time-out, a dropped connection): a tool that
    /// polls tries again at its next poll instead of giving up.
    #[must_use]
    pub fn transient(mut self) -> Self {
        self.transient = true;
        self
    }

    /// Whether [`Error::transient`] marked it.
    pub fn is_transient(&self) -> bool {
        self.transient
    }

    /// Marks a refusal by AWS for want of a permission (AccessDenied): a
    /// tool that can do without the call goes on, and says so.
    #[must_use]
    pub fn denied(mut self) -> Self {
        self.denied = true;
        self
    }

    /// Whether [`Error::denied`] marked it.
    pub fn is_denied(&self) -> bool {
        self.denied
    }

    /// Whether this is stdout closed by the reader (nothing to report).
    pub fn is_broken_pipe(&self) -> bool {
        self.broken_pipe
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// `No such file or directory (os error 2)` reads better without the errno.
fn io_reason(err: &io::Error) -> String {
    let text = err.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_lowercase(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_reads_outside_in() {
        let e = Error::usage("missing field").context("reading td.json");
        assert_eq!(e.to_string(), "reading td.json: missing field");
        assert_eq!(e.exit(), Exit::Usage);
    }

    #[test]
    fn io_errors_drop_the_errno() {
        let err = io::Error::from(io::ErrorKind::NotFound);
        let e = Error::input("reading td.json", &err);
        assert_eq!(e.exit().code(), 2);
        assert!(!e.message().contains("os error"), "{e}");
        let e = Error::output(
            "writing stdout",
            &io::Error::from(io::ErrorKind::BrokenPipe),
        );
        assert!(e.is_broken_pipe());
        assert_eq!(e.exit().code(), 1);
    }
}
