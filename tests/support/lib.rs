//! Test support shared by every tool's tests and by the pipelines in
//! `tests/`: run a real binary with a clean environment (stdin in; exit
//! code, JSON stdout and stderr out), and reach the emulators that
//! `scripts/emulators.sh up` started.
//!
//! A test that needs the emulators and finds none fails, loudly, saying how
//! to start them: nothing here skips.
//!
//! Every run gets a temporary HOME (with `DOCKER_CONFIG` in `HOME/.docker`)
//! of its own and a timeout ([`DEFAULT_TIMEOUT`] unless [`Tool::timeout`]
//! says otherwise), and [`workspace_bin`] refuses a binary older than its
//! sources.

pub mod iam;
pub mod images;
pub mod scripted;
use std::ffi::OsStr;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;
use tempfile::TempDir;

/// The repository's root.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A workspace binary next to the running test (`target/debug/NAME`), for
/// tests outside the binary's own crate, where `CARGO_BIN_EXE_` is not set.
///
/// Panics when it is missing, or older than any file it is built from
/// (`crates/NAME/` and `crates/deploykit/`: `src/**`, `build.rs`), so that
/// a test never runs a stale binary (`cargo test -p deploy-tests` does not
/// rebuild the tools). Manifests and `Cargo.lock` are left out: a change
/// there that does not reach the tool (a new dev-dependency) rebuilds
/// nothing, and would be a false alarm.
#[track_caller]
pub fn workspace_bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps");
    let bin = dir.join(name);
    assert!(
        bin.exists(),
        "{} is not built; run `cargo build --workspace` first",
        bin.display()
    );
    let bin = PathBuf::from(through_links(bin.as_os_str()));
    assert_built_after_sources(&bin, name);
    if bin.is_symlink() {
        // The link's target, `deploykit`, is built from its own crate too.
        assert_built_after_sources(&bin, "deploykit-cli");
    }
    bin
}

/// Panics when `bin` is older than a file it is built from.
#[track_caller]
fn assert_built_after_sources(bin: &Path, name: &str) {
    let built =
        modified(bin).unwrap_or_else(|| panic!("no modification time on {}", bin.display()));
    let mut sources = Vec::new();
    // A tool is its crate and the shared one; no tool depends on another.
    for krate in [name, "deploykit"] {
        let dir = root().join("crates").join(krate);
        sources.push(dir.join("build.rs"));
        files_under(&dir.join("src"), &mut sources);
    }
    let newest = sources
        .into_iter()
        .filter_map(|path| modified(&path).map(|time| (time, path)))
        .max();
    if let Some((time, path)) = newest
        && time > built
    {
        panic!(
            "{} is stale: {} changed after it was built; run `cargo build --workspace`",
            bin.display(),
            path.strip_prefix(root()).unwrap_or(&path).display(),
        );
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Every file under `dir`, recursively (nothing when it does not exist).
fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => files_under(&path, out),
            Ok(_) => out.push(path),
            Err(_) => {}
        }
    }
}

/// moto's ECR password, and the authorization token that encodes it: no
/// tool may print them unless asked to ([`Tool::prints_secret`]).
const ECR_SECRETS: [&str; 2] = [
    "123456789012-auth-token",
    "QVdTOjEyMzQ1Njc4OTAxMi1hdXRoLXRva2Vu",
];

/// How long a run may take unless [`Tool::timeout`] says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// A command under test, with an environment scrubbed of the host's AWS
/// settings so that nothing reaches a real account, a temporary HOME of its
/// own, and a timeout.
pub struct Tool {
    cmd: Command,
    stdin: Vec<u8>,
    /// HOME for this run (`DOCKER_CONFIG` is `HOME/.docker`), removed when
    /// the run is over (or handed back by [`Tool::run_with_home`]).
    home: TempDir,
    timeout: Duration,
    /// The run is one that prints moto's ECR password by design
    /// (`--password-stdout`, a credential helper's `get`).
    prints_secret: bool,
    /// Where stdout goes instead of being collected ([`Tool::stdout_to`]).
    stdout_to: Option<Stdout>,
    /// Stdin stays open after its bytes until the tool exits
    /// ([`Tool::stdin_held_open`]).
    hold_stdin: bool,
}

/// Where a run's stdout goes, for the tests of what a tool does when its
/// reader is gone or its disk is full.
#[derive(Debug, Clone, Copy)]
pub enum Stdout {
    /// A pipe whose reading end was closed before the tool started: every
    /// write fails with EPIPE, as under `tool | head -c0` or a finished `jq`.
    ClosedPipe,
    /// `/dev/full`: every write fails with ENOSPC, as on a full disk.
    Full,
}

