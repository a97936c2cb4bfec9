//! The Docker client config (`config.json`), which docker, skopeo, crane and
//! buildah all read: ecr-login writes a login into it, oci-push reads the
//! credentials for a registry out of it, through a credential helper when
//! the config names one.
//!
//! - **Where**: `--docker-config DIR`, else `$DOCKER_CONFIG`, else
//!   `$HOME/.docker` ([`config_dir`]); the file is `DIR/config.json`.
//! - **Editing**: the file is read and written as JSON, not as a struct, so
//!   keys this code does not know (`proxies`, `psFormat`, `currentContext`,
//!   a key another tool put inside an `auths` entry) survive in value and
//!   order; [`DockerConfig::set_auth`] changes one `auths` entry and nothing
//!   else; [`DockerConfig::save`] replaces the file atomically (a temporary
//!   file in the same directory, mode 0600, fsynced, renamed over it).
//! - **Which key**: a registry `host` matches the key `host` exactly, else
//!   a key that is a URL whose host part is `host`
//!   (`https://123.dkr.ecr.us-east-1.amazonaws.com`, `http://localhost:5000/v2/`),
//!   as docker matches legacy keys. Docker Hub (`docker.io`,
//!   `index.docker.io`, `registry-1.docker.io`) is the key
//!   `https://index.docker.io/v1/`, as docker writes it.
//! - **Precedence**, as docker: `credHelpers[host]`, else `credsStore`, else
//!   the credentials inline in `auths`. When a helper applies, docker asks
//!   only the helper; a login in `auths` for that host is not used
//!   ([`credentials_for`] does the same). An empty `credHelpers[host]`
//!   means "no helper for this host", even with a `credsStore`.
//! - **Helpers** follow Docker's credential-helper protocol
//!   ([`helper_get`]): `docker-credential-NAME get`, the server on stdin,
//!   `{"ServerURL", "Username", "Secret"}` on stdout.
//!
//! Secrets never reach a message: [`Credentials`]' `Debug` redacts the
//! password; an error about a malformed `auth` value names the file and the
//! key, never the value (not even base64's complaint, which quotes a byte);
//! a JSON error gives serde_json's line and column, never the text; a
//! helper's stdout is never echoed, and of its stderr only the first line.

use std::ffi::OsString;
use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::stream;

pub mod location;

/// The key docker stores Docker Hub's login under (and asks helpers for).
const DOCKER_HUB_KEY: &str = "https://index.docker.io/v1/";

/// The host names that mean Docker Hub.
const DOCKER_HUB_HOSTS: [&str; 3] = ["docker.io", "index.docker.io", "registry-1.docker.io"];

/// Keys of an `auths` entry that hold a login: a new login replaces them all,
/// so no stale password or identity token is left beside the new `auth`.
const LOGIN_KEYS: [&str; 4] = ["username", "password", "identitytoken", "registrytoken"];

/// Base64 as docker writes it (padded), read with or without padding.
const BASE64_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Username and password for one registry. `Debug` prints the password as
/// `<redacted>`.
///
/// From a credential helper, a username of `<token>` means the password is
/// an identity token (Docker's convention); the caller decides what to do
/// with it.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user name (`AWS` for ECR).
    pub username: String,
    /// The password or token; never printed.
    pub password: String,
}

/// Why a base64 `USERNAME:PASSWORD` token does not decode; the token
/// itself is never part of it (base64's own error quotes a byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadBasic {
    NotBase64,
    NotText,
    NoColon,
}

impl Credentials {
    /// Decodes a Basic token (a Docker config `auth`, an ECR authorization
    /// token): base64 of `USERNAME:PASSWORD`, split at the first colon.
    pub fn from_basic(token: &str) -> std::result::Result<Self, BadBasic> {
        let bytes = BASE64_LENIENT
            .decode(token.trim())
            .map_err(|_| BadBasic::NotBase64)?;
        let text = String::from_utf8(bytes).map_err(|_| BadBasic::NotText)?;
        let (username, password) = text.split_once(':').ok_or(BadBasic::NoColon)?;
        Ok(Credentials {
            username: username.to_string(),
            password: password.to_string(),
        })
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &format_args!("<redacted>"))
            .finish()
    }
}

/// The directory holding `config.json`: `flag` (`--docker-config DIR`), else
/// `$DOCKER_CONFIG`, else `$HOME/.docker`.
///
/// Exit 2 when none can be found (no `HOME`) or a given value is empty.
pub fn config_dir(flag: Option<&Path>) -> Result<PathBuf> {
    let home = std::env::var_os("HOME").or_else(|| {
        if cfg!(windows) {
            std::env::var_os("USERPROFILE")
        } else {
            None
        }
    });
    config_dir_from(flag, std::env::var_os("DOCKER_CONFIG"), home)
}

/// [`config_dir`] with the environment given, for tests.
fn config_dir_from(
    flag: Option<&Path>,
    docker_config: Option<OsString>,
    home: Option<OsString>,
) -> Result<PathBuf> {
    if let Some(dir) = flag {
        if dir.as_os_str().is_empty() {
            return Err(Error::usage("--docker-config: the directory is empty"));
        }
        return Ok(dir.to_path_buf());
    }
    if let Some(dir) = docker_config {
        if dir.is_empty() {
            return Err(Error::usage(
                "DOCKER_CONFIG is set but empty: set it to a directory, unset it, or give --docker-config DIR",
            ));
        }
        return Ok(PathBuf::from(dir));
    }
    match home {
        Some(home) if !home.is_empty() => Ok(PathBuf::from(home).join(".docker")),
        _ => Err(Error::usage(
            "no Docker config directory: HOME is not set; give --docker-config DIR or set DOCKER_CONFIG",
        )),
    }
}

/// One `config.json`, as read, edited as JSON so that keys this code does
/// not know survive in value and order.
///
/// `Debug` shows the path and the hosts in `auths`, never a credential.
pub struct DockerConfig {
    /// `DIR/config.json`.
    path: PathBuf,
    /// The document; `auths` and `credHelpers` are objects (or absent or
    /// null), `credsStore` a string (or absent or null), checked by `load`.
    doc: Map<String, Value>,
    /// Whether the file was there when loaded.
    existed: bool,
}

impl fmt::Debug for DockerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hosts: Vec<&str> = self
            .doc
            .get("auths")
            .and_then(Value::as_object)
            .map(|auths| auths.keys().map(String::as_str).collect())
            .unwrap_or_default();
        f.debug_struct("DockerConfig")
            .field("path", &self.path)
            .field("existed", &self.existed)
            .field("auths", &hosts)
            .finish_non_exhaustive()
    }
}

/// How long another writer may hold the Docker config's lock before
/// stderr says so, and before the login gives up (exit 1).
pub const LOCK_NOTE_AFTER: Duration = Duration::from_secs(2);
pub const LOCK_GIVE_UP: Duration = Duration::from_secs(30);

