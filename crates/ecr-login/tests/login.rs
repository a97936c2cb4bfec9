//! ecr-login as users run it: the real binary against moto's ECR (started
//! by `make test`), the login read back from the Docker config it wrote.
//! moto's token is fixed: user `AWS`, password `<registry id>-auth-token`,
//! expiring on 2015-01-01; every run here checks that no password reached
//! stdout or stderr (but with `--password-stdout`, where it is the output).

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use deploy_tests::{Output, Tool, read_json};
use serde_json::{Value, json};

const ACCOUNT: &str = "123456789012";
const HOST: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
/// moto's token for 2015-01-01T00:00:00Z.
const MOTO_EXPIRY: i64 = 1_420_070_400;

fn login() -> Tool {
    deploy_tests::tool(env!("CARGO_BIN_EXE_ecr-login")).aws()
}

fn b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// Asserts that no moto password is in what the run printed.
#[track_caller]
fn no_secret(out: &Output) {
    for (name, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        assert!(
            !text.contains("auth-token"),
            "a password on {name}:\n{text}"
        );
        assert!(
            !text.contains(&b64(&format!("AWS:{ACCOUNT}-auth-token"))),
            "an auth on {name}"
        );
    }
}

/// The endpoints of `registries`, in order.
fn endpoints(doc: &Value) -> Vec<&Value> {
    doc["registries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["endpoint"])
        .collect()
}

/// `HOME/.docker/config.json` ($DOCKER_CONFIG in the test harness), its
/// directory made so that a test can put a config there first.
fn config_in(home: &Path) -> PathBuf {
    let dir = home.join(".docker");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("config.json")
}

#[test]
fn the_default_registry_is_stored_in_the_docker_config() {
    let (out, home) = login().run_with_home();
    no_secret(&out);
    let doc = out.success();
    let config = config_in(home.path());
    assert_eq!(
        doc,
        json!({"registry": {"endpoint": HOST, "expiresAt": "2015-01-01T00:00:00Z", "credentialsIn": config.display().to_string()}})
    );
    assert_eq!(
        read_json(&config),
        json!({"auths": {HOST: {"auth": b64("AWS:123456789012-auth-token"), "ecrLoginExpiresAt": MOTO_EXPIRY, "ecrLoginDefault": true}}})
    );
    assert!(
        out.stderr
            .contains(&format!("ecr-login: logged in to {HOST}")),
        "{}",
        out.stderr
    );
}

#[cfg(unix)]
#[test]
fn the_docker_config_is_written_with_mode_0600() {
    use std::os::unix::fs::PermissionsExt;
    let (out, home) = login().run_with_home();
    out.success();
    let mode = std::fs::metadata(config_in(home.path()))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

/// ecr-login as a shell with `umask 000` runs it, pointed at moto.
#[cfg(unix)]
fn login_under_umask_000() -> Tool {
    deploy_tests::tool("bash")
        .args([
            "-c",
            "umask 000; exec \"$0\" \"$@\"",
            env!("CARGO_BIN_EXE_ecr-login"),
        ])
        .aws()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[cfg(unix)]
#[test]
fn the_lock_file_is_0600_under_umask_000() {
    let (out, home) = login_under_umask_000().run_with_home();
    out.success();
    let config = config_in(home.path());
    assert_eq!(mode(&config.with_extension("json.lock")), 0o600);
    assert_eq!(mode(&config), 0o600);
}

#[cfg(unix)]
#[test]
fn a_new_github_output_is_0600_under_umask_000() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("out");
    let out = login_under_umask_000().env("GITHUB_OUTPUT", &file).run();
    out.success();
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        format!("registry={HOST}\n")
    );
    assert_eq!(mode(&file), 0o600);
}

#[test]
fn several_registry_ids_are_all_logged_in() {
    let (out, home) = login()
        .args([
            "--registry-id",
            "111111111111",
            "--registry-id",
            "222222222222",
        ])
        .run_with_home();
    let doc = out.success();
    let endpoints = endpoints(&doc);
    assert_eq!(
        endpoints,
        [
            "111111111111.dkr.ecr.us-east-1.amazonaws.com",
            "222222222222.dkr.ecr.us-east-1.amazonaws.com"
        ]
    );
    assert_eq!(doc["registry"], doc["registries"][0]);
    let auths = &read_json(config_in(home.path()))["auths"];
    assert_eq!(
        auths["222222222222.dkr.ecr.us-east-1.amazonaws.com"]["auth"],
        b64("AWS:222222222222-auth-token")
    );
    assert!(!out.stderr.contains("auth-token") && !out.stdout.contains("auth-token"));
}

#[test]
fn several_regions_are_logged_in_in_one_run() {
    let (out, home) = login()
        .args(["--region", "us-east-1", "--region", "eu-west-1"])
        .run_with_home();
    no_secret(&out);
    let doc = out.success();
    let endpoints = endpoints(&doc);
    assert_eq!(
        endpoints,
        [HOST, "123456789012.dkr.ecr.eu-west-1.amazonaws.com"]
    );
    let auths = read_json(config_in(home.path()))["auths"].clone();
    assert_eq!(auths.as_object().unwrap().len(), 2);
}

#[test]
fn docker_config_flag_picks_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("ci-docker");
    let (out, home) = login()
        .args(["--docker-config", target.to_str().unwrap()])
        .run_with_home();
    no_secret(&out);
    assert_eq!(
        out.success()["registry"]["credentialsIn"],
        target.join("config.json").display().to_string()
    );
    assert_eq!(
        read_json(target.join("config.json"))["auths"][HOST]["auth"],
        b64("AWS:123456789012-auth-token")
    );
    assert!(
        !config_in(home.path()).exists(),
        "$DOCKER_CONFIG left alone"
    );
}