/// The environment variable that runs every tool through the multicall
/// binary: a directory of links to `deploykit` named as the tools
/// (scripts/test.sh makes `target/debug/links`). Set, [`tool`] and
/// [`workspace_bin`] give the link for a tool's name, so a test of the
/// tool tests `deploykit` called by that name.
pub const LINKS_VAR: &str = "DEPLOY_TESTS_LINKS";

/// `exe`, or, under [`LINKS_VAR`], the link named as it when it is a tool.
fn through_links(exe: &OsStr) -> std::ffi::OsString {
    let Some(dir) = std::env::var_os(LINKS_VAR).filter(|d| !d.is_empty()) else {
        return exe.to_owned();
    };
    let Some(name) = Path::new(exe).file_name().and_then(OsStr::to_str) else {
        return exe.to_owned();
    };
    if !TOOLS.contains(&name) && name != "docker-credential-ecr-login" {
        return exe.to_owned();
    }
    let link = Path::new(&dir).join(name);
    assert!(
        link.exists(),
        "{LINKS_VAR}: no link {} (run scripts/test.sh, which makes them)",
        link.display()
    );
    link.into_os_string()
}

/// Starts building a run of `exe` (through the multicall binary's link of
/// the same name under [`LINKS_VAR`]).
pub fn tool(exe: impl AsRef<OsStr>) -> Tool {
    let exe = through_links(exe.as_ref());
    let home = tempfile::Builder::new()
        .prefix("deploy-tests-home-")
        .tempdir()
        .expect("creating a temporary HOME");
    let docker_config = home.path().join(".docker");
    std::fs::create_dir(&docker_config).expect("creating HOME/.docker");
    let mut cmd = Command::new(exe);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("DOCKER_CONFIG", &docker_config)
        .env("AWS_CONFIG_FILE", "/nonexistent/aws/config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/aws/credentials",
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("NO_COLOR", "1");
    Tool {
        cmd,
        stdin: Vec::new(),
        home,
        timeout: DEFAULT_TIMEOUT,
        prints_secret: false,
        stdout_to: None,
        hold_stdin: false,
    }
}

impl Tool {
    /// Adds arguments.
    pub fn args<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(mut self, args: I) -> Self {
        self.cmd.args(args);
        self
    }

    /// Sets an environment variable for the run.
    pub fn env(mut self, key: &str, value: impl AsRef<OsStr>) -> Self {
        self.cmd.env(key, value);
        self
    }

    /// Removes an environment variable for the run (one that [`Tool::aws`] set).
    pub fn env_remove(mut self, key: &str) -> Self {
        self.cmd.env_remove(key);
        self
    }

    /// Runs in `dir`.
    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.cmd.current_dir(dir);
        self
    }

    /// Feeds `bytes` to stdin.
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = bytes.into();
        self
    }

    /// Feeds a JSON value to stdin.
    pub fn stdin_json(self, value: &Value) -> Self {
        self.stdin(serde_json::to_vec(value).expect("serialisable"))
    }

    /// The run's HOME: a temporary directory of its own, empty but for an
    /// empty `.docker/` (which is `DOCKER_CONFIG`), for a test to put files
    /// in before the run: `std::fs::write(t.home().join(".docker/config.json"), ..)`.
    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// Gives the run `limit` instead of [`DEFAULT_TIMEOUT`]. A run that
    /// takes longer is killed (with everything it started) and the test
    /// panics with the command line and what it printed so far.
    pub fn timeout(mut self, limit: Duration) -> Self {
        self.timeout = limit;
        self
    }

    /// Points the AWS SDK, and the aws CLI (which reads the region from
    /// `AWS_DEFAULT_REGION`), at the moto server, with dummy credentials.
    /// The aws CLI that `scripts/emulators.sh` installed in `target/tools/`
    /// comes first on PATH, even when the environment it prints was not
    /// eval'ed.
    pub fn aws(mut self) -> Self {
        let emu = emulators();
        self.cmd
            .env("AWS_ENDPOINT_URL", &emu.endpoint)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", &emu.region)
            .env("AWS_DEFAULT_REGION", &emu.region);
        let tools_bin = root().join("target/tools/bin");
        if tools_bin.join("aws").exists() {
            let path = self
                .cmd
                .get_envs()
                .find(|(key, _)| *key == "PATH")
                .and_then(|(_, value)| value.map(OsStr::to_os_string))
                .unwrap_or_default();
            let mut dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
            if !dirs.contains(&tools_bin) {
                dirs.insert(0, tools_bin);
                let joined = std::env::join_paths(dirs).expect("PATH entries without ':'");
                self.cmd.env("PATH", joined);
            }
        }
        self
    }

    /// This run prints moto's ECR password by design (`--password-stdout`,
    /// a credential helper's `get`): the suite-wide secrets check lets it.
    pub fn prints_secret(mut self) -> Self {
        self.prints_secret = true;
        self
    }

    /// Keeps stdin open after its bytes until the tool exits, as a step
    /// before that is still at work (`sleep 1000 | tool`) does.
    pub fn stdin_held_open(mut self) -> Self {
        self.hold_stdin = true;
        self
    }

    /// Sends stdout to `target` instead of collecting it: the run's
    /// [`Output::stdout`] is then empty.
    pub fn stdout_to(mut self, target: Stdout) -> Self {
        self.stdout_to = Some(target);
        self
    }

    /// The command line, quoted as for a shell, for messages.
    fn command_line(&self) -> String {
        std::iter::once(self.cmd.get_program())
            .chain(self.cmd.get_args())
            .map(|arg| {
                let arg = arg.to_string_lossy();
                let plain = !arg.is_empty()
                    && arg
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c));
                if plain {
                    arg.into_owned()
                } else {
                    format!("'{}'", arg.replace('\'', r"'\''"))
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Runs to completion, within the timeout.
    #[track_caller]
    pub fn run(self) -> Output {
        self.run_with_home().0
    }

    /// Runs to completion, within the timeout, and hands back the run's
    /// HOME, so that the test can read what the tool left there (it is
    /// removed when the `TempDir` is dropped).
    #[track_caller]
    pub fn run_with_home(mut self) -> (Output, TempDir) {
        let shown = self.command_line();
        let timeout = self.timeout;
        // A process group of its own, so that a timeout kills what it
        // started too (`bash -c "a | b"`), not only the shell.
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut self.cmd, 0);
        let deadline = Instant::now() + timeout;
        let stdout_target = match self.stdout_to {
            None => Stdio::piped(),
            Some(Stdout::ClosedPipe) => {
                let (reader, writer) = std::io::pipe().expect("creating a pipe");
                drop(reader);
                Stdio::from(writer)
            }
            Some(Stdout::Full) => Stdio::from(
                std::fs::OpenOptions::new()
                    .write(true)
                    .open("/dev/full")
                    .expect("opening /dev/full"),
            ),
        };
        let mut child = self
            .cmd
            .stdin(Stdio::piped())
            .stdout(stdout_target)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {shown}: {e}"));
        let mut stdin = child.stdin.take().expect("piped stdin");
        let input = std::mem::take(&mut self.stdin);
        let given = input.clone();
        let hold = self.hold_stdin;
        let (release, held) = std::sync::mpsc::channel::<()>();
        let writer = std::thread::spawn(move || {
            // The tool may exit without reading; that is its business.
            let _ = stdin.write_all(&input);
            if hold {
                // Until the tool has exited and `release` is dropped.
                let _ = held.recv();
            }
        });
        let (stdout, stdout_reader) = match child.stdout.take() {
            Some(pipe) => collect(pipe),
            None => collect(std::io::empty()),
        };
        let (stderr, stderr_reader) = collect(child.stderr.take().expect("piped stderr"));
        let text = |buf: &Mutex<Vec<u8>>| {
            String::from_utf8_lossy(&buf.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
        };
        // Kills everything and says what was printed so far (the panic is
        // the caller's, so that it points at the test).
        let give_up = |child: &mut Child, what: String| -> String {
            kill_all(child);
            format!(
                "{what}\n--- stdout so far:\n{}\n--- stderr so far:\n{}",
                text(&stdout),
                text(&stderr)
            )
        };

        let mut pause = Duration::from_millis(1);
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() >= deadline => panic!(
                    "{}",
                    give_up(
                        &mut child,
                        format!(
                            "timed out after {timeout:?}, killed: {shown}\n\
                             (Tool::timeout gives a run longer)"
                        ),
                    )
                ),
                Ok(None) => {
                    std::thread::sleep(
                        pause.min(deadline.saturating_duration_since(Instant::now())),
                    );
                    pause = (pause * 2).min(Duration::from_millis(20));
                }
                Err(e) => panic!(
                    "{}",
                    give_up(&mut child, format!("waiting for {shown}: {e}"))
                ),
            }
        };
        drop(release);
        // The pipes close when the last process holding them ends: at once,
        // unless the tool left something running in the background with them.
        while ![&writer, &stdout_reader, &stderr_reader]
            .iter()
            .all(|thread| thread.is_finished())
        {
            if Instant::now() >= deadline {
                panic!(
                    "{}",
                    give_up(
                        &mut child,
                        format!(
                            "{shown} exited ({status}), but something it started still held \
                             its stdin, stdout or stderr open after {timeout:?}; killed"
                        ),
                    )
                );
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        for thread in [writer, stdout_reader, stderr_reader] {
            thread.join().expect("pipe thread");
        }
        let output = Output {
            stdin: given,
            code: status.code().unwrap_or(-1),
            stdout: text(&stdout),
            stderr: text(&stderr),
        };
        // The suite-wide secrets check: moto's ECR password (and the token
        // that encodes it) appears in no output, unless the run says it
        // prints it by design.
        if !self.prints_secret {
            for secret in ECR_SECRETS {
                for (name, text) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
                    assert!(
                        !text.contains(secret),
                        "the ECR password appeared on {name} of {shown}:\n{text}"
                    );
                }
            }
        }
        (output, self.home)
    }
}