/// Takes the exclusive lock on `lock`, waiting for another writer (another
/// ecr-login, `docker login`) as long as `give_up`; after `note_after` says
/// on stderr what it waits for. A lock held longer is a stuck process.
fn wait_for_lock(
    lock: &fs::File,
    path: &Path,
    note_after: Duration,
    give_up: Duration,
) -> Result<()> {
    let started = std::time::Instant::now();
    let mut said = false;
    loop {
        match lock.try_lock() {
            Ok(()) => return Ok(()),
            Err(fs::TryLockError::WouldBlock) => {}
            Err(fs::TryLockError::Error(e)) => {
                return Err(Error::output(format!("locking {}", path.display()), &e));
            }
        }
        let waited = started.elapsed();
        if waited >= give_up {
            return Err(Error::failed(format!(
                "locking {}: another process has held it for {}s (another ecr-login or docker login still running, or stuck); giving up",
                path.display(),
                waited.as_secs()
            )));
        }
        if !said && waited >= note_after {
            crate::cli::note(format!(
                "waiting for the lock on {}: another process (ecr-login, docker login) is writing the Docker config; giving up after {}s",
                path.display(),
                give_up.as_secs()
            ));
            said = true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl DockerConfig {
    /// Reads `DIR/config.json`. A missing file (or directory) is an empty
    /// config, as is an empty file (docker accepts both).
    ///
    /// Exit 2 when the file is not valid JSON (serde_json's message, with
    /// line and column, never the text), not an object, or its `auths` or
    /// `credHelpers` is not an object (of objects, of strings), or its
    /// `credsStore` is not a string; also when it cannot be read.
    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join("config.json");
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(DockerConfig {
                    path,
                    doc: Map::new(),
                    existed: false,
                });
            }
            Err(e) => {
                return Err(Error::input(
                    format!("reading Docker config {}", path.display()),
                    &e,
                ));
            }
        };
        let source = format!("Docker config {}", path.display());
        let text = stream::decode(&bytes, &source)?;
        let doc = if text.trim().is_empty() {
            Map::new()
        } else {
            match serde_json::from_str::<Value>(&text) {
                Ok(Value::Object(doc)) => doc,
                Ok(other) => {
                    return Err(Error::usage(format!(
                        "{source}: expected a JSON object, got {}",
                        stream::kind(&other)
                    )));
                }
                // serde_json's syntax errors say what and where, never quote the text.
                Err(e) => return Err(Error::usage(format!("{source}: not valid JSON: {e}"))),
            }
        };
        check_shape(&doc).map_err(|problem| Error::usage(format!("{source}: {problem}")))?;
        Ok(DockerConfig {
            path,
            doc,
            existed: true,
        })
    }

    /// Re-reads `DIR/config.json` under an exclusive lock on
    /// `DIR/config.json.lock`, applies `edit`, and saves: two writers that
    /// take the lock (two ecr-login runs at once) each keep the other's
    /// login, where a read-then-save would keep only the last one. The lock
    /// file stays (an empty file; removing it would race the next writer).
    pub fn update(dir: &Path, edit: impl FnOnce(&mut DockerConfig)) -> Result<DockerConfig> {
        create_dir(dir).map_err(|e| {
            Error::output(
                format!("creating the Docker config directory {}", dir.display()),
                &e,
            )
        })?;
        let lock_path = dir.join("config.json.lock");
        let doing = || format!("locking {}", lock_path.display());
        // Mode 0600 when made here, whatever the umask.
        let lock = crate::output::open_new_0600(
            fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true),
        )
        .open(&lock_path)
        .map_err(|e| Error::output(doing(), &e))?;
        wait_for_lock(&lock, &lock_path, LOCK_NOTE_AFTER, LOCK_GIVE_UP)?;
        let mut config = DockerConfig::load(dir)?;
        edit(&mut config);
        config.save()?;
        drop(lock);
        Ok(config)
    }

    /// Makes `dir` as [`DockerConfig::save`] would (mode 0700), to find out
    /// before any work whether a login can be written there.
    pub fn make_dir(dir: &Path) -> Result<()> {
        create_dir(dir).map_err(|e| {
            Error::input(
                format!(
                    "the Docker config directory {} cannot be written",
                    dir.display()
                ),
                &e,
            )
        })
    }

    /// The keys of `auths`, in order.
    pub fn hosts(&self) -> Vec<String> {
        self.doc
            .get("auths")
            .and_then(Value::as_object)
            .map(|auths| auths.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// The path of `config.json`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether `config.json` existed when it was loaded.
    #[cfg(test)]
    fn existed(&self) -> bool {
        self.existed
    }

    /// The credentials stored inline for `host` in `auths`: the entry's
    /// `auth` (base64 of `user:password`, split at the first colon), else
    /// its `username` and `password`. The entry is found as the module docs
    /// say (exact key, else a URL key whose host is `host`).
    ///
    /// `None` when there is no entry or it holds no login (an entry with only
    /// an `identitytoken` counts as none). A malformed `auth` is exit 2
    /// naming the file and the key, never the value.
    pub fn auth(&self, host: &str) -> Result<Option<Credentials>> {
        let Some((key, entry)) = self.find_entry(host) else {
            return Ok(None);
        };
        let bad = |problem: &str| {
            Error::usage(format!(
                "Docker config {}: auths[{key:?}].{problem} (the value is not shown: it may be a secret)",
                self.path.display()
            ))
        };
        match entry.get("auth") {
            None | Some(Value::Null) => {}
            Some(Value::String(auth)) if auth.trim().is_empty() => {}
            Some(Value::String(auth)) => {
                return Credentials::from_basic(auth).map(Some).map_err(|why| {
                    bad(match why {
                        BadBasic::NotBase64 => "auth is not valid base64",
                        BadBasic::NotText => "auth is not base64 of USERNAME:PASSWORD text",
                        BadBasic::NoColon => "auth is not base64 of USERNAME:PASSWORD (no colon)",
                    })
                });
            }
            Some(other) => {
                return Err(bad(&format!(
                    "auth is {}, not a string",
                    stream::kind(other)
                )));
            }
        }
        let text = |field: &str| match entry.get(field) {
            None | Some(Value::Null) => Ok(""),
            Some(Value::String(s)) => Ok(s.as_str()),
            Some(other) => Err(bad(&format!(
                "{field} is {}, not a string",
                stream::kind(other)
            ))),
        };
        let (username, password) = (text("username")?, text("password")?);
        if username.is_empty() {
            return Ok(None);
        }
        Ok(Some(Credentials {
            username: username.to_string(),
            password: password.to_string(),
        }))
    }

    /// The whole `auths` entry for `host` (found as [`DockerConfig::auth`]
    /// finds it), to read keys besides the login, such as an expiry.
    pub fn entry(&self, host: &str) -> Option<&Map<String, Value>> {
        self.find_entry(host).map(|(_, entry)| entry)
    }

    /// The credential helper for `host`: `credHelpers[host]` (found as
    /// [`DockerConfig::auth`] finds an entry), else `credsStore`, else `None`.
    /// An empty name means no helper, as in docker: an empty
    /// `credHelpers[host]` keeps `credsStore` away from that host.
    pub fn helper(&self, host: &str) -> Option<&str> {
        if let Some((_, name)) = self
            .doc
            .get("credHelpers")
            .and_then(Value::as_object)
            .and_then(|helpers| find(helpers, host))
        {
            return name.as_str().filter(|name| !name.is_empty());
        }
        self.doc
            .get("credsStore")
            .and_then(Value::as_str)
            .filter(|name| !name.is_empty())
    }

    /// Sets `auths[host]` to `{"auth": base64(user:password), ...extra}`.
    ///
    /// An entry under exactly `host` keeps its position and its other keys:
    /// `auth` is replaced, the keys of a previous login (`username`,
    /// `password`, `identitytoken`, `registrytoken`) are removed so that
    /// none outlives the new one, and `extra` keys are set or replaced.
    /// Without one, the entry is appended (a URL-keyed entry for the same
    /// host stays as it is; the exact key wins when reading). Everything
    /// else in the document is untouched.
    pub fn set_auth(&mut self, host: &str, creds: &Credentials, extra: &[(&str, Value)]) {
        let auth = STANDARD.encode(format!("{}:{}", creds.username, creds.password));
        let entry = object_at(object_at(&mut self.doc, "auths"), host);
        for key in LOGIN_KEYS {
            entry.shift_remove(key);
        }
        entry.insert("auth".to_string(), Value::String(auth));
        for (key, value) in extra {
            entry.insert((*key).to_string(), value.clone());
        }
    }

    /// Writes the config atomically: creates its directory (mode 0700) if
    /// needed, writes a temporary file in the same directory with mode 0600,
    /// fsyncs it, and renames it over `config.json` (over the file a
    /// symlinked `config.json` points to, as docker does). Pretty JSON with
    /// a tab indent, as docker writes it, and a final newline. The new file
    /// is 0600 whatever the old one's mode.
    ///
    /// Exit 1 naming the file when anything fails; no temporary file is left.
    pub fn save(&self) -> Result<()> {
        let fail = |doing: String, e: &io::Error| {
            Error::output(
                format!("writing Docker config {}: {doing}", self.path.display()),
                e,
            )
        };
        let dir = parent(&self.path);
        create_dir(dir).map_err(|e| fail(format!("creating {}", dir.display()), &e))?;
        let target = resolve_symlink(&self.path);
        let target_dir = parent(&target);

        let mut bytes = Vec::new();
        let formatter = serde_json::ser::PrettyFormatter::with_indent(b"\t");
        let mut ser = serde_json::Serializer::with_formatter(&mut bytes, formatter);
        self.doc
            .serialize(&mut ser)
            .map_err(|e| fail("serializing".to_string(), &io::Error::from(e)))?;
        bytes.push(b'\n');

        let (mut file, temp) = create_temp(target_dir).map_err(|e| {
            fail(
                format!("creating a temporary file in {}", target_dir.display()),
                &e,
            )
        })?;
        let guard = RemoveOnDrop(Some(temp));
        let temp = guard.path();
        let written = file
            .write_all(&bytes)
            .and_then(|()| restrict(&file))
            .and_then(|()| file.sync_all());
        drop(file);
        written.map_err(|e| fail(format!("writing {}", temp.display()), &e))?;
        fs::rename(temp, &target).map_err(|e| {
            fail(
                format!("renaming {} to {}", temp.display(), target.display()),
                &e,
            )
        })?;
        guard.disarm();
        // The rename is durable once the directory is; not every file
        // system can fsync a directory, and the file is in place either way.
        if let Ok(d) = fs::File::open(target_dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    /// The `auths` entry for `host`, with the key it is stored under.
    fn find_entry(&self, host: &str) -> Option<(&str, &Map<String, Value>)> {
        let auths = self.doc.get("auths")?.as_object()?;
        let (key, entry) = find(auths, host)?;
        Some((key, entry.as_object()?))
    }
}

/// Checks the parts of the document this module reads, so that a config
/// docker would refuse is refused here too, before anything is written.
/// The problem names keys, never values.
fn check_shape(doc: &Map<String, Value>) -> std::result::Result<(), String> {
    let wrong = |what: &str, value: &Value, want: &str| {
        format!("{what} is {}, expected {want}", stream::kind(value))
    };
    match doc.get("auths") {
        None | Some(Value::Null) => {}
        Some(Value::Object(auths)) => {
            for (host, entry) in auths {
                if !entry.is_object() {
                    return Err(wrong(&format!("auths[{host:?}]"), entry, "an object"));
                }
            }
        }
        Some(other) => return Err(wrong("\"auths\"", other, "an object")),
    }
    match doc.get("credHelpers") {
        None | Some(Value::Null) => {}
        Some(Value::Object(helpers)) => {
            for (host, name) in helpers {
                if !name.is_string() {
                    return Err(wrong(&format!("credHelpers[{host:?}]"), name, "a string"));
                }
            }
        }
        Some(other) => return Err(wrong("\"credHelpers\"", other, "an object")),
    }
    match doc.get("credsStore") {
        None | Some(Value::Null | Value::String(_)) => Ok(()),
        Some(other) => Err(wrong("\"credsStore\"", other, "a string")),
    }
}

/// The value for registry `host` in `auths` or `credHelpers`, with its key:
/// the exact key; for Docker Hub, docker's key for it; else the first key
/// whose host part (scheme and path stripped) is `host`.
fn find<'a>(map: &'a Map<String, Value>, host: &str) -> Option<(&'a str, &'a Value)> {
    if let Some((key, value)) = map.get_key_value(host) {
        return Some((key, value));
    }
    let want = host_part(host);
    let hub = is_docker_hub(want);
    if hub && let Some((key, value)) = map.get_key_value(DOCKER_HUB_KEY) {
        return Some((key, value));
    }
    map.iter()
        .find(|(key, _)| {
            let have = host_part(key);
            have.eq_ignore_ascii_case(want) || (hub && is_docker_hub(have))
        })
        .map(|(key, value)| (key.as_str(), value))
}

/// `https://host:5000/v2/` → `host:5000`, as docker's `ConvertToHostname`.
pub fn host_part(key: &str) -> &str {
    let rest = key.split_once("://").map_or(key, |(_, rest)| rest);
    rest.split('/').next().unwrap_or(rest)
}

fn is_docker_hub(host: &str) -> bool {
    DOCKER_HUB_HOSTS
        .iter()
        .any(|hub| hub.eq_ignore_ascii_case(host))
}

/// The server address a credential helper is asked for: docker's key for
/// Docker Hub, else the host as given.
fn helper_server(host: &str) -> &str {
    if is_docker_hub(host_part(host)) {
        DOCKER_HUB_KEY
    } else {
        host
    }
}

/// The object under `key`, made (appended) when absent or not an object;
/// an existing object keeps its position.
fn object_at<'a>(map: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let slot = map.entry(key).or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    match slot {
        Value::Object(object) => object,
        _ => unreachable!("the slot was just made an object"),
    }
}