#[test]
fn docker_config_variable_is_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let (out, home) = login().env("DOCKER_CONFIG", dir.path()).run_with_home();
    no_secret(&out);
    let doc = out.success();
    let config = dir.path().join("config.json");
    assert!(config.exists());
    assert_eq!(
        doc["registry"]["credentialsIn"],
        config.display().to_string()
    );
    // The login as ecr-login writes it: base64 of `AWS:<password>` under
    // the host alone, with its expiry beside it. Compared without
    // printing it: a failure must not show the secret.
    let written = read_json(&config);
    let entry = &written["auths"][HOST];
    assert!(
        entry.is_object(),
        "no auths entry for {HOST}; hosts: {:?}",
        written["auths"]
            .as_object()
            .map(|m| m.keys().collect::<Vec<_>>())
    );
    assert!(
        entry["auth"].as_str() == Some(b64(&format!("AWS:{ACCOUNT}-auth-token")).as_str()),
        "auths[{HOST}].auth is not base64 of AWS:<moto's password>"
    );
    assert_eq!(entry["ecrLoginExpiresAt"], MOTO_EXPIRY);
    let keys: Vec<&String> = entry.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["auth", "ecrLoginExpiresAt", "ecrLoginDefault"]);
    assert!(!config_in(home.path()).exists(), "HOME/.docker left alone");
}

#[test]
fn an_existing_config_keeps_every_other_key_in_value_and_order() {
    let tool = login();
    let config = config_in(tool.home());
    let before = r#"{
	"auths": {
		"ghcr.io": {"auth": "dXNlcjpwYXNz"},
		"123456789012.dkr.ecr.us-east-1.amazonaws.com": {"auth": "b2xkOm9sZA==", "email": "keep-me"},
		"registry.example:5000": {"auth": "YTpi"}
	},
	"credHelpers": {"gcr.io": "gcloud"},
	"credsStore": "desktop",
	"currentContext": "colima",
	"plugins": {"buildx": {"x": [1, 2]}}
}"#;
    std::fs::write(&config, before).unwrap();
    let (out, _home) = tool.run_with_home();
    no_secret(&out);
    out.success();
    let after = read_json(&config);
    let before: Value = serde_json::from_str(before).unwrap();
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        keys(&after),
        keys(&before),
        "top-level keys and their order"
    );
    assert_eq!(
        keys(&after["auths"]),
        keys(&before["auths"]),
        "auths and their order"
    );
    for key in ["credHelpers", "credsStore", "currentContext", "plugins"] {
        assert_eq!(after[key], before[key], "{key}");
    }
    assert_eq!(after["auths"]["ghcr.io"], before["auths"]["ghcr.io"]);
    assert_eq!(
        after["auths"]["registry.example:5000"],
        before["auths"]["registry.example:5000"]
    );
    assert_eq!(
        after["auths"][HOST],
        json!({"auth": b64("AWS:123456789012-auth-token"), "email": "keep-me", "ecrLoginExpiresAt": MOTO_EXPIRY, "ecrLoginDefault": true})
    );
}

