//! Test support shared by every tool's tests and by the pipelines in
//! `tests/`: run a real binary with a clean environment (stdin in; exit
//! code, JSON stdout and stderr out), and reach the emulators that
//! `scripts/emulators.sh up` started.
//!
//! A test that needs the emulators and finds none fails, loudly, saying how
//! to start them: nothing here skips.

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde_json::Value;

/// The repository's root.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A workspace binary next to the running test (`target/debug/NAME`), for
/// tests outside the binary's own crate, where `CARGO_BIN_EXE_` is not set.
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
    bin
}

/// A command under test, with an environment scrubbed of the host's AWS
/// settings so that nothing reaches a real account.
pub struct Tool {
    cmd: Command,
    stdin: Vec<u8>,
}

/// Starts building a run of `exe`.
pub fn tool(exe: impl AsRef<OsStr>) -> Tool {
    let mut cmd = Command::new(exe);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", std::env::temp_dir())
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

    /// Points the AWS SDK, and the aws CLI (which reads the region from
    /// `AWS_DEFAULT_REGION`), at the moto server, with dummy credentials.
    pub fn aws(mut self) -> Self {
        let emu = emulators();
        self.cmd
            .env("AWS_ENDPOINT_URL", &emu.endpoint)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", &emu.region)
            .env("AWS_DEFAULT_REGION", &emu.region);
        self
    }

    /// Runs to completion.
    pub fn run(mut self) -> Output {
        let mut child = self
            .cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {:?}: {e}", self.cmd.get_program()));
        let mut stdin = child.stdin.take().expect("piped stdin");
        let input = std::mem::take(&mut self.stdin);
        let writer = std::thread::spawn(move || {
            // The tool may exit without reading; that is its business.
            let _ = stdin.write_all(&input);
        });
        let out = child.wait_with_output().expect("waiting for the tool");
        writer.join().expect("stdin writer");
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// What a run gave back.
#[derive(Debug)]
pub struct Output {
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

    /// Asserts failure with `code`, nothing on stdout, and returns stderr.
    #[track_caller]
    pub fn failure(&self, code: i32) -> &str {
        assert_eq!(
            self.code, code,
            "expected exit {code}; stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        assert!(
            self.stdout.is_empty(),
            "a failed run must print nothing on stdout, got:\n{}",
            self.stdout
        );
        &self.stderr
    }
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
}

/// The running emulators: from the environment `scripts/emulators.sh up`
/// prints, or else from the env file it leaves in `.emulators/`.
/// Panics, saying how to start them, when there are none.
pub fn emulators() -> &'static Emulators {
    static EMU: OnceLock<Emulators> = OnceLock::new();
    EMU.get_or_init(|| {
        let file = std::env::var_os("EMULATORS_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root().join(".emulators"))
            .join("env");
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
        };
        let (status, _) = http(&emu.endpoint, "GET", "/moto-api/", &[], b"");
        assert_eq!(status, 200, "moto at {} does not answer: start the emulators again", emu.endpoint);
        emu
    })
}

/// Calls an ECS API action on moto directly with a JSON body, the way the
/// aws CLI would, to set up state for a test: `moto_ecs("RegisterTaskDefinition", &json)`.
#[track_caller]
pub fn moto_ecs(action: &str, body: &Value) -> Value {
    let emu = emulators();
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential=testing/20260101/{}/ecs/aws4_request, SignedHeaders=host, Signature=0",
        emu.region
    );
    let target = format!("AmazonEC2ContainerServiceV20141113.{action}");
    let headers = [
        ("Content-Type", "application/x-amz-json-1.1"),
        ("X-Amz-Target", target.as_str()),
        ("Authorization", auth.as_str()),
    ];
    let (status, body) = http(
        &emu.endpoint,
        "POST",
        "/",
        &headers,
        &serde_json::to_vec(body).expect("json"),
    );
    assert_eq!(status, 200, "moto {action} answered {status}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("moto {action}: not JSON ({e}): {body}"))
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
