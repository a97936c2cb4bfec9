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
//! its object, and exits with the status the tool returned. Every failure,
//! a panic in any thread included, prints the object received with `error`
//! when stdout is the pipe's. Stdout closed by the reader (`tool | head`)
//! never changes the exit code, and says nothing on a success, as ripgrep
//! does.

use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError, TryLockError};

use clap::error::{ContextKind, ContextValue, ErrorKind};
use serde_json::{Value, json};

use crate::error::{Error, Exit, Result};
use crate::stream::{self, Envelope, Stdin};
use crate::summary::{Github, Section};

static TOOL: OnceLock<&'static str> = OnceLock::new();

/// What a run of a tool ends with: the object to print (or none) and how it
/// went. A tool that failed but has a report to give returns
/// [`Outcome::failed`]; a tool that failed with nothing to say returns `Err`.
#[derive(Debug)]
pub struct Outcome {
    output: Option<Envelope>,
    text: Option<String>,
    failure: Option<Error>,
    summary: Option<Section>,
}

impl Outcome {
    /// Success: print `doc`, exit 0.
    pub fn success(doc: Envelope) -> Self {
        Outcome {
            output: Some(doc),
            text: None,
            failure: None,
            summary: None,
        }
    }

    /// Failure with a report: print `doc` with `error: {tool, message,
    /// exitCode}` added, tell stderr, and exit with the error's code.
    pub fn failed(doc: Envelope, error: Error) -> Self {
        Outcome {
            output: Some(doc),
            text: None,
            failure: Some(error),
            summary: None,
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
            summary: None,
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
            summary: None,
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
            summary: None,
        }
    }

    /// The object this outcome prints, if any.
    pub fn object(&self) -> Option<&Envelope> {
        self.output.as_ref()
    }

    /// The failure this outcome reports, if any.
    pub fn failure(&self) -> Option<&Error> {
        self.failure.as_ref()
    }

    /// The run's section of the job summary and its key facts for
    /// `$GITHUB_OUTPUT` (see [`crate::summary`]): written by a tool whose
    /// `main` is [`main_with_summary_from`], when GitHub Actions names the files.
    pub fn with_summary(mut self, section: Section) -> Self {
        self.summary = Some(section);
        self
    }
}

/// What stdin holds for one run of a tool, decided from its flags before
/// stdin is read: it says what a failure may print back (ARCHITECTURE.md,
/// "Failure travels down the pipe").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StdinRole {
    /// The pipe's object: a failure prints it back with `error` added.
    Object,
    /// A file a flag reads from `-` (`-t -`, `--env-file /dev/stdin`; the
    /// flag is named): an upstream `error` in it is still passed on, but a
    /// failure prints `{}` with `error`, never the file.
    File(&'static str),
    /// A secret a flag reads (`--password-stdin`; the flag is named): never
    /// parsed, never echoed; a failure prints `{}` with `error`.
    Secret(&'static str),
    /// Not read at all (`--null-input`): no upstream `error` is looked for.
    Unread,
}

impl StdinRole {
    /// `File(flag)` when a file flag's value names stdin (`-t -`,
    /// `--env-file /dev/stdin`), else `Object`: `[("--task-definition -",
    /// args.task_definition.as_deref())]`.
    pub fn of_files<'a>(files: impl IntoIterator<Item = (&'static str, Option<&'a str>)>) -> Self {
        files
            .into_iter()
            .find(|(_, path)| path.is_some_and(crate::stream::is_stdin_path))
            .map_or(StdinRole::Object, |(flag, _)| StdinRole::File(flag))
    }
}

/// What a tool's flags say about its streams. Every tool's `Args`
/// implements it; the defaults are the pipe's: an object in, an object out.
pub trait Streams {
    /// What stdin holds for this run.
    fn stdin_role(&self) -> StdinRole {
        StdinRole::Object
    }

    /// Whether `--null-input` was given: stdin is not read (jq's `-n`),
    /// for a tool in a loop or a script whose stdin is something else.
    fn null_input(&self) -> bool {
        false
    }