#[test]
fn password_stdout_prints_the_password_alone_and_writes_nothing() {
    let (out, home) = login()
        .args(["--password-stdout"])
        .prints_secret()
        .run_with_home();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "123456789012-auth-token\n");
    assert!(!out.stderr.contains("auth-token"), "{}", out.stderr);
    assert!(!config_in(home.path()).exists());
}

#[test]
fn password_stdout_takes_one_registry() {
    let out = login()
        .args([
            "--password-stdout",
            "--region",
            "us-east-1",
            "--region",
            "eu-west-1",
        ])
        .run();
    assert!(
        out.failure_without_object(2)
            .contains("--password-stdout prints one password"),
        "{}",
        out.stderr
    );
}

#[test]
fn credential_helper_get_answers_as_docker_expects() {
    let out = login()
        .args(["credential-helper", "get"])
        .prints_secret()
        .stdin(format!("https://{HOST}\n"))
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.json(),
        json!({"ServerURL": format!("https://{HOST}"), "Username": "AWS", "Secret": "123456789012-auth-token"})
    );
    assert!(!out.stderr.contains("auth-token"));
}

#[cfg(unix)]
#[test]
fn credential_helper_answers_under_the_docker_credential_name() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("docker-credential-ecr-login");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_ecr-login"), &link).unwrap();
    let out = deploy_tests::tool(&link)
        .aws()
        .args(["get"])
        .stdin("210987654321.dkr.ecr.eu-west-1.amazonaws.com")
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.json()["Secret"], "210987654321-auth-token");
    let out = deploy_tests::tool(&link).args(["list"]).run();
    assert_eq!((out.code, out.stdout.as_str()), (0, "{}\n"));
    let out = deploy_tests::tool(&link)
        .args(["store"])
        .stdin(r#"{"ServerURL": "x", "Username": "u", "Secret": "s"}"#)
        .run();
    assert_eq!((out.code, out.stdout.as_str()), (0, ""));
}

/// Docker's client looks for this exact text on stdout to go on without
/// credentials; the reason goes to stderr.
#[test]
fn credential_helper_answers_not_found_for_a_host_that_is_not_ecr() {
    let out = login()
        .args(["credential-helper", "get"])
        .stdin("https://ghcr.io/v2/")
        .run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(out.stdout, "credentials not found in native keychain\n");
    assert!(
        out.stderr.contains("ghcr.io is not an Amazon ECR registry"),
        "{}",
        out.stderr
    );
}

#[test]
fn credential_helper_never_repeats_what_came_on_stdin() {
    let out = login()
        .args(["credential-helper", "get"])
        .stdin(r#"{"ServerURL": "ghcr.io", "Username": "AWS", "Secret": "s3cr3t"}"#)
        .run();
    assert_eq!(out.code, 1);
    assert!(
        !out.stderr.contains("s3cr3t") && !out.stdout.contains("s3cr3t"),
        "{}",
        out.stderr
    );
}

/// Its stdin is a server URL, not the pipe's object: an `error` there is
/// not an upstream failure to pass on.
#[test]
fn credential_helper_is_outside_the_pipe() {
    let out = login()
        .args(["credential-helper", "get"])
        .stdin(r#"{"error": {"tool": "x", "message": "m", "exitCode": 3}}"#)
        .run();
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (1, "credentials not found in native keychain\n")
    );
}

#[test]
fn github_output_gets_the_registry() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("out");
    std::fs::write(&file, "earlier=1\n").unwrap();
    let out = login()
        .env("GITHUB_OUTPUT", &file)
        .args(["--region", "us-east-1", "--region", "eu-west-1"])
        .run();
    no_secret(&out);
    out.success();
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        format!(
            "earlier=1\nregistry={HOST}\nregistries=[\"{HOST}\",\"123456789012.dkr.ecr.eu-west-1.amazonaws.com\"]\n"
        )
    );
}

/// A login an earlier run stored, valid for two more hours.
fn stored_login(tool: &Tool, valid_for: i64) -> PathBuf {
    let config = config_in(tool.home());
    let expiry = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        + valid_for;
    std::fs::write(
        &config,
        serde_json::to_vec(&json!({"auths": {HOST: {"auth": b64("AWS:stored-token"), "ecrLoginExpiresAt": expiry, "ecrLoginDefault": true}}})).unwrap(),
    )
    .unwrap();
    config
}

