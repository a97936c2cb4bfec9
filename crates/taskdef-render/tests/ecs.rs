//! `--family`: the task definition fetched from ECS (moto server, started
//! by `make test`), with its tags, and AWS failures reported readably.

mod common;

use common::{READ_ONLY, fixture, render, writable_leaves};
use deploy_tests::{moto_ecs, read_json, unique};
use serde_json::{Value, json};

/// Registers the realistic fixture in moto under a fresh family name.
fn register(revisions: usize) -> (String, Value) {
    let family = unique("app");
    let fixture = read_json(fixture("describe-app.json"));
    // The definition as a user would register it: our own render of the fixture.
    let out = render()
        .args(["-t", "-", "--jq", ".family = $f", "--arg", "f", &family])
        .stdin_json(&fixture)
        .run();
    let input = out.success()["taskDefinition"].clone();
    for _ in 0..revisions {
        moto_ecs("RegisterTaskDefinition", &input);
    }
    (family, input)
}

#[test]
fn family_fetches_the_registered_definition_with_tags() {
    let (family, _) = register(1);
    let described = moto_ecs(
        "DescribeTaskDefinition",
        &json!({"taskDefinition": family, "include": ["TAGS"]}),
    );

    let out = render()
        .aws()
        .args([
            "--family",
            &family,
            "--container",
            "web",
            "--image",
            "web:2",
        ])
        .run();
    let doc = out.success();
    let td = &doc["taskDefinition"];

    // Everything ECS sent back is there, as it sent it, except the read-only
    // fields and the one edit.
    let want: Vec<_> = writable_leaves(&described["taskDefinition"], true)
        .into_iter()
        .map(|(p, v)| {
            if p == "containerDefinitions[0].image" {
                (p, json!("web:2"))
            } else {
                (p, v)
            }
        })
        .collect();
    let got = writable_leaves(td, false);
    assert_eq!(got, want);
    assert!(
        want.len() > 40,
        "moto kept too little to prove anything: {}",
        want.len()
    );
    for field in READ_ONLY {
        assert!(td.get(field).is_none(), "{field}");
    }
    assert_eq!(
        td["tags"],
        json!([{"key": "team", "value": "payments"}, {"key": "cost-center", "value": "cc-42"}])
    );
    assert_eq!(td["family"], family);
}

/// Two revisions that differ (image `web:rev1`, then `web:rev2`), so that
/// fetching the wrong one shows.
fn register_two_revisions() -> String {
    let (family, input) = register(0);
    for rev in ["rev1", "rev2"] {
        let mut td = input.clone();
        td["containerDefinitions"][0]["image"] = json!(format!("web:{rev}"));
        moto_ecs("RegisterTaskDefinition", &td);
    }
    family
}

#[test]
fn family_with_revision_fetches_that_revision() {
    let family = register_two_revisions();
    let image = |out: &deploy_tests::Output| {
        out.success()["taskDefinition"]["containerDefinitions"][0]["image"].clone()
    };

    let out = render()
        .aws()
        .args(["--family", &format!("{family}:1")])
        .run();
    assert_eq!(image(&out), "web:rev1");
    let out = render().aws().args(["--family", &family]).run();
    assert_eq!(image(&out), "web:rev2", "no revision: the latest");
}

#[test]
fn family_as_an_arn_fetches_that_revision() {
    let family = register_two_revisions();
    let arn = format!(
        "arn:aws:ecs:{}:123456789012:task-definition/{family}:1",
        deploy_tests::emulators().region
    );
    let out = render().aws().args(["--family", &arn]).run();
    assert_eq!(
        out.success()["taskDefinition"]["containerDefinitions"][0]["image"],
        "web:rev1"
    );
}

#[test]
fn unknown_family_is_an_aws_failure_said_in_one_line() {
    let out = render().aws().args(["--family", &unique("missing")]).run();
    let err = out.failure(1);
    // What was being done, and the action an IAM policy must allow.
    assert!(err.contains("describing task definition"), "{err}");
    assert!(err.contains("(ecs:DescribeTaskDefinition)"), "{err}");
    assert!(err.contains("ClientException"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "no raw HTTP dump: {err}");
}

/// A TCP endpoint that counts the connections made to it and closes each
/// at once: the endpoint of a run that must send nothing.
struct Listener {
    url: String,
    count: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Listener {
    fn new() -> Self {
        let socket = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", socket.local_addr().unwrap());
        let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let seen = count.clone();
        std::thread::spawn(move || {
            for stream in socket.incoming() {
                seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                drop(stream);
            }
        });
        Listener { url, count }
    }

    fn connections(&self) -> usize {
        self.count.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// A run with an endpoint and keys, and no region from anywhere.
fn keys_only(endpoint: &str) -> deploy_tests::Tool {
    render()
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
}

#[test]
fn no_region_is_a_usage_error_before_any_call() {
    let listener = Listener::new();
    let out = keys_only(&listener.url).args(["--family", "web"]).run();
    assert!(
        out.failure(2).contains("no AWS region: pass --region"),
        "{}",
        out.stderr
    );
    assert_eq!(listener.connections(), 0, "a request was sent");
}

/// The listener above does see a call when one is made, so its zero means
/// something.
#[test]
fn the_listener_sees_a_call_when_one_is_made() {
    let listener = Listener::new();
    let out = keys_only(&listener.url)
        .env("AWS_MAX_ATTEMPTS", "1")
        .env("AWS_REGION", "us-east-1")
        .args(["--family", "web"])
        .run();
    // The listener closes the connection: the call fails.
    out.failure(1);
    assert!(
        listener.connections() >= 1,
        "no request reached the listener"
    );
}

#[test]
fn region_flag_is_enough() {
    let (family, _) = register(1);
    let out = keys_only(&deploy_tests::emulators().endpoint)
        .args([
            "--family",
            &family,
            "--region",
            &deploy_tests::emulators().region,
        ])
        .run();
    assert_eq!(out.success()["taskDefinition"]["family"], family);
}

#[test]
fn unreachable_endpoint_is_a_failure_without_a_debug_dump() {
    let out = render()
        .aws()
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
        .args(["--family", "web"])
        .run();
    let err = out.failure(1);
    assert!(
        err.contains("could not send the request") && err.contains("onnection refused"),
        "{err}"
    );
    assert!(!err.contains("DispatchFailure {"), "{err}");
}

#[test]
fn profile_flag_picks_region_and_credentials_from_the_config_file() {
    let (family, _) = register(1);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    std::fs::write(
        &config,
        format!(
            "[profile ci]\nregion = {}\naws_access_key_id = from-profile\naws_secret_access_key = from-profile\n",
            deploy_tests::emulators().region
        ),
    )
    .unwrap();
    // No AWS_REGION and no keys in the environment: only the profile has them.
    let out = render()
        .env("AWS_ENDPOINT_URL", &deploy_tests::emulators().endpoint)
        .env("AWS_CONFIG_FILE", &config)
        .args(["--family", &family, "--profile", "ci"])
        .run();
    assert_eq!(out.success()["taskDefinition"]["family"], family);
    // A profile that is not there is a clear failure, not a hang.
    let out = render()
        .env("AWS_ENDPOINT_URL", &deploy_tests::emulators().endpoint)
        .env("AWS_CONFIG_FILE", &config)
        .args([
            "--family",
            &family,
            "--profile",
            "nope",
            "--region",
            "us-east-1",
        ])
        .run();
    let err = out.failure(1);
    assert!(err.contains("no AWS credentials found"), "{err}");
    assert!(err.contains("profile `nope` was not defined"), "{err}");
}
