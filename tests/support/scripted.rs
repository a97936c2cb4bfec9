//! A registry that fails on cue (`scripted_registry.py`), for the failure
//! paths a real registry will not produce: a 503 before a blob is stored,
//! an answer lost after it was, a 413 on a streamed upload. Everything
//! else it serves as the distribution API does, from memory.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

/// A python server of `tests/support` or `scripts/` that prints its port on
/// stdout and logs a line a request on stderr; stopped when dropped.
struct Server {
    port: u16,
    child: Child,
    log: Arc<Mutex<String>>,
}

impl Server {
    fn start(script: &str, args: &[String], what: &str) -> Self {
        let mut child = Command::new("python3")
            .arg(script)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting python3 {script}: {e}"));
        let mut port = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut port)
            .unwrap_or_else(|e| panic!("reading the {what}'s port: {e}"));
        let port: u16 = port
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("the {what} did not start (it printed {port:?})"));
        let log = Arc::new(Mutex::new(String::new()));
        let mut stderr = child.stderr.take().expect("stderr");
        let sink = log.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .expect("log")
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Server { port, child, log }
    }

    /// Every request so far; the server logs before it answers, and the
    /// reader thread may be a moment behind.
    fn log(&self) -> String {
        std::thread::sleep(std::time::Duration::from_millis(200));
        self.log.lock().expect("log").clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running scripted registry; stopped when dropped.
pub struct ScriptedRegistry {
    /// `127.0.0.1:PORT`.
    pub address: String,
    server: Server,
}

impl ScriptedRegistry {
    /// One that refuses every request of a push with 403 (an account the
    /// login may not push to).
    pub fn refusing_everything() -> Self {
        let rules: Vec<String> = ["HEAD", "GET", "POST", "PATCH", "PUT"]
            .iter()
            .flat_map(|m| ["blob", "upload", "manifest"].map(|k| format!("{m}:{k}:403:0")))
            .collect();
        Self::start(&rules.iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// Starts one with these rules (`METHOD:KIND:STATUS:COUNT`, see the script).
    pub fn start(rules: &[&str]) -> Self {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/support/scripted_registry.py"
        );
        let rules: Vec<String> = rules.iter().map(|r| r.to_string()).collect();
        let server = Server::start(script, &rules, "scripted registry");
        ScriptedRegistry {
            address: format!("127.0.0.1:{}", server.port),
            server,
        }
    }

    /// Every request so far, one `METHOD PATH STATUS` line each.
    pub fn log(&self) -> String {
        self.server.log()
    }

    /// How many logged requests contain every one of `parts`.
    pub fn count(&self, parts: &[&str]) -> usize {
        self.log()
            .lines()
            .filter(|line| parts.iter().all(|p| line.contains(p)))
            .count()
    }
}

/// An ECS endpoint that plays a rollout as a timeline
/// (`scripts/scripted_ecs.py`, scenarios in `scripts/scenarios/`), for what
/// moto never does, through real pipes: a rollback, stopped tasks with exit
/// codes. Stopped when dropped.
pub struct ScriptedEcs {
    /// `http://127.0.0.1:PORT`, for AWS_ENDPOINT_URL.
    pub endpoint: String,
    server: Server,
}

impl ScriptedEcs {
    /// Starts one playing `scripts/scenarios/<scenario>.json`.
    pub fn start(scenario: &str) -> Self {
        let root = env!("CARGO_MANIFEST_DIR");
        let server = Server::start(
            &format!("{root}/scripts/scripted_ecs.py"),
            &[format!("{root}/scripts/scenarios/{scenario}.json")],
            "scripted ECS endpoint",
        );
        ScriptedEcs {
            endpoint: format!("http://127.0.0.1:{}", server.port),
            server,
        }
    }

    /// Starts one playing `scenario` (a test's own, such as one built from
    /// a file of `scripts/scenarios/` with its task definitions added).
    pub fn play(scenario: &serde_json::Value) -> Self {
        let root = env!("CARGO_MANIFEST_DIR");
        let file = tempfile::NamedTempFile::new().expect("a scenario file");
        std::fs::write(file.path(), scenario.to_string()).expect("writing the scenario");
        // The endpoint reads its scenario before it prints its port.
        let server = Server::start(
            &format!("{root}/scripts/scripted_ecs.py"),
            &[file.path().display().to_string()],
            "scripted ECS endpoint",
        );
        ScriptedEcs {
            endpoint: format!("http://127.0.0.1:{}", server.port),
            server,
        }
    }

    /// Every request so far, one `Action t=SECONDS STATUS` line each.
    pub fn log(&self) -> String {
        self.server.log()
    }

    /// A run of `tool` pointed at this endpoint, with dummy credentials.
    pub fn point(&self, tool: crate::Tool) -> crate::Tool {
        tool.env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_DEFAULT_REGION", "us-east-1")
    }
}

/// An STS endpoint that refuses every `AssumeRoleWithWebIdentity` with one
/// error code (`tests/support/scripted_sts.py`), as AWS does when a trust
/// policy or the account's OIDC provider does not match the token, which
/// moto never does. Stopped when dropped.
pub struct ScriptedSts {
    /// `http://127.0.0.1:PORT`, for `AWS_ENDPOINT_URL_STS`.
    pub endpoint: String,
    server: Server,
}

impl ScriptedSts {
    /// Starts one answering `code`: `AccessDenied`, `InvalidIdentityToken`
    /// or `ExpiredTokenException`.
    pub fn start(code: &str) -> Self {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/scripted_sts.py");
        let server = Server::start(script, &[code.to_string()], "scripted STS endpoint");
        ScriptedSts {
            endpoint: format!("http://127.0.0.1:{}", server.port),
            server,
        }
    }

    /// Every request so far, one `Action STATUS` line each.
    pub fn log(&self) -> String {
        self.server.log()
    }
}

/// An AWS endpoint in front of moto that never answers one API action
/// (`tests/support/stalling_proxy.py`): a stall in the middle of a run.
/// Stopped when dropped.
pub struct StallingProxy {
    /// `http://127.0.0.1:PORT`, for `AWS_ENDPOINT_URL`.
    pub url: String,
    _server: Server,
}

impl StallingProxy {
    /// In front of the emulators' moto, stalling `action` (`DescribeTasks`).
    pub fn start(action: &str) -> Self {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/support/stalling_proxy.py"
        );
        let args = [crate::emulators().endpoint.clone(), action.to_string()];
        let server = Server::start(script, &args, "stalling proxy");
        StallingProxy {
            url: format!("http://127.0.0.1:{}", server.port),
            _server: server,
        }
    }
}

/// A TCP proxy in front of `upstream` (`HOST:PORT`) that forwards what the
/// client sends at `rate` bytes a second and, with `stop` > 0, stops after
/// `stop` bytes (`tests/support/slow_proxy.py`): a slow link, and a link
/// that stalls. Stopped when dropped.
pub struct SlowProxy {
    /// `127.0.0.1:PORT`.
    pub address: String,
    _server: Server,
}

impl SlowProxy {
    pub fn start(upstream: &str, rate: u64, stop: u64) -> Self {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/slow_proxy.py");
        let args = [upstream.to_string(), rate.to_string(), stop.to_string()];
        let server = Server::start(script, &args, "slow proxy");
        SlowProxy {
            address: format!("127.0.0.1:{}", server.port),
            _server: server,
        }
    }
}