    /// Whether stdout is raw text another program reads
    /// (`ecr-login --password-stdout`): then a failure prints no object.
    fn stdout_is_text(&self) -> bool {
        false
    }
}

/// Runs a tool that reports to GitHub Actions (see [`crate::summary`]),
/// with its command line (its own binary's, or the multicall binary's):
/// `$GITHUB_STEP_SUMMARY` and `$GITHUB_OUTPUT` are checked before `run`
/// (exit 2 naming the variable when one cannot be appended to), and the
/// run's section and key facts ([`Outcome::with_summary`]; the failure
/// alone for an error) are appended before the object is printed.
pub fn main_with_summary_from<A: clap::Parser + Streams + Send>(
    tool: &'static str,
    argv: impl IntoIterator<Item = std::ffi::OsString>,
    run: impl FnOnce(A, Stdin) -> Result<Outcome> + Send,
) -> ExitCode {
    main_with(tool, argv, true, true, run)
}

/// Runs a tool: flags, stdin, the upstream-failure rule, `run`, stdout,
/// exit; with the command line given (a tool invoked under another name,
/// such as a Docker credential helper, rewrites it first).
pub fn main_from<A: clap::Parser + Streams + Send>(
    tool: &'static str,
    argv: impl IntoIterator<Item = std::ffi::OsString>,
    run: impl FnOnce(A, Stdin) -> Result<Outcome> + Send,
) -> ExitCode {
    main_with(tool, argv, true, false, run)
}

/// [`main_from`] for a tool speaking another protocol than the pipe's (a
/// Docker credential helper): stdin is not the pipe's object, so an `error`
/// in it is not an upstream failure, and stdout is that protocol's, so a
/// failure prints no object.
pub fn main_outside_the_pipe<A: clap::Parser + Streams + Send>(
    tool: &'static str,
    argv: impl IntoIterator<Item = std::ffi::OsString>,
    run: impl FnOnce(A, Stdin) -> Result<Outcome> + Send,
) -> ExitCode {
    main_with(tool, argv, false, false, run)
}