/// The directory of `path`; `.` for a bare file name.
fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// The file a symlinked `config.json` points to (dangling or not), so that
/// the rename replaces the file, not the link; `path` itself otherwise.
fn resolve_symlink(path: &Path) -> PathBuf {
    if let Ok(target) = fs::canonicalize(path) {
        return target;
    }
    match fs::read_link(path) {
        Ok(target) => parent(path).join(target),
        Err(_) => path.to_path_buf(),
    }
}

#[cfg(unix)]
fn create_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)
}

/// A new file `.config.json.PID.N.tmp` in `dir`, created exclusively, mode 0600.
fn create_temp(dir: &Path) -> io::Result<(fs::File, PathBuf)> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut tries = 0;
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!(".config.json.{}.{n}.tmp", std::process::id()));
        match options.open(&path) {
            Ok(file) => return Ok((file, path)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && tries < 100 => tries += 1,
            Err(e) => return Err(e),
        }
    }
}

/// Mode 0600 whatever the umask.
#[cfg(unix)]
fn restrict(file: &fs::File) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn restrict(_file: &fs::File) -> io::Result<()> {
    Ok(())
}

/// Removes the temporary file unless the rename took it.
struct RemoveOnDrop(Option<PathBuf>);

impl RemoveOnDrop {
    fn path(&self) -> &Path {
        self.0.as_deref().unwrap_or(Path::new(""))
    }

    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = fs::remove_file(path);
        }
    }
}

/// Runs `docker-credential-<helper> get` (found on `PATH`) with `server` on
/// stdin, as Docker's credential-helper protocol says, and reads
/// `{"ServerURL", "Username", "Secret"}` from its stdout.
///
/// `Ok(None)` when the helper answers "credentials not found" (a non-zero
/// exit with that text on stdout), or an empty username and secret. A
/// missing helper, a failure or an answer that is not the protocol's is exit
/// 1 naming the helper; the helper's stdout (it may hold a secret) is never
/// shown, and of its stderr only the first line.
pub fn helper_get(helper: &str, server: &str) -> Result<Option<Credentials>> {
    if helper.is_empty() || helper.contains(['/', '\\']) {
        return Err(Error::usage(format!(
            "credential helper {helper:?}: not a helper name (docker-credential-NAME is run, NAME without a path)"
        )));
    }
    let program = format!("docker-credential-{helper}");
    helper_get_with(Command::new(&program), &program, server, HELPER_TIMEOUT)
}

/// How long a credential helper may take to answer: one that waits on a
/// keychain prompt nobody will see (a CI machine with `credsStore:
/// desktop`) is killed, not waited for forever.
const HELPER_TIMEOUT: Duration = Duration::from_secs(30);