#[test]
fn min_validity_reuses_a_login_still_valid_without_calling_aws() {
    // An endpoint where nothing listens: a call would fail the run.
    let tool = login().env("AWS_ENDPOINT_URL", "http://127.0.0.1:1");
    let config = stored_login(&tool, 7200);
    let before = std::fs::read(&config).unwrap();
    let (out, _home) = tool.args(["--min-validity", "1h"]).run_with_home();
    assert!(!out.stdout.contains("stored-token") && !out.stderr.contains("stored-token"));
    assert_eq!(out.success()["registry"]["endpoint"], HOST);
    assert!(
        out.stderr.contains(&format!("reused the login to {HOST}")),
        "{}",
        out.stderr
    );
    assert_eq!(std::fs::read(&config).unwrap(), before, "nothing rewritten");
}

/// A login stored for a registry asked by id is not the caller's own.
#[test]
fn min_validity_never_takes_another_registrys_login_for_the_callers_own() {
    let tool = login();
    let config = config_in(tool.home());
    std::fs::write(
        &config,
        serde_json::to_vec(&json!({"auths": {"210987654321.dkr.ecr.us-east-1.amazonaws.com": {"auth": b64("AWS:other"), "ecrLoginExpiresAt": 9_999_999_999i64}}})).unwrap(),
    )
    .unwrap();
    let (out, _home) = tool.args(["--min-validity", "1h"]).run_with_home();
    no_secret(&out);
    assert_eq!(out.success()["registry"]["endpoint"], HOST);
}

#[test]
fn min_validity_logs_in_again_when_the_stored_login_is_too_short() {
    let tool = login();
    let config = stored_login(&tool, 7200);
    let (out, _home) = tool.args(["--min-validity", "3h"]).run_with_home();
    no_secret(&out);
    out.success();
    assert_eq!(
        read_json(&config)["auths"][HOST]["auth"],
        b64("AWS:123456789012-auth-token")
    );
}

#[test]
fn a_malformed_registry_id_is_refused_before_any_call() {
    let out = login()
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
        .args(["--registry-id", "12345"])
        .run();
    assert!(
        out.failure(2)
            .contains("--registry-id: expected an AWS account id, 12 digits"),
        "{}",
        out.stderr
    );
    // An account id is no secret: the message says which value is wrong.
    assert!(out.stderr.contains("got \"12345\""), "{}", out.stderr);
}