fn main_with<A: clap::Parser + Streams + Send>(
    tool: &'static str,
    argv: impl IntoIterator<Item = std::ffi::OsString>,
    in_the_pipe: bool,
    summarised: bool,
    run: impl FnOnce(A, Stdin) -> Result<Outcome> + Send,
) -> ExitCode {
    let _ = TOOL.set(tool);
    let argv: Vec<OsString> = argv.into_iter().collect();
    // Until stdin is read, a failure (a panic included) prints `{}`.
    let stdout_is_the_pipe = in_the_pipe && !std::io::stdout().is_terminal();
    set_report(stdout_is_the_pipe.then(Envelope::new));
    install_panic_hook();
    let parsed = A::try_parse_from(&argv);
    let (role, null_input, text_out) = match &parsed {
        Ok(args) => (args.stdin_role(), args.null_input(), args.stdout_is_text()),
        Err(_) => roles_from_argv(&argv),
    };
    let (role, text_out) = if in_the_pipe {
        (role, text_out)
    } else {
        (StdinRole::Secret("the credential-helper protocol"), true)
    };
    if text_out {
        set_report(None);
    }
    // --null-input with a flag that reads stdin: neither is obeyed, and
    // stdin is not read (it may be a password).
    let (role, conflict) = match (null_input, role) {
        (true, StdinRole::File(flag) | StdinRole::Secret(flag)) => (
            StdinRole::Unread,
            Some(Error::usage(format!(
                "--null-input leaves stdin unread, but {flag} reads it: give one of them"
            ))),
        ),
        (true, _) => (StdinRole::Unread, None),
        (false, role) => (role, None),
    };
    // A command line that does not parse is a usage error like any other:
    // reported with the object received, or passed over for an upstream
    // failure. --help and --version print and end here.
    let args = match (parsed, conflict) {
        (Err(e), _) => match clap_error(tool, &e) {
            Ok(error) => Err(error),
            Err(code) => return ExitCode::from(code),
        },
        (Ok(_), Some(conflict)) => Err(conflict),
        (Ok(args), None) => Ok(args),
    };
    let stdin = match role {
        StdinRole::Unread => Stdin::default(),
        _ => match Stdin::read() {
            Ok(stdin) => stdin,
            // A bad command line is the first thing to fix.
            Err(e) => return ExitCode::from(report_failure(args.as_ref().err().unwrap_or(&e))),
        },
    };
    if matches!(role, StdinRole::Object | StdinRole::File(_))
        && let Some((doc, code)) = stdin.upstream_failure()
    {
        if let Err(e) = &args {
            emit(&format!("{tool}: {e}"));
        }
        return ExitCode::from(pass_through(stdin.bytes(), &doc, code, !text_out));
    }
    if role == StdinRole::Object
        && let Ok(doc) = stdin.envelope()
    {
        replace_report(doc);
    }
    // Checked before any work; a bad command line stays the error to
    // report, and is reported in the summary when the summary can be had.
    let (args, github) = if summarised {
        match Github::from_env() {
            Ok(github) => (args, github),
            Err(e) => (args.and(Err(e)), Github::none()),
        }
    } else {
        (args, Github::none())
    };
    #[cfg(debug_assertions)]
    panic_on_cue();
    let work = move || args.and_then(|args| run(args, stdin));
    // On a thread with a deep stack: a value nested deep in a --jq filter
    // (or a document) is built, compared and freed by recursion, and the
    // main thread's 8 MiB ends in a stack overflow, a signal that leaves
    // stdout empty. The pages are only touched when used.
    // Where no such thread can be had (a tight `ulimit -v`), the work runs
    // here, as before.
    let work = Mutex::new(Some(work));
    let take = || work.lock().unwrap_or_else(PoisonError::into_inner).take();
    let result = std::thread::scope(|scope| {
        let spawned = std::thread::Builder::new()
            .name("work".into())
            .stack_size(WORK_STACK)
            .spawn_scoped(scope, || take().map(|work| work()));
        match spawned {
            Ok(handle) => handle.join().ok().flatten(),
            Err(_) => None,
        }
    });
    let result = match result {
        Some(result) => result,
        None => match take() {
            Some(work) => work(),
            None => Err(Error::failed("internal error: the work thread ended early")),
        },
    };
    let code = match result {
        Ok(mut outcome) => {
            outcome.failure = outcome.failure.map(name_the_caller);
            report_to_github(tool, &github, &mut outcome);
            finish(tool, outcome)
        }
        Err(e) => {
            let e = name_the_caller(e);
            github.write_summary(tool, None, Some(&e));
            report_failure(&e)
        }
    };
    ExitCode::from(code)
}

/// A refusal that names no caller, made to name it (`aws::name_the_caller`:
/// one sts:GetCallerIdentity, only now that the work is done).
fn name_the_caller(e: Error) -> Error {
    #[cfg(feature = "aws")]
    let e = crate::aws::name_the_caller(e);
    e
}

/// The run's key facts to `$GITHUB_OUTPUT` and its section to
/// `$GITHUB_STEP_SUMMARY`, before the object goes to the next tool, so
/// that a pipe's sections come in its order. Key facts that cannot be
/// written fail a run that succeeded (the failure is then in the section
/// too); a section that cannot be written is a warning.
fn report_to_github(tool: &str, github: &Github, outcome: &mut Outcome) {
    if let Err(e) = github.write_outputs(outcome.summary.as_ref()) {
        if outcome.failure.is_some() {
            warn(&e);
        } else {
            outcome.failure = Some(e);
        }
    }
    github.write_summary(tool, outcome.summary.as_ref(), outcome.failure.as_ref());
}

/// The stack of the thread a tool's work runs on.
const WORK_STACK: usize = 512 << 20;

/// What a failure prints on stdout: the object received (`{}` until stdin
/// is read, or when stdin was not the pipe's object), or nothing when stdout
/// is not the pipe's (a terminal, raw text, another protocol). The panic
/// hook reads it too, from whichever thread panicked.
static REPORT: Mutex<Option<Envelope>> = Mutex::new(None);

/// Set once stdout got its one object (or text): nothing is printed twice.
static PRINTED: AtomicBool = AtomicBool::new(false);