/// Reads `pipe` to its end on a thread of its own, into a buffer that can be
/// read while it fills (for the message of a timeout).
fn collect(mut pipe: impl Read + Send + 'static) -> (Arc<Mutex<Vec<u8>>>, JoinHandle<()>) {
    let buf = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&buf);
    let thread = std::thread::spawn(move || {
        let mut chunk = [0u8; 8192];
        loop {
            match pipe.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => sink
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .extend_from_slice(&chunk[..n]),
            }
        }
    });
    (buf, thread)
}

/// Kills `child` and, on Unix, every process in its group (it leads one).
fn kill_all(child: &mut Child) {
    #[cfg(unix)]
    {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", child.id())])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// What a run gave back.
#[derive(Debug)]
pub struct Output {
    /// What the run was given on stdin.
    pub stdin: Vec<u8>,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Asserts success and returns stdout as JSON.
    #[track_caller]
    pub fn success(&self) -> Value {
        assert_eq!(self.code, 0, "expected exit 0; stderr:\n{}", self.stderr);
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON value ({e}):\n{}", self.stdout))
    }

    /// Stdout as one JSON value, whatever the exit code (panics when it is
    /// not one).
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not one JSON value ({e}); exit {}\n--- stdout:\n{}\n--- stderr:\n{}",
                self.code, self.stdout, self.stderr
            )
        })
    }

    /// Asserts a failure with nothing of the tool's own to report: exit
    /// `code`, and on stdout exactly the object the run was given (`{}`
    /// when stdin held no JSON object) with `error: {tool, message,
    /// exitCode}` added last, the same message on stderr. Returns stderr.
    #[track_caller]
    pub fn failure(&self, code: i32) -> &str {
        let mut given = match serde_json::from_slice::<Value>(&self.stdin) {
            Ok(Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        };
        given.remove("error");
        self.failure_printing(code, given)
    }

    /// [`Output::failure`] for a run whose stdin was not the pipe's object
    /// (a password, a file read from `-`, stdin left unread): stdout is
    /// `{}` with `error`, and nothing of stdin. Returns stderr.
    #[track_caller]
    pub fn failure_unechoed(&self, code: i32) -> &str {
        self.failure_printing(code, serde_json::Map::new())
    }

    #[track_caller]
    fn failure_printing(&self, code: i32, want: serde_json::Map<String, Value>) -> &str {
        let doc = self.failure_report(code);
        let mut doc = doc.as_object().expect("checked by failure_report").clone();
        assert_eq!(
            doc.keys().next_back().map(String::as_str),
            Some("error"),
            "error is not the last key; stdout:\n{}",
            self.stdout
        );
        let error = doc.remove("error").expect("checked by failure_report");
        assert_eq!(
            doc, want,
            "a failure without a report prints what it was given (or {{}}) and error, nothing else; stdout:\n{}",
            self.stdout
        );
        // Stderr shows control characters escaped (`\u{1b}`), as a
        // terminal may show them; the JSON has them as JSON escapes them.
        let line: String = format!(
            "{}: {}",
            error["tool"].as_str().unwrap_or_default(),
            error["message"].as_str().unwrap_or_default()
        )
        .chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect();
        assert!(
            self.stderr.contains(&line),
            "stderr does not carry the error as stdout does ({line:?}); stderr:\n{}",
            self.stderr
        );
        &self.stderr
    }

    /// Asserts a failure whose stdout is empty: a run whose stdout is
    /// not the pipe's object (raw text for another program, a credential
    /// helper's protocol). Returns stderr.
    #[track_caller]
    pub fn failure_without_object(&self, code: i32) -> &str {
        assert_eq!(
            self.code, code,
            "expected exit {code}; stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        assert!(
            self.stdout.is_empty(),
            "this run's stdout is not the pipe's: it must print no object, got:\n{}",
            self.stdout
        );
        &self.stderr
    }

    /// Asserts a failure with a report: exit `code`, and on stdout one JSON
    /// object with `error: {tool, message, exitCode}`, `exitCode` == `code`.
    /// Returns the object.
    #[track_caller]
    pub fn failure_report(&self, code: i32) -> Value {
        assert_eq!(
            self.code, code,
            "expected exit {code}; stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        let doc = self.json();
        let context = || format!("stdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        assert!(
            doc.is_object(),
            "a failure report is one JSON object; {}",
            context()
        );
        let error = &doc["error"];
        assert!(
            error.is_object(),
            "the report has no `error` object; {}",
            context()
        );
        for key in ["tool", "message"] {
            assert!(
                error[key].as_str().is_some_and(|s| !s.is_empty()),
                "error.{key} is not a non-empty string; {}",
                context()
            );
        }
        assert_eq!(
            error["exitCode"].as_i64(),
            Some(i64::from(code)),
            "error.exitCode is not the exit code {code}; {}",
            context()
        );
        doc
    }
}

/// The six tools' names.
pub const TOOLS: [&str; 6] = [
    "ecr-login",
    "oci-push",
    "taskdef-render",
    "ecs-deploy",
    "ecs-wait",
    "ecs-run",
];

/// moto's ECR registry name (its account and region are fixed).
pub const ECR: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

/// Writes `dir/registries.conf` putting moto's ECR name on `address` (a
/// local registry that takes moto's ECR login, or a scripted one), and
/// returns its path.
pub fn ecr_registries_conf(dir: &Path, address: &str) -> PathBuf {
    let conf = dir.join("registries.conf");
    std::fs::write(
        &conf,
        format!("[[registry]]\nprefix = \"{ECR}\"\nlocation = \"{address}\"\n"),
    )
    .unwrap();
    conf
}

/// Where the emulators listen.
#[derive(Debug, Clone)]
pub struct Emulators {
    /// The moto server, for `AWS_ENDPOINT_URL`.
    pub endpoint: String,
    pub region: String,
    /// The open registry, `127.0.0.1:PORT`.
    pub registry: String,
    /// The registry behind htpasswd Basic auth, and its credentials.
    pub registry_auth: String,
    pub registry_user: String,
    pub registry_password: String,
    /// The moto that enforces IAM, and its admin user's keys ([`iam`]).
    pub iam_endpoint: String,
    pub iam_admin_key: String,
    pub iam_admin_secret: String,
}

/// Where `scripts/emulators.sh` keeps the running set's state (env, logs).
fn emulators_dir() -> PathBuf {
    std::env::var_os("EMULATORS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".emulators"))
}

/// The open registry's access log for `repository`: one `METHOD PATH
/// STATUS` a request, from the log it writes (CNCF distribution's
/// combined-format lines), so a test can see what a push really sent.
pub fn registry_requests(repository: &str) -> Vec<String> {
    // The registry logs a request once it has answered it.
    std::thread::sleep(Duration::from_millis(300));
    let path = emulators_dir().join("registry.log");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading the registry's log {}: {e}", path.display()));
    let prefix = format!("/v2/{repository}/");
    text.lines()
        .filter_map(|line| {
            let (_, request) = line.split_once(" \"")?;
            let (request, rest) = request.split_once("\" ")?;
            let mut parts = request.split(' ');
            let (method, path) = (parts.next()?, parts.next()?);
            let status = rest.split(' ').next()?;
            path.starts_with(&prefix).then(|| {
                format!(
                    "{method} {} {status}",
                    path.split('?').next().unwrap_or(path)
                )
            })
        })
        .collect()
}

/// The running emulators: from the environment `scripts/emulators.sh up`
/// prints, or else from the env file it leaves in `.emulators/`.
/// Panics, saying how to start them, when there are none.
pub fn emulators() -> &'static Emulators {
    static EMU: OnceLock<Emulators> = OnceLock::new();
    EMU.get_or_init(|| {
        let file = emulators_dir().join("env");
        let from_file = std::fs::read_to_string(&file).unwrap_or_default();
        let get = |key: &str| -> String {
            if let Ok(v) = std::env::var(key) {
                return v;
            }
            let prefix = format!("export {key}=");
            from_file
                .lines()
                .find_map(|l| l.strip_prefix(&prefix))
                .map(str::to_string)
                .unwrap_or_else(|| {
                    panic!(
                        "the emulators are not running ({key} is not set and {} has none): \
                         run `make test`, or `eval \"$(scripts/emulators.sh up)\"` before `cargo test`",
                        file.display()
                    )
                })
        };
        let emu = Emulators {
            endpoint: get("MOTO_URL"),
            region: get("AWS_REGION"),
            registry: get("REGISTRY"),
            registry_auth: get("REGISTRY_AUTH"),
            registry_user: get("REGISTRY_USER"),
            registry_password: get("REGISTRY_PASSWORD"),
            iam_endpoint: get("MOTO_IAM_URL"),
            iam_admin_key: get("MOTO_IAM_ADMIN_KEY_ID"),
            iam_admin_secret: get("MOTO_IAM_ADMIN_SECRET"),
        };
        let (status, _) = http(&emu.endpoint, "GET", "/moto-api/", &[], b"");
        assert_eq!(status, 200, "moto at {} does not answer: start the emulators again", emu.endpoint);
        emu
    })
}

/// The `X-Amz-Target` prefix of a JSON-1.1 service that moto serves.
#[track_caller]
fn target_prefix(service: &str) -> &'static str {
    match service {
        "ecs" => "AmazonEC2ContainerServiceV20141113",
        "ecr" => "AmazonEC2ContainerRegistry_V20150921",
        "logs" => "Logs_20140328",
        "secretsmanager" => "secretsmanager",
        "ssm" => "AmazonSSM",
        "kms" => "TrentService",
        other => panic!(
            "no JSON-1.1 target prefix known for service {other:?} \
             (known: ecs, ecr, logs, secretsmanager, ssm, kms)"
        ),
    }
}