/// [`helper_get`] with the command given (tests run a script from a
/// directory of their own, without touching the process-wide `PATH`).
/// `name` is what messages call the helper.
fn helper_get_with(
    mut command: Command,
    name: &str,
    server: &str,
    timeout: Duration,
) -> Result<Option<Credentials>> {
    let mut child = command
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            if e.kind() == io::ErrorKind::NotFound {
                Error::failed(format!(
                    "credential helper {name}: not found on PATH (the Docker config names it in credHelpers or credsStore: install it, or remove it from there)"
                ))
            } else {
                Error::output(format!("running credential helper {name}"), &e)
            }
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        // A helper that exits without reading is judged by its exit status.
        let _ = stdin.write_all(server.as_bytes());
    }
    let out = wait_at_most(child, timeout).map_err(|e| match e {
        Waited::Io(e) => Error::output(format!("running credential helper {name}"), &e),
        Waited::Late => Error::failed(format!(
            "credential helper {name} did not answer within {} s, and was stopped (a keychain waiting for a prompt?)",
            timeout.as_secs()
        )),
    })?;
    if !out.status.success() {
        if String::from_utf8_lossy(&out.stdout)
            .trim()
            .starts_with("credentials not found")
        {
            return Ok(None);
        }
        let status = match out.status.code() {
            Some(code) => format!("exit status {code}"),
            None => "killed by a signal".to_string(),
        };
        return Err(Error::failed(match first_line(&out.stderr) {
            Some(line) => format!("credential helper {name} failed ({status}): {line}"),
            None => format!(
                "credential helper {name} failed ({status}); its stdout is not shown, as it may hold a secret"
            ),
        }));
    }
    let not_protocol = |what: &str| {
        Error::failed(format!(
            "credential helper {name}: {what} (the answer is not shown: it may hold a secret)"
        ))
    };
    let answer: Value =
        serde_json::from_slice(&out.stdout).map_err(|_| not_protocol("its answer is not JSON"))?;
    let Value::Object(answer) = answer else {
        return Err(not_protocol("its answer is not a JSON object"));
    };
    let field = |key: &str| match answer.get(key) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(not_protocol(&format!(
            "\"{key}\" in its answer is not a string"
        ))),
    };
    let (username, password) = (field("Username")?, field("Secret")?);
    if username.is_empty() && password.is_empty() {
        return Ok(None);
    }
    Ok(Some(Credentials { username, password }))
}

enum Waited {
    Io(io::Error),
    Late,
}