fn set_report(doc: Option<Envelope>) {
    *REPORT.lock().unwrap_or_else(PoisonError::into_inner) = doc;
}

/// Replaces the report's object, when there is a report to give.
fn replace_report(doc: Envelope) {
    let mut report = REPORT.lock().unwrap_or_else(PoisonError::into_inner);
    if report.is_some() {
        *report = Some(doc);
    }
}

/// A failure with nothing of the tool's own to report: the object received
/// with `error` added on stdout (when stdout is the pipe's), the error on
/// stderr, and its exit code. A write that fails never changes the code.
fn report_failure(e: &Error) -> u8 {
    // try_lock: a panic while the lock is held (it never is for long)
    // must not hang the hook.
    let doc = match REPORT.try_lock() {
        Ok(report) => report.clone(),
        Err(TryLockError::Poisoned(p)) => p.into_inner().clone(),
        Err(TryLockError::WouldBlock) => Some(Envelope::new()),
    };
    if let Some(doc) = doc
        && !PRINTED.swap(true, Ordering::SeqCst)
    {
        let doc = with_error(doc, tool(), e);
        if let Err(w) = stream::write_stdout(&doc) {
            unwritten(&w);
        }
    }
    emit(&format!("{}: {e}", tool()));
    e.exit().code()
}

/// A write to stdout failed while a failure was being reported: the
/// failure's code stands. A closed pipe needs no word (the reader left).
fn unwritten(w: &Error) {
    if !w.is_broken_pipe() {
        emit(&format!("{}: {w}", tool()));
    }
}

/// A panic in any thread ends the process as any other failure does: the
/// object received with `error` on stdout, exit 1. It runs before unwinding
/// (and with `panic = "abort"`, instead of it), so a worker thread's panic
/// is covered too; Rust's own message comes first, on stderr.
fn install_panic_hook() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default(info);
        if PRINTED.load(Ordering::SeqCst) {
            // Stdout has (or is getting) its object: let a write under way
            // finish, whole, and end as a failure.
            let _finished = std::io::stdout().lock();
            emit(&format!(
                "{}: internal error: the tool panicked after it printed its output (a bug: please report it with the lines above)",
                tool()
            ));
            std::process::exit(i32::from(Exit::Failed.code()));
        }
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let e = Error::failed(format!(
            "internal error: the tool panicked{at} (a bug: please report it with the lines above)"
        ));
        std::process::exit(i32::from(report_failure(&e)));
    }));
}

/// Debug builds only: `DEPLOYKIT_PANIC=main` or `thread` makes the tool
/// panic just before its work, on the main thread or a worker, so tests can
/// see the panic hook at work on the real binary.
#[cfg(debug_assertions)]
fn panic_on_cue() {
    match std::env::var("DEPLOYKIT_PANIC").as_deref() {
        Ok("main") => panic!("DEPLOYKIT_PANIC=main"),
        Ok("thread") => {
            let _ = std::thread::spawn(|| panic!("DEPLOYKIT_PANIC=thread")).join();
            std::thread::sleep(std::time::Duration::from_secs(5));
        }
        _ => {}
    }
}

/// What the command line says of the streams when it does not parse (a
/// usage error), guessed from the toolkit's own flag names and erring on
/// the safe side, since a password on stdin must never be echoed: any flag
/// that mentions `pass` (`--password-stdin`, `--password-stdin=true`, a
/// misspelling) makes stdin a secret, and one that mentions `stdout` makes
/// stdout raw text (`--password-stdout`); `-n` and `--null-input` leave
/// stdin unread; a `-` or `/dev/stdin` value (`-t -`, `--env-file=-`,
/// `-t-`) makes stdin a file. Returns (stdin's role, whether it is left
/// unread, whether stdout is raw text).
fn roles_from_argv(argv: &[OsString]) -> (StdinRole, bool, bool) {
    let mut secret = false;
    let mut file = false;
    let mut null_input = false;
    let mut text = false;
    for arg in argv.iter().skip(1) {
        let arg = arg.to_string_lossy();
        let flag = arg.starts_with('-');
        if flag && arg.to_ascii_lowercase().contains("pass") {
            secret = true;
        }
        if flag && arg.to_ascii_lowercase().contains("stdout") {
            text = true;
        }
        if arg == "-n" || arg == "--null-input" {
            null_input = true;
        }
        let value = arg.rsplit_once('=').map_or(arg.as_ref(), |(_, v)| v);
        if crate::stream::is_stdin_path(value)
            || crate::stream::is_stdin_path(&arg)
            || (arg.len() > 2 && flag && !arg.starts_with("--") && arg.ends_with('-'))
        {
            file = true;
        }
    }
    let role = if secret {
        StdinRole::Secret("a password flag")
    } else if file {
        StdinRole::File("a file argument of -")
    } else {
        StdinRole::Object
    };
    (role, null_input, text)
}