/// Calls a JSON-1.1 API action on moto directly, the way the aws CLI would,
/// and returns the status and the body (as JSON: `{}` when there is none,
/// a JSON string when it is not JSON), asserting nothing: for a test that expects an error
/// (`body["__type"]`). `service` is the signing name: `ecs`, `ecr`, `logs`
/// (or `secretsmanager`, `ssm`, `kms`).
#[track_caller]
pub fn moto_try_call(service: &str, action: &str, body: &Value) -> (u16, Value) {
    moto_try_call_in(&emulators().region, service, action, body)
}

/// [`moto_try_call`] in `region` (moto keeps each region's state apart).
pub fn moto_try_call_in(region: &str, service: &str, action: &str, body: &Value) -> (u16, Value) {
    let emu = emulators();
    let target = format!("{}.{action}", target_prefix(service));
    // moto reads the service and the region from the credential scope, and
    // checks no signature.
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential=testing/20260101/{region}/{service}/aws4_request, SignedHeaders=host, Signature=0"
    );
    let headers = [
        ("Content-Type", "application/x-amz-json-1.1"),
        ("X-Amz-Target", target.as_str()),
        ("Authorization", auth.as_str()),
    ];
    let (status, text) = http(
        &emu.endpoint,
        "POST",
        "/",
        &headers,
        &serde_json::to_vec(body).expect("json"),
    );
    let answer = if text.trim().is_empty() {
        // Actions with no output (CreateLogGroup) answer with no body.
        Value::Object(serde_json::Map::new())
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, answer)
}