/// A long value is no account id but may be a token pasted in the wrong
/// place: its length is said, not the value.
#[test]
fn a_registry_id_too_long_to_be_one_is_not_repeated() {
    let token = "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY";
    let out = login()
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
        .args(["--registry-id", token])
        .run();
    assert!(
        out.failure(2).contains("a value of 38 characters"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains(token), "{}", out.stderr);
    assert!(!out.stdout.contains(token), "{}", out.stdout);
}

#[test]
fn an_unknown_flag_is_a_usage_error_in_the_toolkit_form() {
    let out = login().args(["--no-such-flag"]).run();
    assert!(
        out.failure(2)
            .starts_with("ecr-login: unexpected argument '--no-such-flag'"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_malformed_docker_config_is_refused_before_any_call_and_left_as_it_was() {
    let tool = login().env("AWS_ENDPOINT_URL", "http://127.0.0.1:1");
    let config = config_in(tool.home());
    let before = b"{\"auths\": {\"ghcr.io\": {\"auth\": \"s3cr3t\"},}\n";
    std::fs::write(&config, before).unwrap();
    let (out, _home) = tool.run_with_home();
    let err = out.failure(2);
    assert!(
        err.contains(&config.display().to_string()) && err.contains("line 1"),
        "{err}"
    );
    assert!(!err.contains("s3cr3t"), "{err}");
    assert_eq!(std::fs::read(&config).unwrap(), before);
}

#[test]
fn an_unwritable_docker_config_dir_is_refused_before_any_call() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let out = login()
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
        .args(["--docker-config", file.join("docker").to_str().unwrap()])
        .run();
    let err = out.failure(2);
    assert!(
        err.contains(&file.join("docker").display().to_string()),
        "{err}"
    );
}

#[test]
fn an_unwritable_github_output_is_refused_before_any_call() {
    let dir = tempfile::tempdir().unwrap();
    let (out, home) = login()
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
        .env("GITHUB_OUTPUT", dir.path())
        .run_with_home();
    assert!(out.failure(2).contains("$GITHUB_OUTPUT"), "{}", out.stderr);
    assert!(!config_in(home.path()).exists());
}

#[test]
fn two_runs_at_once_keep_both_logins() {
    let dir = tempfile::tempdir().unwrap();
    let runs: Vec<_> = ["us-east-1", "eu-west-1", "us-west-2", "ap-south-1"]
        .into_iter()
        .map(|region| {
            let config = dir.path().to_path_buf();
            std::thread::spawn(move || {
                login()
                    .env("DOCKER_CONFIG", &config)
                    .args(["--region", region])
                    .run()
            })
        })
        .collect();
    for run in runs {
        run.join().unwrap().success();
    }
    let auths = read_json(dir.path().join("config.json"))["auths"].clone();
    assert_eq!(auths.as_object().unwrap().len(), 4, "{auths}");
}

#[test]
fn a_host_whose_helper_is_ecr_login_gets_no_stored_secret() {
    let tool = login();
    let config = config_in(tool.home());
    std::fs::write(
        &config,
        serde_json::to_vec(&json!({"credHelpers": {HOST: "ecr-login"}})).unwrap(),
    )
    .unwrap();
    let (out, _home) = tool.run_with_home();
    no_secret(&out);
    out.success();
    assert_eq!(
        read_json(&config),
        json!({"credHelpers": {HOST: "ecr-login"}})
    );
    assert!(
        out.stderr
            .contains("uses ecr-login as its credential helper"),
        "{}",
        out.stderr
    );
}

#[test]
fn no_credentials_at_all_is_one_readable_failure() {
    let out = deploy_tests::tool(env!("CARGO_BIN_EXE_ecr-login"))
        .env("AWS_ENDPOINT_URL", &deploy_tests::emulators().endpoint)
        .args(["--region", "us-east-1"])
        .run();
    let err = out.failure(1);
    assert!(
        err.contains("no AWS credentials found; the providers tried:"),
        "{err}"
    );
    for source in ["Environment", "Profile", "WebIdentityToken"] {
        assert!(err.contains(source), "names {source}: {err}");
    }
    assert!(!err.contains("DispatchFailure"), "no debug dump: {err}");
}

#[test]
fn an_upstream_failure_is_passed_on_without_logging_in() {
    let (out, home) = login()
        .stdin(r#"{"error": {"tool": "x", "message": "m", "exitCode": 1}}"#)
        .run_with_home();
    out.failure_report(1);
    assert!(!config_in(home.path()).exists());
}

/// `flock DOCKER_CONFIG/config.json.lock COMMAND` in the background, as
/// another writer holding the lock, then ecr-login: the shell script that
/// runs both.
fn with_lock_held_for(seconds: u32) -> String {
    format!(
        "flock \"$DOCKER_CONFIG/config.json.lock\" sleep {seconds} </dev/null >/dev/null 2>&1 & \
         while [ ! -e \"$DOCKER_CONFIG/config.json.lock\" ]; do sleep 0.05; done; sleep 0.3; \
         exec {} --region us-east-1",
        env!("CARGO_BIN_EXE_ecr-login")
    )
}

#[test]
fn a_lock_held_by_another_writer_is_waited_for_and_said() {
    let out = deploy_tests::tool("bash")
        .aws()
        .args(["-c", &with_lock_held_for(4)])
        .timeout(Duration::from_secs(30))
        .run();
    let doc = out.success();
    assert!(doc["registry"]["endpoint"].is_string(), "{doc}");
    assert!(
        out.stderr.contains(
            "ecr-login: waiting for the lock on "
        ) && out.stderr.contains("config.json.lock: another process (ecr-login, docker login) is writing the Docker config; giving up after 30s"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_lock_held_past_thirty_seconds_is_exit_1() {
    let out = deploy_tests::tool("bash")
        .aws()
        .args(["-c", &with_lock_held_for(45)])
        .timeout(Duration::from_secs(60))
        .run();
    let err = out.failure(1);
    assert!(err.contains("another process has held it for 30s"), "{err}");
}