/// Prints the outcome and gives the exit code, decided before writing: a
/// reader that went away (a closed pipe) never changes it, and the error
/// line on stderr is always printed. Any other failed write (a full disk)
/// fails a successful run, and never hides a failure's own code.
fn finish(tool: &str, outcome: Outcome) -> u8 {
    let Outcome {
        output,
        text,
        failure,
        summary: _,
    } = outcome;
    let mut code = failure.as_ref().map_or(Exit::Success, Error::exit).code();
    if PRINTED.swap(true, Ordering::SeqCst) {
        return code;
    }
    let written = match (text, output) {
        (Some(text), _) => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())
                .and_then(|()| out.flush())
                .map_err(|e| Error::output("writing stdout", &e))
        }
        (None, Some(doc)) => {
            let doc = match &failure {
                Some(e) => with_error(doc, tool, e),
                None => doc,
            };
            stream::write_stdout(&doc)
        }
        (None, None) => Ok(()),
    };
    if let Err(w) = written {
        if failure.is_some() {
            unwritten(&w);
        } else if !w.is_broken_pipe() {
            emit(&format!("{tool}: {w}"));
            code = w.exit().code();
        }
    }
    if let Some(e) = failure {
        emit(&format!("{tool}: {e}"));
    }
    code
}

/// The report of a failed run: the tool's object with
/// `error: {tool, message, exitCode}` added last.
fn with_error(mut doc: Envelope, tool: &str, e: &Error) -> Envelope {
    doc.shift_remove("error");
    doc.insert(
        "error".to_string(),
        json!({"tool": tool, "message": e.message(), "exitCode": e.exit().code()}),
    );
    doc
}

/// An upstream tool failed and said so in the object: do nothing, print the
/// object as it came (unless stdout is raw text for another program), and
/// end with its exit code, so that the last status of a pipe tells, with or
/// without `pipefail`.
fn pass_through(bytes: &[u8], doc: &Envelope, code: u8, print: bool) -> u8 {
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
    if !print || PRINTED.swap(true, Ordering::SeqCst) {
        return code;
    }
    let mut out = std::io::stdout().lock();
    let newline: &[u8] = if bytes.ends_with(b"\n") { b"" } else { b"\n" };
    // A reader that has gone away is no reason to change the exit code.
    let _ = out.write_all(bytes).and_then(|()| out.write_all(newline));
    let _ = out.flush();
    code
}