/// Calls a JSON-1.1 API action on moto directly to set up state for a test,
/// and asserts it succeeded:
/// `moto_call("ecr", "CreateRepository", &json!({"repositoryName": name}))`.
#[track_caller]
pub fn moto_call(service: &str, action: &str, body: &Value) -> Value {
    moto_call_in(&emulators().region, service, action, body)
}

/// [`moto_call`] in `region`.
#[track_caller]
pub fn moto_call_in(region: &str, service: &str, action: &str, body: &Value) -> Value {
    let (status, answer) = moto_try_call_in(region, service, action, body);
    assert_eq!(
        status, 200,
        "moto {service} {action} answered {status}: {answer}"
    );
    assert!(
        !answer.is_string(),
        "moto {service} {action}: not JSON: {answer}"
    );
    answer
}

/// Calls an ECS API action on moto directly with a JSON body, the way the
/// aws CLI would, to set up state for a test: `moto_ecs("RegisterTaskDefinition", &json)`.
#[track_caller]
pub fn moto_ecs(action: &str, body: &Value) -> Value {
    moto_call("ecs", action, body)
}

/// A request to moto's own API, `/moto-api/...`; a `Value::Null` body sends
/// none. Returns the status and the body:
/// `moto_api("POST", "/moto-api/state-manager/set-transition",
/// &json!({"model_name": "ecs::task", "transition": {"progression": "manual", "times": 1}}))`.
///
/// What it sets is server-wide: every test running at the same time sees it.
pub fn moto_api(method: &str, path: &str, body: &Value) -> (u16, String) {
    let emu = emulators();
    let bytes = match body {
        Value::Null => Vec::new(),
        body => serde_json::to_vec(body).expect("json"),
    };
    let headers: &[(&str, &str)] = if bytes.is_empty() {
        &[]
    } else {
        &[("Content-Type", "application/json")]
    };
    http(&emu.endpoint, method, path, headers, &bytes)
}