/// `child`'s output, or [`Waited::Late`] (the child killed) when it has
/// not exited within `timeout`. Its stdout and stderr are read meanwhile,
/// so a full pipe cannot stall it.
fn wait_at_most(
    mut child: std::process::Child,
    timeout: Duration,
) -> std::result::Result<std::process::Output, Waited> {
    use std::io::Read;
    let reader = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = reader(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = reader(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let started = std::time::Instant::now();
    let status = loop {
        match child.try_wait().map_err(Waited::Io)? {
            Some(status) => break status,
            None if started.elapsed() >= timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Waited::Late);
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    Ok(std::process::Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

/// The first non-empty line of a helper's stderr, trimmed and cut short.
fn first_line(stderr: &[u8]) -> Option<String> {
    const MAX: usize = 300;
    let text = String::from_utf8_lossy(stderr);
    let line = text.lines().map(str::trim).find(|line| !line.is_empty())?;
    Some(match line.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}...", &line[..cut]),
        None => line.to_string(),
    })
}

/// What a client would use for `host`: the helper for it, if the config
/// names one ([`DockerConfig::helper`], asked through [`helper_get`]; its
/// "not found" is `None`, the inline login is not consulted, as in docker),
/// else the login inline in `auths` ([`DockerConfig::auth`]).
pub fn credentials_for(config: &DockerConfig, host: &str) -> Result<Option<Credentials>> {
    credentials_with(config, host, helper_get)
}

/// [`credentials_for`] with the way of asking a helper given.
fn credentials_with(
    config: &DockerConfig,
    host: &str,
    get: impl FnOnce(&str, &str) -> Result<Option<Credentials>>,
) -> Result<Option<Credentials>> {
    match config.helper(host) {
        Some(helper) => get(helper, helper_server(host)),
        None => config.auth(host),
    }
}

/// `(registry id, region)` of an Amazon ECR registry host
/// (`ID.dkr.ecr[-fips].REGION.amazonaws.com[.cn]`, dual-stack
/// `ID.dkr-ecr[-fips].REGION.on.aws`); ecr-login and oci-push both ask.
pub fn ecr_host(host: &str) -> Option<(&str, &str)> {
    let (rest, prefixes): (&str, &[&str]) = if let Some(rest) = host.strip_suffix(".on.aws") {
        // Dual-stack: ID.dkr-ecr.REGION.on.aws
        (rest, &["dkr-ecr.", "dkr-ecr-fips."])
    } else {
        let rest = host
            .strip_suffix(".amazonaws.com")
            .or_else(|| host.strip_suffix(".amazonaws.com.cn"))?;
        (rest, &["dkr.ecr.", "dkr.ecr-fips."])
    };
    let (id, rest) = rest.split_once('.')?;
    let region = prefixes.iter().find_map(|p| rest.strip_prefix(p))?;
    let id_ok = crate::flags::is_account_id(id);
    let region_ok = !region.is_empty() && !region.contains('.');
    (id_ok && region_ok).then_some((id, region))
}

/// `http://h/v2/x/blobs/uploads/u?_state=...&digest=...` → `http://h/v2/x/blobs/uploads/u`.
pub fn without_queries(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_query = false;
    for c in text.chars() {
        match c {
            '?' => in_query = true,
            c if in_query && (c.is_whitespace() || c == ',' || c == ')') => {
                in_query = false;
                out.push(c);
            }
            _ if in_query => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecr_hosts() {
        assert_eq!(
            ecr_host("123456789012.dkr.ecr.us-east-1.amazonaws.com"),
            Some(("123456789012", "us-east-1"))
        );
        assert_eq!(
            ecr_host("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn"),
            Some(("123456789012", "cn-north-1"))
        );
        assert_eq!(
            ecr_host("123456789012.dkr-ecr.eu-west-1.on.aws"),
            Some(("123456789012", "eu-west-1"))
        );
        assert_eq!(ecr_host("public.ecr.aws"), None);
        assert_eq!(ecr_host("12345.dkr.ecr.us-east-1.amazonaws.com"), None);
    }

    use serde_json::json;

    const ECR: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

    fn creds(username: &str, password: &str) -> Credentials {
        Credentials {
            username: username.to_string(),
            password: password.to_string(),
        }
    }

    fn b64(text: &str) -> String {
        STANDARD.encode(text)
    }

    /// A temporary directory holding `config.json` with `text`.
    fn config_with(text: &str) -> (tempfile::TempDir, DockerConfig) {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("config.json"), text).unwrap();
        let config = DockerConfig::load(dir.path()).unwrap();
        (dir, config)
    }

    fn config_of(doc: Value) -> (tempfile::TempDir, DockerConfig) {
        config_with(&doc.to_string())
    }

    fn read_doc(path: &Path) -> Map<String, Value> {
        match serde_json::from_slice(&fs::read(path).unwrap()).unwrap() {
            Value::Object(doc) => doc,
            other => panic!("not an object: {other}"),
        }
    }

    fn keys(map: &Map<String, Value>) -> Vec<&str> {
        map.keys().map(String::as_str).collect()
    }

    /// Files in `dir` other than config.json (a temporary file left behind).
    fn leftovers(dir: &Path) -> Vec<String> {
        fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name != "config.json")
            .collect()
    }

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    // config_dir

    #[test]
    fn config_dir_flag_wins_over_docker_config_and_home() {
        let dir = config_dir_from(
            Some(Path::new("/flag")),
            Some("/env".into()),
            Some("/home/u".into()),
        )
        .unwrap();
        assert_eq!(dir, Path::new("/flag"));
    }

    #[test]
    fn config_dir_docker_config_wins_over_home() {
        let dir = config_dir_from(None, Some("/env".into()), Some("/home/u".into())).unwrap();
        assert_eq!(dir, Path::new("/env"));
    }

    #[test]
    fn config_dir_defaults_to_home_dot_docker() {
        let dir = config_dir_from(None, None, Some("/home/u".into())).unwrap();
        assert_eq!(dir, Path::new("/home/u/.docker"));
    }

    #[test]
    fn config_dir_without_home_is_a_usage_error() {
        for home in [None, Some(OsString::new())] {
            let e = config_dir_from(None, None, home).unwrap_err();
            assert_eq!(e.exit().code(), 2);
            assert!(e.to_string().contains("HOME is not set"), "{e}");
            assert!(e.to_string().contains("--docker-config"), "{e}");
        }
    }

    #[test]
    fn config_dir_empty_flag_is_a_usage_error() {
        let e = config_dir_from(Some(Path::new("")), None, Some("/h".into())).unwrap_err();
        assert_eq!(e.exit().code(), 2);
        assert!(e.to_string().starts_with("--docker-config:"), "{e}");
    }

    #[test]
    fn config_dir_empty_docker_config_is_a_usage_error() {
        let e = config_dir_from(None, Some(OsString::new()), Some("/h".into())).unwrap_err();
        assert_eq!(e.exit().code(), 2);
        assert!(
            e.to_string().starts_with("DOCKER_CONFIG is set but empty"),
            "{e}"
        );
    }

    // load

    #[test]
    fn a_missing_file_is_an_empty_config() {
        let dir = tempfile::tempdir().unwrap();
        let config = DockerConfig::load(dir.path()).unwrap();
        assert!(!config.existed());
        assert_eq!(config.path(), dir.path().join("config.json"));
        assert!(config.doc.is_empty());
        assert_eq!(config.auth(ECR).unwrap(), None);
        assert_eq!(config.helper(ECR), None);
    }

    #[test]
    fn a_missing_directory_is_an_empty_config() {
        let dir = tempfile::tempdir().unwrap();
        let config = DockerConfig::load(&dir.path().join("no/such/dir")).unwrap();
        assert!(!config.existed());
        assert!(config.doc.is_empty());
    }

    #[test]
    fn an_empty_file_is_an_empty_config() {
        let (_dir, config) = config_with("  \n");
        assert!(config.existed());
        assert!(config.doc.is_empty());
    }

    #[test]
    fn a_utf16_config_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let text = json!({"auths": {ECR: {"auth": b64("AWS:pw")}}}).to_string();
        let mut bytes = vec![0xFF, 0xFE];
        bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        fs::write(dir.path().join("config.json"), bytes).unwrap();
        let config = DockerConfig::load(dir.path()).unwrap();
        assert_eq!(config.auth(ECR).unwrap(), Some(creds("AWS", "pw")));
    }

    #[test]
    fn malformed_json_is_a_usage_error_naming_file_and_line_not_the_text() {
        let text = "{\n  \"auths\": {\n    \"reg.example.com\": {\"auth\": \"c2VjcmV0LXZhbHVl\"}\n    \"oops\" s3cr3t-in-the-file\n}\n";
        let (dir, path) = {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("config.json");
            fs::write(&path, text).unwrap();
            (dir, path)
        };
        let e = DockerConfig::load(dir.path()).unwrap_err();
        assert_eq!(e.exit().code(), 2);
        let message = e.to_string();
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(message.contains("line 4"), "{message}");
        for secret in ["s3cr3t", "c2VjcmV0LXZhbHVl", "oops", "reg.example.com"] {
            assert!(!message.contains(secret), "{message}");
        }
        // Nothing was written: the file is as it was, and nothing beside it.
        assert_eq!(fs::read_to_string(&path).unwrap(), text);
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn a_config_that_is_not_an_object_is_a_usage_error() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("config.json"), "[\"s3cr3t\"]").unwrap();
        let e = DockerConfig::load(dir.path()).unwrap_err();
        assert_eq!(e.exit().code(), 2);
        assert!(
            e.to_string()
                .ends_with("expected a JSON object, got an array"),
            "{e}"
        );
        assert!(!e.to_string().contains("s3cr3t"), "{e}");
    }

    #[test]
    fn auths_that_is_not_an_object_is_a_usage_error() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("config.json"), r#"{"auths": "s3cr3t"}"#).unwrap();
        let e = DockerConfig::load(dir.path()).unwrap_err();
        assert_eq!(e.exit().code(), 2);
        assert!(
            e.to_string()
                .contains("config.json: \"auths\" is a string, expected an object"),
            "{e}"
        );
        assert!(!e.to_string().contains("s3cr3t"), "{e}");
    }

    #[test]
    fn an_auths_entry_that_is_not_an_object_is_a_usage_error() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("config.json"),
            r#"{"auths": {"h": "s3cr3t"}}"#,
        )
        .unwrap();
        let e = DockerConfig::load(dir.path()).unwrap_err();
        assert_eq!(e.exit().code(), 2);
        assert!(
            e.to_string()
                .contains("auths[\"h\"] is a string, expected an object"),
            "{e}"
        );
        assert!(!e.to_string().contains("s3cr3t"), "{e}");
    }

    #[test]
    fn cred_helpers_that_is_not_an_object_is_a_usage_error() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("config.json"),
            r#"{"credHelpers": ["ecr-login"]}"#,
        )
        .unwrap();
        let e = DockerConfig::load(dir.path()).unwrap_err();
        assert_eq!(e.exit().code(), 2);
        assert!(
            e.to_string()
                .contains("\"credHelpers\" is an array, expected an object"),
            "{e}"
        );
    }

    #[test]
    fn a_cred_helper_that_is_not_a_string_is_a_usage_error() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("config.json"),
            r#"{"credHelpers": {"h": 1}}"#,
        )
        .unwrap();
        let e = DockerConfig::load(dir.path()).unwrap_err();
        assert_eq!(e.exit().code(), 2);
        assert!(
            e.to_string()
                .contains("credHelpers[\"h\"] is a number, expected a string"),
            "{e}"
        );
    }

    #[test]
    fn creds_store_that_is_not_a_string_is_a_usage_error() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("config.json"),
            r#"{"credsStore": {"a": 1}}"#,
        )
        .unwrap();
        let e = DockerConfig::load(dir.path()).unwrap_err();
        assert_eq!(e.exit().code(), 2);
        assert!(
            e.to_string()
                .contains("\"credsStore\" is an object, expected a string"),
            "{e}"
        );
    }

    #[test]
    fn null_auths_as_go_writes_a_nil_map_is_accepted_and_replaced_in_place() {
        let (_dir, mut config) = config_with(r#"{"auths": null, "credsStore": null, "x": 1}"#);
        assert_eq!(config.auth(ECR).unwrap(), None);
        assert_eq!(config.helper(ECR), None);
        config.set_auth(ECR, &creds("AWS", "pw"), &[]);
        config.save().unwrap();
        let doc = read_doc(config.path());
        assert_eq!(keys(&doc), ["auths", "credsStore", "x"]);
        assert_eq!(doc["auths"][ECR]["auth"], b64("AWS:pw"));
    }

    #[test]
    fn an_unreadable_config_is_an_input_error() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("config.json")).unwrap();
        let e = DockerConfig::load(dir.path()).unwrap_err();
        assert_eq!(e.exit().code(), 2);
        assert!(e.to_string().starts_with("reading Docker config "), "{e}");
        assert!(e.to_string().contains("config.json"), "{e}");
    }

    // set_auth and save

    #[test]
    fn set_auth_and_save_create_the_directory_and_a_0600_file() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("home/.docker");
        let mut config = DockerConfig::load(&dir).unwrap();
        config.set_auth(ECR, &creds("AWS", "pa:ss"), &[]);
        config.save().unwrap();
        let doc = read_doc(&dir.join("config.json"));
        assert_eq!(
            Value::Object(doc),
            json!({"auths": {ECR: {"auth": b64("AWS:pa:ss")}}})
        );
        #[cfg(unix)]
        {
            assert_eq!(mode(&dir.join("config.json")), 0o600);
            assert_eq!(mode(&dir) & 0o077, 0, "directory mode {:o}", mode(&dir));
        }
        assert!(leftovers(&dir).is_empty(), "{:?}", leftovers(&dir));
        // And it reads back.
        let again = DockerConfig::load(&dir).unwrap();
        assert!(again.existed());
        assert_eq!(again.auth(ECR).unwrap(), Some(creds("AWS", "pa:ss")));
    }

    #[test]
    fn update_keeps_what_another_writer_saved_in_between() {
        let dir = tempfile::tempdir().unwrap();
        let stale = DockerConfig::load(dir.path()).unwrap();
        let creds = |p: &str| Credentials {
            username: "u".into(),
            password: p.into(),
        };
        DockerConfig::update(dir.path(), |c| c.set_auth("a.example", &creds("1"), &[])).unwrap();
        drop(stale); // a run that loaded before the other wrote: update re-reads
        let config =
            DockerConfig::update(dir.path(), |c| c.set_auth("b.example", &creds("2"), &[]))
                .unwrap();
        assert_eq!(config.hosts(), ["a.example", "b.example"]);
        assert_eq!(
            DockerConfig::load(dir.path()).unwrap().hosts(),
            ["a.example", "b.example"]
        );
    }

    #[test]
    fn save_writes_tab_indented_json_with_a_final_newline() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = DockerConfig::load(dir.path()).unwrap();
        config.set_auth("h", &creds("u", "p"), &[]);
        config.save().unwrap();
        let text = fs::read_to_string(config.path()).unwrap();
        assert_eq!(
            text,
            format!(
                "{{\n\t\"auths\": {{\n\t\t\"h\": {{\n\t\t\t\"auth\": \"{}\"\n\t\t}}\n\t}}\n}}\n",
                b64("u:p")
            )
        );
    }

    #[test]
    fn merge_keeps_every_other_key_in_value_and_order() {
        let before = json!({
            "zzz-unknown": {"nested": [1, 2.5, "x"], "b": null, "a": true},
            "auths": {
                "https://index.docker.io/v1/": {"auth": b64("hub:hubpw")},
                ECR: {"z-note": "keep me", "auth": b64("AWS:old"), "email": "e@x", "a-note": [1]},
                "ghcr.io": {"auth": b64("gh:ghpw")}
            },
            "credHelpers": {"gcr.io": "gcloud", "public.ecr.aws": "ecr-login"},
            "credsStore": "desktop",
            "psFormat": "table {{.ID}}",
            "aaa-unknown": 7
        });
        let (_dir, mut config) = config_of(before.clone());
        config.set_auth(ECR, &creds("AWS", "new"), &[]);
        config.save().unwrap();
        let after = read_doc(config.path());
        let before = before.as_object().unwrap();

        assert_eq!(keys(&after), keys(before));
        for key in keys(before) {
            if key != "auths" {
                assert_eq!(after[key], before[key], "{key}");
                assert_eq!(after[key].to_string(), before[key].to_string(), "{key}");
            }
        }
        let (old_auths, new_auths) = (
            before["auths"].as_object().unwrap(),
            after["auths"].as_object().unwrap(),
        );
        assert_eq!(
            keys(new_auths),
            keys(old_auths),
            "the host keeps its position"
        );
        for host in ["https://index.docker.io/v1/", "ghcr.io"] {
            assert_eq!(
                new_auths[host].to_string(),
                old_auths[host].to_string(),
                "{host}"
            );
        }
        let entry = new_auths[ECR].as_object().unwrap();
        assert_eq!(keys(entry), ["z-note", "auth", "email", "a-note"]);
        assert_eq!(entry["auth"], b64("AWS:new"));
        assert_eq!(entry["z-note"], "keep me");
        assert_eq!(entry["a-note"], json!([1]));
    }

    #[test]
    fn set_auth_for_a_new_host_appends_it() {
        let (_dir, mut config) = config_of(json!({"auths": {"a": {}, "b": {}}, "x": 1}));
        config.set_auth(ECR, &creds("AWS", "pw"), &[]);
        let auths = config.doc["auths"].as_object().unwrap();
        assert_eq!(keys(auths), ["a", "b", ECR]);
        assert_eq!(keys(&config.doc), ["auths", "x"]);
    }

    #[test]
    fn set_auth_without_auths_appends_it_at_the_end() {
        let (_dir, mut config) = config_of(json!({"credsStore": "desktop", "x": 1}));
        config.set_auth(ECR, &creds("AWS", "pw"), &[]);
        assert_eq!(keys(&config.doc), ["credsStore", "x", "auths"]);
    }

    #[test]
    fn set_auth_sets_and_replaces_extra_keys() {
        let (_dir, mut config) =
            config_of(json!({"auths": {ECR: {"expiresAt": "old", "other": 1}}}));
        config.set_auth(
            ECR,
            &creds("AWS", "pw"),
            &[
                ("expiresAt", json!("2030-01-01T00:00:00Z")),
                ("region", json!("us-east-1")),
            ],
        );
        assert_eq!(
            config.entry(ECR),
            json!({"expiresAt": "2030-01-01T00:00:00Z", "other": 1, "auth": b64("AWS:pw"), "region": "us-east-1"})
                .as_object()
        );
        assert_eq!(
            keys(config.entry(ECR).unwrap()),
            ["expiresAt", "other", "auth", "region"]
        );
    }

    #[test]
    fn set_auth_removes_the_previous_logins_other_credential_keys() {
        let (_dir, mut config) = config_of(json!({"auths": {ECR: {
            "username": "old", "password": "oldpw", "identitytoken": "tok", "registrytoken": "rt", "keep": 1
        }}}));
        config.set_auth(ECR, &creds("AWS", "pw"), &[]);
        assert_eq!(
            config.entry(ECR),
            json!({"keep": 1, "auth": b64("AWS:pw")}).as_object()
        );
    }

    #[test]
    fn set_auth_on_a_url_keyed_host_adds_the_exact_key_which_then_wins() {
        let url = format!("https://{ECR}");
        let (_dir, mut config) = config_of(json!({"auths": {&url: {"auth": b64("AWS:old")}}}));
        config.set_auth(ECR, &creds("AWS", "new"), &[]);
        let auths = config.doc["auths"].as_object().unwrap();
        assert_eq!(keys(auths), [url.as_str(), ECR]);
        assert_eq!(config.auth(ECR).unwrap(), Some(creds("AWS", "new")));
    }

    #[cfg(unix)]
    #[test]
    fn save_over_an_existing_0644_file_leaves_it_0600() {
        use std::os::unix::fs::PermissionsExt;
        let (_dir, mut config) = config_of(json!({"auths": {}}));
        fs::set_permissions(config.path(), fs::Permissions::from_mode(0o644)).unwrap();
        config.set_auth(ECR, &creds("AWS", "pw"), &[]);
        config.save().unwrap();
        assert_eq!(mode(config.path()), 0o600);
    }

    #[cfg(unix)]
    #[test]
    fn save_through_a_symlinked_config_replaces_the_target_and_keeps_the_link() {
        let tmp = tempfile::tempdir().unwrap();
        let (dotfiles, docker) = (tmp.path().join("dotfiles"), tmp.path().join(".docker"));
        fs::create_dir_all(&dotfiles).unwrap();
        fs::create_dir_all(&docker).unwrap();
        fs::write(dotfiles.join("docker.json"), r#"{"x": 1}"#).unwrap();
        std::os::unix::fs::symlink(dotfiles.join("docker.json"), docker.join("config.json"))
            .unwrap();
        let mut config = DockerConfig::load(&docker).unwrap();
        config.set_auth(ECR, &creds("AWS", "pw"), &[]);
        config.save().unwrap();
        assert!(
            fs::symlink_metadata(docker.join("config.json"))
                .unwrap()
                .file_type()
                .is_symlink()
        );
        let doc = read_doc(&dotfiles.join("docker.json"));
        assert_eq!(keys(&doc), ["x", "auths"]);
        assert!(
            leftovers(&dotfiles).iter().all(|f| f == "docker.json"),
            "{:?}",
            leftovers(&dotfiles)
        );
    }

    #[test]
    fn save_under_a_regular_file_fails_with_exit_1_naming_the_path() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("file"), "").unwrap();
        let dir = tmp.path().join("file/.docker");
        let mut config = DockerConfig {
            path: dir.join("config.json"),
            doc: Map::new(),
            existed: false,
        };
        config.set_auth(ECR, &creds("AWS", "s3cr3t-pw"), &[]);
        let e = config.save().unwrap_err();
        assert_eq!(e.exit().code(), 1);
        assert!(
            e.to_string()
                .contains(&dir.join("config.json").display().to_string()),
            "{e}"
        );
        assert!(!e.to_string().contains("s3cr3t"), "{e}");
        assert_eq!(leftovers(tmp.path()), ["file"]);
    }

    #[test]
    fn save_that_fails_at_the_rename_leaves_no_temporary_file() {
        let tmp = tempfile::tempdir().unwrap();
        let mut config = DockerConfig::load(tmp.path()).unwrap();
        // config.json turns out to be a directory: the rename cannot replace it.
        fs::create_dir(tmp.path().join("config.json")).unwrap();
        config.set_auth(ECR, &creds("AWS", "s3cr3t-pw"), &[]);
        let e = config.save().unwrap_err();
        assert_eq!(e.exit().code(), 1);
        assert!(
            e.to_string().starts_with(&format!(
                "writing Docker config {}",
                config.path().display()
            )),
            "{e}"
        );
        assert!(e.to_string().contains("renaming"), "{e}");
        assert!(!e.to_string().contains("s3cr3t"), "{e}");
        assert!(
            leftovers(tmp.path()).is_empty(),
            "{:?}",
            leftovers(tmp.path())
        );
    }

    // auth and entry

    #[test]
    fn auth_splits_at_the_first_colon() {
        let (_dir, config) = config_of(json!({"auths": {ECR: {"auth": b64("AWS:pa:ss:word")}}}));
        assert_eq!(config.auth(ECR).unwrap(), Some(creds("AWS", "pa:ss:word")));
    }

    #[test]
    fn auth_without_padding_is_read() {
        let unpadded = b64("AWS:pw").trim_end_matches('=').to_string();
        let (_dir, config) = config_of(json!({"auths": {ECR: {"auth": unpadded}}}));
        assert_eq!(config.auth(ECR).unwrap(), Some(creds("AWS", "pw")));
    }

    #[test]
    fn auth_from_username_and_password() {
        let (_dir, config) =
            config_of(json!({"auths": {ECR: {"username": "AWS", "password": "p:w"}}}));
        assert_eq!(config.auth(ECR).unwrap(), Some(creds("AWS", "p:w")));
    }

    #[test]
    fn auth_wins_over_username_and_password_as_in_docker() {
        let (_dir, config) = config_of(json!({"auths": {ECR: {
            "username": "stale", "password": "stale", "auth": b64("AWS:pw")
        }}}));
        assert_eq!(config.auth(ECR).unwrap(), Some(creds("AWS", "pw")));
    }

    #[test]
    fn an_entry_without_a_login_has_no_credentials() {
        let (_dir, config) =
            config_of(json!({"auths": {ECR: {"identitytoken": "t"}, "b": {"auth": ""}}}));
        assert_eq!(config.auth(ECR).unwrap(), None);
        assert_eq!(config.auth("b").unwrap(), None);
        assert_eq!(config.auth("elsewhere").unwrap(), None);
    }

    #[test]
    fn a_url_keyed_entry_is_matched_by_host() {
        let (_dir, config) = config_of(json!({"auths": {
            format!("https://{ECR}"): {"auth": b64("AWS:pw"), "note": 1},
            "http://localhost:5000/v2/": {"auth": b64("local:pw")}
        }}));
        assert_eq!(config.auth(ECR).unwrap(), Some(creds("AWS", "pw")));
        assert_eq!(config.entry(ECR).unwrap()["note"], 1);
        assert_eq!(
            config.auth("localhost:5000").unwrap(),
            Some(creds("local", "pw"))
        );
        assert_eq!(config.auth("localhost").unwrap(), None);
    }

    #[test]
    fn the_exact_key_wins_over_a_url_key() {
        let (_dir, config) = config_of(json!({"auths": {
            format!("https://{ECR}"): {"auth": b64("AWS:url")},
            ECR: {"auth": b64("AWS:exact")}
        }}));
        assert_eq!(config.auth(ECR).unwrap(), Some(creds("AWS", "exact")));
    }

    #[test]
    fn docker_hubs_key_is_found_for_its_host_names() {
        let (_dir, config) =
            config_of(json!({"auths": {"https://index.docker.io/v1/": {"auth": b64("hub:pw")}}}));
        for host in [
            "index.docker.io",
            "docker.io",
            "registry-1.docker.io",
            "https://index.docker.io/v1/",
        ] {
            assert_eq!(
                config.auth(host).unwrap(),
                Some(creds("hub", "pw")),
                "{host}"
            );
        }
        assert_eq!(config.auth("ghcr.io").unwrap(), None);
    }

    #[test]
    fn credentials_debug_does_not_show_the_password() {
        let text = format!("{:?}", creds("AWS", "s3cr3t-pw"));
        assert_eq!(
            text,
            r#"Credentials { username: "AWS", password: <redacted> }"#
        );
    }

    #[test]
    fn docker_config_debug_does_not_show_credentials() {
        let (_dir, config) = config_of(json!({"auths": {ECR: {"auth": b64("AWS:s3cr3t-pw")}}}));
        let text = format!("{config:?}");
        assert!(text.contains(ECR), "{text}");
        assert!(
            !text.contains("s3cr3t") && !text.contains(&b64("AWS:s3cr3t-pw")),
            "{text}"
        );
    }

    #[test]
    fn malformed_base64_auth_is_a_usage_error_without_the_value() {
        let secret = "AWS:s3cr3t!pw";
        let (_dir, config) = config_of(json!({"auths": {ECR: {"auth": secret}}}));
        let e = config.auth(ECR).unwrap_err();
        assert_eq!(e.exit().code(), 2);
        let message = e.to_string();
        assert!(
            message.contains(&config.path().display().to_string()),
            "{message}"
        );
        assert!(
            message.contains(&format!("auths[\"{ECR}\"].auth is not valid base64")),
            "{message}"
        );
        for part in ["s3cr3t", "!", "byte", "33"] {
            assert!(!message.contains(part), "{part} in {message}");
        }
    }

    #[test]
    fn auth_without_a_colon_is_a_usage_error_without_the_value() {
        let (_dir, config) = config_of(json!({"auths": {ECR: {"auth": b64("s3cr3t-token")}}}));
        let e = config.auth(ECR).unwrap_err();
        assert_eq!(e.exit().code(), 2);
        assert!(e.to_string().contains("no colon"), "{e}");
        assert!(!e.to_string().contains("s3cr3t"), "{e}");
        assert!(!e.to_string().contains(&b64("s3cr3t-token")), "{e}");
    }

    #[test]
    fn a_password_that_is_not_a_string_is_a_usage_error_without_the_value() {
        let (_dir, config) =
            config_of(json!({"auths": {ECR: {"username": "AWS", "password": 987654}}}));
        let e = config.auth(ECR).unwrap_err();
        assert_eq!(e.exit().code(), 2);
        assert!(
            e.to_string().contains("password is a number, not a string"),
            "{e}"
        );
        assert!(!e.to_string().contains("987654"), "{e}");
    }

    // helper

    #[test]
    fn cred_helpers_win_over_creds_store() {
        let (_dir, config) = config_of(json!({
            "credHelpers": {ECR: "ecr-login"}, "credsStore": "desktop"
        }));
        assert_eq!(config.helper(ECR), Some("ecr-login"));
        assert_eq!(config.helper("ghcr.io"), Some("desktop"));
    }

    #[test]
    fn cred_helpers_are_matched_by_url_host() {
        let (_dir, config) =
            config_of(json!({"credHelpers": {format!("https://{ECR}/"): "ecr-login"}}));
        assert_eq!(config.helper(ECR), Some("ecr-login"));
        assert_eq!(config.helper("ghcr.io"), None);
    }

    #[test]
    fn an_empty_cred_helper_keeps_creds_store_away_as_in_docker() {
        let (_dir, config) = config_of(json!({"credHelpers": {ECR: ""}, "credsStore": "desktop"}));
        assert_eq!(config.helper(ECR), None);
        let (_dir, config) = config_of(json!({"credsStore": ""}));
        assert_eq!(config.helper(ECR), None);
    }

    /// A directory with a fake `docker-credential-NAME` script per helper,
    /// and a way to run them that does not touch `PATH`.
    struct FakeHelpers(tempfile::TempDir);

    impl FakeHelpers {
        fn new(helpers: &[(&str, &str)]) -> Self {
            let dir = tempfile::tempdir().unwrap();
            for (name, body) in helpers {
                let path = dir.path().join(format!("docker-credential-{name}"));
                fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
                }
            }
            FakeHelpers(dir)
        }

        /// Runs the script through `sh`, not by exec: a script written by one
        /// test thread can be briefly "busy" (ETXTBSY) while another thread
        /// forks, and `sh` only reads it.
        fn get(&self, helper: &str, server: &str) -> Result<Option<Credentials>> {
            let program = format!("docker-credential-{helper}");
            let path = self.0.path().join(&program);
            if !path.exists() {
                return helper_get_with(Command::new(&path), &program, server, HELPER_TIMEOUT);
            }
            let mut command = Command::new("sh");
            command.arg(path);
            helper_get_with(command, &program, server, HELPER_TIMEOUT)
        }
    }

    /// A helper that never answers (a keychain waiting on a prompt) is
    /// stopped at the time limit, and said so.
    #[test]
    fn a_helper_that_never_answers_is_stopped() {
        let mut command = Command::new("sh");
        command.args(["-c", "exec sleep 100"]);
        let e = helper_get_with(
            command,
            "docker-credential-stuck",
            "r.example",
            Duration::from_millis(300),
        )
        .unwrap_err();
        assert_eq!(
            e.message(),
            "credential helper docker-credential-stuck did not answer within 0 s, and was stopped (a keychain waiting for a prompt?)"
        );
    }

    /// Answers for `reg.example.com` (checking the protocol: `get`, the
    /// server on stdin), "credentials not found" for anything else.
    const ANSWERING: &str = r#"[ "$1" = get ] || { echo "expected get, got $1" >&2; exit 3; }