/// clap's own errors in the toolkit's form: a usage error (exit 2) whose
/// message begins where clap's `error: ` ends; `Err(exit code)` for help
/// and version, printed here on stdout (exit 0, or 1 when that write fails
/// for another reason than a closed pipe). A value clap did not expect is
/// not repeated: a secret typed after a space (`--env PASSWORD= s3cr3t`)
/// lands there. An unknown flag's name is kept (it names the mistake).
fn clap_error(tool: &str, e: &clap::Error) -> std::result::Result<Error, u8> {
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        PRINTED.store(true, Ordering::SeqCst);
        return match e.print() {
            Err(w) if w.kind() != std::io::ErrorKind::BrokenPipe => {
                emit(&format!("{tool}: {}", Error::output("writing stdout", &w)));
                Err(Exit::Failed.code())
            }
            _ => Err(Exit::Success.code()),
        };
    }
    if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        let _ = e.print();
        return Ok(Error::usage(format!(
            "a subcommand is missing (see {tool} --help)"
        )));
    }
    let mut text = e.render().to_string();
    for kind in [
        ContextKind::InvalidArg,
        ContextKind::InvalidValue,
        ContextKind::InvalidSubcommand,
    ] {
        // An argument's own name (`--region <REGION>`, `<ACTION>`) and an
        // unknown flag (`--zzz`) are ours or a mistake to name; anything
        // else may be a value.
        if let Some(ContextValue::String(value)) = e.get(kind)
            && !value.starts_with('-')
            && !value.starts_with('<')
            && !value.is_empty()
        {
            text = text.replace(&format!("'{value}'"), "(a value, not repeated here)");
        }
    }
    let text = text.strip_prefix("error: ").unwrap_or(&text);
    // One line: the usage summary and clap's pointer to --help give way to
    // ours; a tip stays.
    let text: Vec<&str> = text
        .split("\n\n")
        .map(str::trim)
        .filter(|p| {
            !p.is_empty() && !p.starts_with("Usage:") && !p.starts_with("For more information")
        })
        .collect();
    Ok(Error::usage(format!(
        "{} (see {tool} --help)",
        text.join("; ")
    )))
}

/// The running tool's name, for messages (`tool` until [`main_from`] sets it).
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
    let _ = writeln!(std::io::stderr().lock(), "{}", terminal_safe(line));
}

/// A line of someone else's text (a container's log line) on stderr, as
/// [`emit`] shows ours, but with its own line breaks escaped too: every
/// line it makes begins as we wrote it (`web | ...`).
#[allow(clippy::print_stderr)]
pub fn foreign_line(line: &str) {
    let line = line.replace('\n', "\\n").replace('\r', "\\r");
    let _ = writeln!(std::io::stderr().lock(), "{}", terminal_safe(&line));
}

/// Characters that reorder what a terminal shows (bidirectional overrides
/// and isolates: a name that reads otherwise than it is).
pub(crate) fn reorders(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

/// A message as a terminal and a CI log may show it: any control character
/// but a line break or a tab escaped (`\u{1b}`), and the bidirectional
/// controls too, since a name or a log line read from stdin or AWS may hold
/// one that would move the cursor, clear the screen or reorder the line;
/// and no line after the first may begin with `::` or `##` (GitHub Actions'
/// and Azure's workflow commands: a name holding `\n::error::...` would
/// otherwise forge one).
fn terminal_safe(line: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| (c.is_control() && c != '\n' && c != '\t') || reorders(c);
    let command = |l: &str| {
        let rest = l.trim_start();
        rest.starts_with("::") || rest.starts_with("##")
    };
    let forged = line.split('\n').skip(1).any(command);
    if !forged && !line.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(line);
    }
    let escaped: String = line
        .chars()
        .map(|c| {
            if unsafe_char(c) {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect();
    escaped
        .split('\n')
        .enumerate()
        .map(|(i, l)| {
            if i > 0 && command(l) {
                let rest = l.trim_start();
                let indent = &l[..l.len() - rest.len()];
                let first = rest.chars().next().unwrap_or(':');
                format!("{indent}{}{}", first.escape_unicode(), &rest[1..])
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_for_the_terminal() {
        assert_eq!(terminal_safe("web\u{1b}[2J: x\r"), "web\\u{1b}[2J: x\\u{d}");
        assert_eq!(terminal_safe("two\n\tlines"), "two\n\tlines");
        assert_eq!(terminal_safe("a\u{202E}b"), "a\\u{202e}b");
    }

    #[test]
    fn a_workflow_command_cannot_be_forged_on_a_line_of_its_own() {
        assert_eq!(
            terminal_safe("web\n::error title=x::deploy succeeded"),
            "web\n\\u{3a}:error title=x::deploy succeeded"
        );
        assert_eq!(
            terminal_safe("web\n  ##vso[task]x"),
            "web\n  \\u{23}#vso[task]x"
        );
        assert_eq!(terminal_safe("a :: b"), "a :: b");
    }

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