/// Empties every moto backend (`POST /moto-api/reset`).
///
/// Only for a test that owns its moto server: the tests of `make test` run
/// in parallel against one server, where this would pull the state from
/// under every other test (they use [`unique`] names instead).
#[track_caller]
pub fn moto_reset() {
    let (status, body) = moto_api("POST", "/moto-api/reset", &Value::Null);
    assert_eq!(status, 200, "moto reset answered {status}: {body}");
}

/// Every request moto has received since it started, oldest first, from
/// moto's recorder (`GET /moto-api/recorder/download-recording`;
/// `scripts/emulators.sh` starts moto with it on): `{headers, method, url,
/// body}`, with `body` as text. Tests run in parallel against one moto, so
/// tell your test's requests by its [`unique`] names.
#[track_caller]
pub fn moto_requests() -> Vec<Value> {
    let (status, text) = moto_api("GET", "/moto-api/recorder/download-recording", &Value::Null);
    assert_eq!(
        status, 200,
        "moto keeps no request recording (answered {status}): start it with \
         scripts/emulators.sh, which turns the recording on\n{text}"
    );
    text.lines()
        // One request a line; a line still being written does not parse.
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .map(|mut entry| {
            if entry["body_encoded"] == true {
                let bytes = entry["body"].as_str().and_then(base64_decode);
                entry["body"] = Value::String(
                    bytes.map_or_else(String::new, |b| String::from_utf8_lossy(&b).into_owned()),
                );
            }
            if let Some(map) = entry.as_object_mut() {
                map.remove("body_encoded");
            }
            entry
        })
        .collect()
}