server=$(cat)
case "$server" in
  reg.example.com|https://index.docker.io/v1/) printf '{"ServerURL":"%s","Username":"%s","Secret":"s3cr3t-from-helper"}\n' "$server" "$0" ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac"#;

    #[test]
    fn helper_get_speaks_the_protocol() {
        let fake = FakeHelpers::new(&[("fake", ANSWERING)]);
        let got = fake.get("fake", "reg.example.com").unwrap().unwrap();
        assert!(got.username.ends_with("docker-credential-fake"), "{got:?}");
        assert_eq!(got.password, "s3cr3t-from-helper");
    }

    #[test]
    fn helper_credentials_not_found_is_none() {
        let fake = FakeHelpers::new(&[("fake", ANSWERING)]);
        assert_eq!(fake.get("fake", "other.example.com").unwrap(), None);
    }

    #[test]
    fn a_helper_answering_empty_credentials_is_none() {
        let fake = FakeHelpers::new(&[(
            "empty",
            r#"echo '{"ServerURL":"x","Username":"","Secret":""}'"#,
        )]);
        assert_eq!(fake.get("empty", "reg.example.com").unwrap(), None);
    }

    #[test]
    fn a_missing_helper_is_an_error_naming_it() {
        let fake = FakeHelpers::new(&[]);
        let e = fake.get("absent", "reg.example.com").unwrap_err();
        assert_eq!(e.exit().code(), 1);
        assert!(
            e.to_string()
                .starts_with("credential helper docker-credential-absent: not found"),
            "{e}"
        );
    }

    #[test]
    fn a_missing_helper_on_path_is_an_error_naming_it() {
        let e = helper_get("deploykit-test-no-such-helper", "reg.example.com").unwrap_err();
        assert_eq!(e.exit().code(), 1);
        assert!(
            e.to_string()
                .contains("docker-credential-deploykit-test-no-such-helper: not found"),
            "{e}"
        );
    }

    #[test]
    fn a_helper_name_with_a_path_is_refused() {
        let e = helper_get("../evil", "reg.example.com").unwrap_err();
        assert_eq!(e.exit().code(), 2);
        assert!(e.to_string().contains("not a helper name"), "{e}");
    }

    #[test]
    fn a_failing_helper_shows_the_first_line_of_stderr_never_stdout() {
        let fake = FakeHelpers::new(&[(
            "broken",
            "echo '{\"Secret\": \"s3cr3t-on-stdout\"}'\necho 'keychain locked' >&2\necho 's3cr3t second line' >&2\nexit 4",
        )]);
        let e = fake.get("broken", "reg.example.com").unwrap_err();
        assert_eq!(e.exit().code(), 1);
        assert_eq!(
            e.to_string(),
            "credential helper docker-credential-broken failed (exit status 4): keychain locked"
        );
    }

    #[test]
    fn a_failing_helper_without_stderr_says_stdout_is_not_shown() {
        let fake = FakeHelpers::new(&[("quiet", "echo s3cr3t-on-stdout\nexit 1")]);
        let e = fake.get("quiet", "reg.example.com").unwrap_err();
        assert_eq!(e.exit().code(), 1);
        assert!(
            e.to_string()
                .contains("docker-credential-quiet failed (exit status 1)"),
            "{e}"
        );
        assert!(!e.to_string().contains("s3cr3t"), "{e}");
    }

    #[test]
    fn a_helper_answer_that_is_not_json_is_an_error_without_the_answer() {
        let fake = FakeHelpers::new(&[("garbled", "echo 'Username=AWS Secret=s3cr3t'")]);
        let e = fake.get("garbled", "reg.example.com").unwrap_err();
        assert_eq!(e.exit().code(), 1);
        assert!(
            e.to_string()
                .contains("docker-credential-garbled: its answer is not JSON"),
            "{e}"
        );
        assert!(!e.to_string().contains("s3cr3t"), "{e}");
    }

    #[test]
    fn a_helper_answer_with_a_non_string_secret_is_an_error_without_it() {
        let fake =
            FakeHelpers::new(&[("typed", r#"echo '{"Username":"AWS","Secret":987654321}'"#)]);
        let e = fake.get("typed", "reg.example.com").unwrap_err();
        assert_eq!(e.exit().code(), 1);
        assert!(
            e.to_string()
                .contains("\"Secret\" in its answer is not a string"),
            "{e}"
        );
        assert!(!e.to_string().contains("987654321"), "{e}");
    }

    // credentials_for: credHelpers[host] > credsStore > inline auths

    /// Each fake helper answers with its own name as the password.
    fn precedence_helpers() -> FakeHelpers {
        let answer = |name: &str| {
            format!(
                r#"cat >/dev/null; echo '{{"ServerURL":"x","Username":"AWS","Secret":"from-{name}"}}'"#
            )
        };
        FakeHelpers::new(&[
            ("per-host", &answer("per-host")),
            ("store", &answer("store")),
            ("fake", ANSWERING),
        ])
    }

    #[test]
    fn credentials_from_cred_helpers_beat_creds_store_and_inline_auths() {
        let fake = precedence_helpers();
        let (_dir, config) = config_of(json!({
            "auths": {"reg.example.com": {"auth": b64("AWS:inline")}},
            "credHelpers": {"reg.example.com": "per-host"},
            "credsStore": "store"
        }));
        let got = credentials_with(&config, "reg.example.com", |h, s| fake.get(h, s)).unwrap();
        assert_eq!(got, Some(creds("AWS", "from-per-host")));
    }

    #[test]
    fn credentials_from_creds_store_beat_inline_auths() {
        let fake = precedence_helpers();
        let (_dir, config) = config_of(json!({
            "auths": {"reg.example.com": {"auth": b64("AWS:inline")}},
            "credHelpers": {"other.example.com": "per-host"},
            "credsStore": "store"
        }));
        let got = credentials_with(&config, "reg.example.com", |h, s| fake.get(h, s)).unwrap();
        assert_eq!(got, Some(creds("AWS", "from-store")));
    }

    #[test]
    fn credentials_inline_when_no_helper_applies() {
        let fake = precedence_helpers();
        let (_dir, config) = config_of(json!({
            "auths": {"reg.example.com": {"auth": b64("AWS:inline")}},
            "credHelpers": {"other.example.com": "per-host"}
        }));
        let got = credentials_with(&config, "reg.example.com", |h, s| fake.get(h, s)).unwrap();
        assert_eq!(got, Some(creds("AWS", "inline")));
    }

    #[test]
    fn credentials_from_a_helper_that_has_none_are_none_as_in_docker() {
        let fake = precedence_helpers();
        let (_dir, config) = config_of(json!({
            "auths": {"nowhere.example.com": {"auth": b64("AWS:inline")}},
            "credsStore": "fake"
        }));
        let got = credentials_with(&config, "nowhere.example.com", |h, s| fake.get(h, s)).unwrap();
        assert_eq!(got, None);
    }

    #[test]
    fn credentials_for_docker_hub_ask_the_helper_for_dockers_key() {
        let fake = precedence_helpers();
        let (_dir, config) = config_of(json!({"credsStore": "fake"}));
        let got = credentials_with(&config, "docker.io", |h, s| fake.get(h, s)).unwrap();
        assert_eq!(
            got.map(|c| c.password),
            Some("s3cr3t-from-helper".to_string())
        );
    }

    #[test]
    fn credentials_for_without_a_helper_reads_inline_auths() {
        let (_dir, config) = config_of(json!({"auths": {ECR: {"auth": b64("AWS:pw")}}}));
        assert_eq!(
            credentials_for(&config, ECR).unwrap(),
            Some(creds("AWS", "pw"))
        );
    }
}
