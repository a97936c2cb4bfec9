//! ecr-login: log in to Amazon ECR (private and public) through the AWS SDK
//! credential chain, store the login where registry clients look for it
//! (the Docker config), and never print the secret unless asked.
//!
//! [`run`] goes Args -> [`Config`] (registry ids, regions and the existing
//! Docker config all checked: exit 2 before any call) -> the logins, one
//! GetAuthorizationToken per region, concurrently -> config.json written
//! once, atomically -> the `registry` object out. Run as
//! `docker-credential-ecr-login`, it answers Docker's credential-helper
//! protocol instead ([`helper`]).

mod args;
mod config;
mod helper;
mod login;

use std::ffi::OsString;
use std::path::Path;

use deploykit::stream::Stdin;
use deploykit::{Outcome, Result, aws, cli};
use serde_json::{Value, json};

pub use args::{Args, Command};
pub use config::{Config, Store};
use deploykit::registry::DockerConfig;
use login::{DEFAULT_KEY, EXPIRY_KEY, Login, Reusable, Target};

/// The command line, and whether it runs the credential-helper protocol
/// (then stdin is a server URL, not the pipe's object): under the name
/// `docker-credential-*` (a symlink for Docker's `credHelpers`), it is
/// `ecr-login credential-helper ACTION`.
pub fn argv(mut args: Vec<OsString>) -> (Vec<OsString>, bool) {
    let renamed = args
        .first()
        .and_then(|a| Path::new(a).file_name())
        .is_some_and(|n| n.to_string_lossy().starts_with("docker-credential-"));
    if renamed {
        args.splice(0..1, ["ecr-login".into(), "credential-helper".into()]);
    }
    // Anywhere on the command line (`--region X credential-helper get`), and
    // whether or not the rest parses: a helper's stdin may hold a secret
    // (`store`) and its stdout is the protocol's, never the pipe's.
    let as_helper = args.iter().skip(1).any(|a| a == "credential-helper");
    (args, as_helper)
}

/// The whole tool: flags and stdin in, the object (or the password) out.
pub fn run(mut args: Args, stdin: Stdin) -> Result<Outcome> {
    if let Some(Command::CredentialHelper { action }) = args.command.take() {
        return helper::run(action, &stdin, &args);
    }
    let mut envelope = stdin.envelope()?;
    let config = Config::from_args(args)?;
    let targets: Vec<Target> = config
        .regions
        .iter()
        .map(|aws| Target {
            aws: aws.clone(),
            registry_ids: config.registry_ids.clone(),
            public: config.public,
        })
        .collect();
    let reusable = match (&config.store, config.min_validity) {
        (Store::Docker(docker), Some(min)) => Some(Reusable::from_config(docker, min)?),
        _ => None,
    };
    let logins = aws::runtime()?.block_on(login::all(targets, reusable))?;

    let docker = match config.store {
        Store::Stdout => {
            let password = &logins[0].credentials.password;
            return Ok(Outcome::text(format!("{password}\n")));
        }
        Store::Docker(docker) => {
            let dir = docker
                .path()
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default();
            let mut fresh: Vec<&Login> = Vec::new();
            for login in logins.iter().filter(|l| !l.reused) {
                match docker.helper(&login.endpoint) {
                    // Docker asks ecr-login itself for this host: nothing to store.
                    Some("ecr-login") => cli::note(format!(
                        "{} uses ecr-login as its credential helper: no login stored",
                        login.endpoint
                    )),
                    Some(helper) => {
                        cli::warn(format!(
                            "{} sends {} to the credential helper docker-credential-{helper} (credHelpers or credsStore): clients ask it and ignore the login written to auths; make ecr-login that host's helper (see --help) or remove the entry",
                            docker.path().display(),
                            login.endpoint
                        ));
                        fresh.push(login);
                    }
                    None => fresh.push(login),
                }
            }
            if fresh.is_empty() {
                docker
            } else {
                // Re-read under a lock: another run may have written since.
                DockerConfig::update(&dir, |config| {
                    for login in &fresh {
                        let mut extra: Vec<(&str, Value)> = Vec::new();
                        if let Some(secs) = login.expires_at {
                            extra.push((EXPIRY_KEY, json!(secs)));
                        }
                        if login.default_registry {
                            extra.push((DEFAULT_KEY, json!(true)));
                        }
                        config.set_auth(&login.endpoint, &login.credentials, &extra);
                    }
                })?
            }
        }
    };
    let path = docker.path().display().to_string();
    for login in &logins {
        cli::note(say(login, &path));
    }
    let registries: Vec<Value> = logins.iter().map(|l| registry(l, &path)).collect();
    if let Some(path) = &config.github_output {
        github_output(path, &registries)?;
    }
    envelope.insert("registry".to_string(), registries[0].clone());
    if registries.len() > 1 {
        envelope.insert("registries".to_string(), Value::Array(registries));
    } else {
        envelope.shift_remove("registries");
    }
    Ok(Outcome::success(envelope))
}

/// `{endpoint, expiresAt, credentialsIn}`: never the password.
fn registry(login: &Login, path: &str) -> Value {
    json!({
        "endpoint": login.endpoint,
        "expiresAt": login.expires_at.map(login::rfc3339),
        "credentialsIn": path,
    })
}

/// One line on stderr a login: where it is, and when it expires.
fn say(login: &Login, path: &str) -> String {
    let expiry = match login.expires_at {
        None => "the token's expiry is not known".to_string(),
        Some(at) => {
            let left = at - login::now();
            if left <= 0 {
                format!(
                    "the token expired at {} (check the clock)",
                    login::rfc3339(at)
                )
            } else {
                format!(
                    "the token expires at {}, in {}h{:02}m",
                    login::rfc3339(at),
                    left / 3600,
                    left % 3600 / 60
                )
            }
        }
    };
    let how = if login.reused {
        "reused the login to"
    } else {
        "logged in to"
    };
    format!("{how} {} (in {path}); {expiry}", login.endpoint)
}

/// GitHub Actions: `registry=<endpoint>`, and `registries=<json>` for
/// several, appended to `$GITHUB_OUTPUT` when it is set.
fn github_output(path: &Path, registries: &[Value]) -> Result<()> {
    let mut text = format!(
        "registry={}\n",
        registries[0]["endpoint"].as_str().unwrap_or_default()
    );
    if registries.len() > 1 {
        let endpoints: Vec<Value> = registries.iter().map(|r| r["endpoint"].clone()).collect();
        text.push_str(&format!("registries={}\n", Value::Array(endpoints)));
    }
    deploykit::output::append("$GITHUB_OUTPUT", path, text.as_bytes())
}

/// The whole command, `argv` as a process gets it: the `ecr-login` binary
/// (or its `docker-credential-ecr-login` link) passes its own, the
/// multicall `deploykit` binary the one it was given.
pub fn main(argv: Vec<OsString>) -> std::process::ExitCode {
    let (argv, as_helper) = self::argv(argv);
    if as_helper {
        deploykit::cli::main_outside_the_pipe("ecr-login", argv, run)
    } else {
        deploykit::cli::main_from("ecr-login", argv, run)
    }
}