/// The JSON bodies of the `action` calls to the JSON-1.1 `service` that moto
/// has received, oldest first (see [`moto_requests`]): what the tools sent,
/// e.g. `moto_calls("ecs", "RegisterTaskDefinition")`.
#[track_caller]
pub fn moto_calls(service: &str, action: &str) -> Vec<Value> {
    let target = format!("{}.{action}", target_prefix(service));
    moto_requests()
        .into_iter()
        .filter(|request| {
            request["headers"].as_object().is_some_and(|headers| {
                headers.iter().any(|(key, value)| {
                    key.eq_ignore_ascii_case("x-amz-target") && value.as_str() == Some(&target)
                })
            })
        })
        .map(|request| {
            let body = request["body"].as_str().unwrap_or_default();
            serde_json::from_str(body).unwrap_or_else(|_| Value::String(body.to_string()))
        })
        .collect()
}

/// Standard base64, padded or not; `None` when it is not base64.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes().filter(|&c| c != b'=') {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from(acc >> bits).ok()?);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// A minimal HTTP/1.0 exchange (no client crate needed for a loopback test server).
fn http(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String) {
    let host = base.trim_start_matches("http://").trim_end_matches('/');
    let mut stream =
        TcpStream::connect(host).unwrap_or_else(|e| panic!("connecting to {host}: {e}"));
    // A server that hangs fails the test instead of hanging it.
    stream
        .set_read_timeout(Some(DEFAULT_TIMEOUT))
        .expect("setting a read timeout");
    let mut request = format!(
        "{method} {path} HTTP/1.0\r\nHost: {host}\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    stream
        .write_all(request.as_bytes())
        .expect("writing request");
    stream.write_all(body).expect("writing body");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).expect("reading response");
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, body.to_string())
}

/// A JSON fixture file.
#[track_caller]
pub fn read_json(path: impl AsRef<Path>) -> Value {
    let path = path.as_ref();
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A unique name for state in the shared moto server, so tests running in
/// parallel (and runs one after another) never see each other's families.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "{prefix}-{}-{nanos}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Compares `actual` with the JSON file at `path`, key order included;
/// `SNAPSHOTS=overwrite` writes the file instead (then review the diff).
#[track_caller]
pub fn assert_json_file(actual: &Value, path: impl AsRef<Path>) {
    let path = path.as_ref();
    let actual_text = serde_json::to_string_pretty(actual).expect("json") + "\n";
    if std::env::var("SNAPSHOTS").as_deref() == Ok("overwrite") {
        std::fs::write(path, &actual_text)
            .unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        return;
    }
    let expected = read_json(path);
    let expected_text = serde_json::to_string_pretty(&expected).expect("json") + "\n";
    if actual_text != expected_text {
        let first = actual_text
            .lines()
            .zip(expected_text.lines())
            .position(|(a, e)| a != e)
            .unwrap_or_else(|| {
                actual_text
                    .lines()
                    .count()
                    .min(expected_text.lines().count())
            });
        panic!(
            "output differs from {} at line {} (SNAPSHOTS=overwrite rewrites it):\n--- actual\n{}\n--- expected\n{}",
            path.display(),
            first + 1,
            actual_text
                .lines()
                .skip(first.saturating_sub(3))
                .take(8)
                .collect::<Vec<_>>()
                .join("\n"),
            expected_text
                .lines()
                .skip(first.saturating_sub(3))
                .take(8)
                .collect::<Vec<_>>()
                .join("\n"),
        );
    }
}

/// Every scalar leaf that carries information (not null, not `""`) with its
/// path, in document order: `containerDefinitions[0].image = "..."`.
pub fn leaves(value: &Value) -> Vec<(String, Value)> {
    fn go(value: &Value, path: String, out: &mut Vec<(String, Value)>) {
        match value {
            Value::Null => {}
            Value::String(s) if s.is_empty() => {}
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    go(item, format!("{path}[{i}]"), out);
                }
            }
            Value::Object(map) => {
                for (k, item) in map {
                    go(
                        item,
                        if path.is_empty() {
                            k.clone()
                        } else {
                            format!("{path}.{k}")
                        },
                        out,
                    );
                }
            }
            scalar => out.push((path, scalar.clone())),
        }
    }
    let mut out = Vec::new();
    go(value, String::new(), &mut out);
    out
}

/// A subnet and a security group of moto's default VPC (the aws CLI on
/// moto), for awsvpc services and tasks.
pub fn default_network() -> (String, String) {
    let query = |args: &[&str]| {
        let out = tool("aws").args(args).aws().run();
        assert_eq!(out.code, 0, "aws {args:?}: {}", out.stderr);
        out.stdout.trim().to_string()
    };
    (
        query(&[
            "ec2",
            "describe-subnets",
            "--query",
            "Subnets[0].SubnetId",
            "--output",
            "text",
        ]),
        query(&[
            "ec2",
            "describe-security-groups",
            "--query",
            "SecurityGroups[0].GroupId",
            "--output",
            "text",
        ]),
    )
}

/// Runs a `--help` example as a user would: through bash with `set -o
/// pipefail`, the workspace's binaries first on PATH, `$IMAGE` set, in
/// `dir`, against moto. `example` is the text as the help shows it (for
/// messages), `command` the same with this run's names. Asserts exit 0 and
/// a JSON object on stdout; returns it with the run's stderr.
#[track_caller]
pub fn run_example(example: &str, command: &str, dir: &Path) -> (Value, String) {
    let bins = workspace_bin("taskdef-render");
    let bins = bins.parent().expect("target dir").display().to_string();
    let path = format!("{bins}:{}", std::env::var("PATH").unwrap_or_default());
    let out = tool("bash")
        .args(["-c", &format!("set -o pipefail; {command}")])
        .env("PATH", &path)
        .env("IMAGE", "r.example/web:2")
        .current_dir(dir)
        .aws()
        .run();
    assert_eq!(
        out.code, 0,
        "help example failed: {example}\n{}",
        out.stderr
    );
    let doc: Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("{example}: not JSON ({e}): {}", out.stdout));
    (doc, out.stderr)
}

/// The commands of a `--help` text's `Examples:` section, up to the line
/// that begins with `until` (the next section): comment lines dropped,
/// `\` continuations joined, one string a command line (pipes kept).
#[track_caller]
pub fn help_examples(help: &str, until: &str) -> Vec<String> {
    let examples = help.split("Examples:").nth(1).expect("an Examples section");
    let examples = examples
        .split(&format!("\n\n{until}"))
        .next()
        .unwrap_or(examples);
    let mut commands = Vec::new();
    let mut current = String::new();
    for line in examples.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(part) => current.push_str(part),
            None => {
                current.push_str(line);
                commands.push(std::mem::take(&mut current));
            }
        }
    }
    commands
}

/// An endpoint on loopback that accepts every connection and never answers
/// (a stalled AWS endpoint, a proxy that swallows replies), for as long as
/// the test process lives: its URL, `http://127.0.0.1:PORT`.
pub fn silent_endpoint() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binding a silent endpoint");
    let port = listener.local_addr().expect("its address").port();
    std::thread::spawn(move || {
        // Kept open, never read from or written to.
        let mut kept = Vec::new();
        for stream in listener.incoming() {
            kept.push(stream);
        }
    });
    format!("http://127.0.0.1:{port}")
}

/// The IAM role `name` on moto, trusting `service` (ECS tasks:
/// `ecs-tasks.amazonaws.com`), made unless it is there already.
pub fn role_trusting(name: &str, service: &str) {
    let trust = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]});
    let out = tool("aws")
        .args(["iam", "create-role", "--role-name", name])
        .args(["--assume-role-policy-document", &trust.to_string()])
        .aws()
        .run();
    assert!(
        out.code == 0 || out.stderr.contains("EntityAlreadyExists"),
        "aws iam create-role {name}: {}",
        out.stderr
    );
}

/// What examples/task-definition.json names besides itself, on moto, for
/// `ecs-deploy --plan`'s checks to pass: the log group `/ecs/demo-web`,
/// the roles `demo-web-execution` and `demo-web-task` trusting ECS tasks,
/// and the secret `demo/db-AbCdEf`. The definition names that secret by
/// an ARN whose suffix no secret made here can have (Secrets Manager picks
/// it); moto takes an ARN's last field for a name when no ARN matches, so
/// a secret of that name answers for it. Each made unless it is there.
pub fn example_definition_world() {
    let _ = moto_try_call(
        "logs",
        "CreateLogGroup",
        &serde_json::json!({"logGroupName": "/ecs/demo-web"}),
    );
    let _ = moto_try_call(
        "secretsmanager",
        "CreateSecret",
        &serde_json::json!({"Name": "demo/db-AbCdEf", "SecretString": "postgres://demo"}),
    );
    for role in ["demo-web-execution", "demo-web-task"] {
        role_trusting(role, "ecs-tasks.amazonaws.com");
    }
}
