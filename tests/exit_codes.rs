//! Every exit code each tool can return, one canonical case a pair, all in
//! one place: the real binary against the emulators (moto for ECS and ECR,
//! the local registries for pushes, the scripted ECS endpoint for a
//! rollback moto cannot play), the exact code and what the run printed.
//!
//! | tool           | 0 success | 1 failed                  | 2 usage / input            | 3 wait ran out       |
//! | -------------- | --------- | ------------------------- | -------------------------- | -------------------- |
//! | ecr-login      | logged in | ECR refused               | malformed --registry-id    | -                    |
//! | oci-push       | pushed    | registry refused (401)    | corrupt blob mid-stream    | -                    |
//! | taskdef-render | rendered  | ECS refused --family      | two containers, no -c      | -                    |
//! | ecs-deploy     | deployed  | ECS refused the family    | unknown field, nothing reg.| --wait --timeout     |
//! | ecs-wait       | deployed  | circuit-breaker rollback  | nothing to wait for        | --timeout            |
//! | ecs-run        | exit 0    | container exit 3          | --container not in the def.| --timeout            |
//!
//! ecr-login, oci-push and taskdef-render never wait, so never make a 3 of
//! their own (any tool passes an upstream `error`'s code on, 3 included:
//! that is the stream contract, tested in tests/failsafe.rs).

use std::time::Duration;

use deploy_tests::images::{Compression, Image, oci_layout};
use deploy_tests::scripted::ScriptedEcs;
use deploy_tests::{Output, Tool, emulators, moto_calls, moto_ecs, read_json, root, unique};
use serde_json::{Value, json};

/// moto's ECR registry for the default account and region.
use deploy_tests::ECR;

fn bin(name: &str) -> Tool {
    deploy_tests::tool(deploy_tests::workspace_bin(name))
}

/// `error.tool` and `error.message` of a failure report, the message
/// checked to hold every one of `parts`.
#[track_caller]
fn error_says(doc: &Value, tool: &str, parts: &[&str]) {
    assert_eq!(doc["error"]["tool"], tool, "{doc}");
    let message = doc["error"]["message"].as_str().unwrap_or_default();
    for part in parts {
        assert!(message.contains(part), "{part:?} not in {message:?}");
    }
}

/// A fresh family registered in moto from examples/task-definition.json.
fn family() -> String {
    let family = unique("exit");
    let mut td = read_json(root().join("examples/task-definition.json"));
    td["family"] = json!(family);
    moto_ecs("RegisterTaskDefinition", &td);
    family
}

/// A cluster of its own whose service `web` runs `family` and wants
/// `desired` tasks (moto: 1 is COMPLETED at once, 2 stays IN_PROGRESS).
fn cluster_with_web(family: &str, desired: u32) -> String {
    let cluster = unique("exit");
    moto_ecs("CreateCluster", &json!({"clusterName": cluster}));
    moto_ecs(
        "CreateService",
        &json!({"cluster": cluster, "serviceName": "web", "taskDefinition": family, "desiredCount": desired}),
    );
    cluster
}

// ---------------------------------------------------------------- ecr-login

#[test]
fn ecr_login_exits_0_when_it_logs_in() {
    let (out, home) = bin("ecr-login").aws().run_with_home();
    let doc = out.success();
    assert_eq!(doc["registry"]["endpoint"], ECR);
    let config = read_json(home.path().join(".docker/config.json"));
    assert!(config["auths"][ECR]["auth"].is_string(), "no login stored");
}

/// An endpoint that answers GetAuthorizationToken with an AWS error (the
/// scripted ECS endpoint knows no ECR action: UnknownOperationException).
#[test]
fn ecr_login_exits_1_when_ecr_refuses() {
    let ecs = ScriptedEcs::start("circuit-breaker-rollback");
    let out = ecs.point(bin("ecr-login")).run();
    out.failure(1);
    error_says(
        &out.json(),
        "ecr-login",
        &["GetAuthorizationToken", "UnknownOperationException"],
    );
}

#[test]
fn ecr_login_exits_2_on_a_malformed_registry_id() {
    // An endpoint with nothing behind it: a call would be exit 1.
    let out = bin("ecr-login")
        .aws()
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
        .args(["--registry-id", "12345"])
        .run();
    out.failure(2);
    error_says(&out.json(), "ecr-login", &["--registry-id"]);
}

// ----------------------------------------------------------------- oci-push

fn oci_push() -> Tool {
    bin("oci-push")
}

#[test]
fn oci_push_exits_0_when_it_pushes() {
    let dir = tempfile::tempdir().unwrap();
    let digests = oci_layout(
        dir.path(),
        &[("v1", &Image::small("exit-0"))],
        Compression::Gzip,
    );
    let to = format!("{}/{}", emulators().registry, unique("exit"));
    let doc = oci_push()
        .args([
            "--from",
            dir.path().to_str().unwrap(),
            "--to",
            &to,
            "--tag",
            "1",
        ])
        .run()
        .success();
    assert_eq!(doc["image"]["digest"], digests[0]);
    assert_eq!(doc["image"]["uri"], format!("{to}@{}", digests[0]));
}

/// The htpasswd registry refuses a wrong password: exit 1 naming the
/// registry, and stdout has nothing of the password read on stdin.
#[test]
fn oci_push_exits_1_when_the_registry_refuses() {
    let dir = tempfile::tempdir().unwrap();
    oci_layout(
        dir.path(),
        &[("v1", &Image::small("exit-1"))],
        Compression::Gzip,
    );
    let emu = emulators();
    let to = format!("{}/{}", emu.registry_auth, unique("exit"));
    let out = oci_push()
        .args([
            "--from",
            dir.path().to_str().unwrap(),
            "--to",
            &to,
            "--tag",
            "1",
        ])
        .args(["--username", &emu.registry_user, "--password-stdin"])
        .stdin("not-the-password\n")
        .run();
    out.failure_unechoed(1);
    error_says(&out.json(), "oci-push", &[&emu.registry_auth]);
    assert!(!out.stdout.contains("not-the-password"));
}

/// A layer that streams for 4 MiB before its last byte shows it is not
/// what its digest says: exit 2, and the message says what did not go up
/// (no manifest, no tag); the registry holds neither, nor the bad blob.
#[test]
fn oci_push_exits_2_on_a_corrupt_blob_found_mid_stream() {
    // xorshift noise: gzip cannot shrink it, so the blob stays 4 MiB.
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let noise: Vec<u8> = (0..4 << 20)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect();
    let image = Image::new(&[&[("etc/os-release", b"NAME=test\n")], &[("big", &noise)]]);
    let dir = tempfile::tempdir().unwrap();
    let digests = oci_layout(dir.path(), &[("v1", &image)], Compression::Gzip);
    let blob = |digest: &str| {
        dir.path()
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:"))
    };
    let manifest = read_json(blob(&digests[0]));
    let layer = manifest["layers"][1]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let mut bytes = std::fs::read(blob(&layer)).unwrap();
    assert!(bytes.len() > 4 << 20, "the layer is big: {}", bytes.len());
    *bytes.last_mut().unwrap() ^= 0xff;
    std::fs::write(blob(&layer), bytes).unwrap();

    let repository = unique("exit");
    let to = format!("{}/{repository}", emulators().registry);
    let out = oci_push()
        .args([
            "--from",
            dir.path().to_str().unwrap(),
            "--to",
            &to,
            "--tag",
            "1",
            // One blob at a time, config first: it is in the registry
            // before the corrupt layer is found.
            "--jobs",
            "1",
        ])
        .run();
    out.failure(2);
    error_says(
        &out.json(),
        "oci-push",
        &[
            &format!("blob {layer} does not match its digest"),
            "no manifest or tag was pushed",
            // Exit 2 promises no manifest and no tag, not that nothing
            // was sent: the message says what was.
            &format!("uploaded to {to}, which no manifest names"),
        ],
    );
    // Found mid-stream: its upload was under way when the check failed.
    let requests = deploy_tests::registry_requests(&repository);
    assert!(
        requests.iter().any(|r| r.contains("/blobs/uploads/")),
        "no upload was started: {requests:?}"
    );
    let registry = emulators().registry.clone();
    let status = |path: &str| {
        deploy_tests::tool("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-I"])
            .args([format!("http://{registry}/v2/{repository}/{path}")])
            .run()
            .stdout
    };
    assert_eq!(status("manifests/1"), "404", "the tag");
    assert_eq!(
        status(&format!("manifests/{}", digests[0])),
        "404",
        "the manifest"
    );
    assert_eq!(status(&format!("blobs/{layer}")), "404", "the corrupt blob");
    let config = manifest["config"]["digest"].as_str().unwrap();
    assert_eq!(
        status(&format!("blobs/{config}")),
        "200",
        "the config, uploaded before, as the message says"
    );
}

// ----------------------------------------------------------- taskdef-render

fn two_containers() -> Value {
    json!({"taskDefinition": {"family": "f", "containerDefinitions": [
        {"name": "a", "image": "i"}, {"name": "b", "image": "i"}]}})
}

#[test]
fn taskdef_render_exits_0_when_it_renders() {
    let doc = bin("taskdef-render")
        .args(["--container", "b", "--image", "r.example/b:2"])
        .stdin_json(&two_containers())
        .run()
        .success();
    let containers = &doc["taskDefinition"]["containerDefinitions"];
    assert_eq!(containers[1]["image"], "r.example/b:2");
    assert_eq!(containers[0]["image"], "i");
}

#[test]
fn taskdef_render_exits_1_when_ecs_refuses() {
    let missing = unique("missing");
    let out = bin("taskdef-render")
        .aws()
        .args(["--family", &missing])
        .run();
    out.failure(1);
    error_says(
        &out.json(),
        "taskdef-render",
        &[
            &format!("describing task definition {missing:?} (ecs:DescribeTaskDefinition)"),
            "ClientException",
        ],
    );
}

#[test]
fn taskdef_render_exits_2_when_the_container_is_ambiguous() {
    let out = bin("taskdef-render")
        .args(["--image", "r.example/x:1"])
        .stdin_json(&two_containers())
        .run();
    out.failure(2);
    error_says(&out.json(), "taskdef-render", &["--container"]);
}

// --------------------------------------------------------------- ecs-deploy

fn ecs_deploy() -> Tool {
    bin("ecs-deploy").aws()
}

#[test]
fn ecs_deploy_exits_0_when_it_deploys() {
    let family = family();
    let cluster = cluster_with_web(&family, 1);
    let doc = ecs_deploy()
        .args([
            "--family",
            &format!("{family}:1"),
            "--cluster",
            &cluster,
            "--service",
            "web",
        ])
        .run()
        .success();
    let arn = doc["taskDefinition"]["taskDefinitionArn"].as_str().unwrap();
    assert!(arn.ends_with(&format!("/{family}:1")), "{arn}");
    assert_eq!(doc["service"]["taskDefinition"], arn);
}

/// ECS has no such revision: DescribeTaskDefinition is refused, exit 1.
#[test]
fn ecs_deploy_exits_1_when_ecs_refuses() {
    let family = family();
    let cluster = cluster_with_web(&family, 1);
    let out = ecs_deploy()
        .args([
            "--family",
            &format!("{family}:9"),
            "--cluster",
            &cluster,
            "--service",
            "web",
        ])
        .run();
    out.failure(1);
    error_says(
        &out.json(),
        "ecs-deploy",
        &[
            &format!("{family}:9"),
            "(ecs:DescribeTaskDefinition): ClientException",
        ],
    );
}

/// A field the ECS model does not know: exit 2 naming its path, and no
/// RegisterTaskDefinition of that family reached moto.
#[test]
fn ecs_deploy_exits_2_on_an_unknown_field_and_registers_nothing() {
    let family = unique("exit");
    let td = json!({"family": family, "containerDefinitions": [
        {"name": "web", "image": "i", "memory": 128, "colour": "blue"}]});
    let out = ecs_deploy()
        .stdin_json(&json!({"taskDefinition": td}))
        .run();
    out.failure(2);
    error_says(
        &out.json(),
        "ecs-deploy",
        &["containerDefinitions[0].colour"],
    );
    let sent = moto_calls("ecs", "RegisterTaskDefinition")
        .into_iter()
        .filter(|b| b["family"] == family.as_str())
        .count();
    assert_eq!(sent, 0, "nothing registered");
}

/// moto never finishes a rollout of two tasks: --wait gives up at its
/// --timeout with exit 3 and ecs-wait's report in the object.
#[test]
fn ecs_deploy_exits_3_when_its_wait_times_out() {
    let family = family();
    let cluster = cluster_with_web(&family, 2);
    let out = ecs_deploy()
        .args([
            "--family",
            &format!("{family}:1"),
            "--cluster",
            &cluster,
            "--service",
            "web",
        ])
        .args(["--wait", "--timeout", "3s"])
        .run();
    let doc = out.failure_report(3);
    error_says(&doc, "ecs-deploy", &["(--timeout)"]);
    assert_eq!(doc["wait"]["status"], "timeout");
    assert_eq!(doc["service"]["serviceName"], "web");
}

// ----------------------------------------------------------------- ecs-wait

fn ecs_wait() -> Tool {
    bin("ecs-wait").aws()
}

#[test]
fn ecs_wait_exits_0_when_the_rollout_is_done() {
    let cluster = cluster_with_web(&family(), 1);
    let doc = ecs_wait()
        .args(["--cluster", &cluster, "--service", "web", "--timeout", "1m"])
        .run()
        .success();
    assert_eq!(doc["wait"]["status"], "deployed");
}

/// ECS rolls the deployment back (circuit breaker), on the scripted
/// endpoint: exit 1, the reason in the report.
#[test]
fn ecs_wait_exits_1_when_ecs_rolls_the_deployment_back() {
    let ecs = ScriptedEcs::start("circuit-breaker-rollback");
    let out = ecs
        .point(ecs_wait())
        .args(["--cluster", "prod", "--service", "web", "--timeout", "1m"])
        .timeout(Duration::from_secs(30))
        .run();
    let doc = out.failure_report(1);
    error_says(&doc, "ecs-wait", &["ROLLBACK_SUCCESSFUL"]);
    assert_eq!(doc["wait"]["status"], "failed");
    assert_eq!(doc["wait"]["state"], "ROLLBACK_SUCCESSFUL");
}

#[test]
fn ecs_wait_exits_2_when_there_is_nothing_to_wait_for() {
    let out = ecs_wait().stdin_json(&json!({"image": {}})).run();
    out.failure(2);
    error_says(&out.json(), "ecs-wait", &["nothing to wait for"]);
}

#[test]
fn ecs_wait_exits_3_when_the_rollout_outlasts_the_timeout() {
    let cluster = cluster_with_web(&family(), 2);
    let out = ecs_wait()
        .args(["--cluster", &cluster, "--service", "web", "--timeout", "3s"])
        .run();
    let doc = out.failure_report(3);
    error_says(&doc, "ecs-wait", &["after 3s (--timeout)"]);
    assert_eq!(doc["wait"]["status"], "timeout");
    assert_eq!(doc["wait"]["state"], "IN_PROGRESS");
}

// ------------------------------------------------------------------ ecs-run

/// A cluster, and a Fargate one-off definition `migrate` (no logs): (cluster, family).
fn migration() -> (String, String) {
    let cluster = unique("exit-run");
    let family = unique("exit-mig");
    moto_ecs("CreateCluster", &json!({"clusterName": cluster}));
    moto_ecs(
        "RegisterTaskDefinition",
        &json!({"family": family, "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
            "cpu": "256", "memory": "512",
            "containerDefinitions": [{"name": "migrate", "image": "r.example/app:1", "memory": 512,
                "essential": true}]}),
    );
    (cluster, family)
}

fn ecs_run(cluster: &str, family: &str, extra: &[&str]) -> Output {
    let (subnet, group) = deploy_tests::default_network();
    bin("ecs-run")
        .aws()
        .args(["--cluster", cluster, "--family", &format!("{family}:1")])
        .args([
            "--launch-type",
            "FARGATE",
            "--subnet",
            &subnet,
            "--security-group",
            &group,
        ])
        .args(["--interval", "100ms", "--no-logs"])
        .args(extra)
        .run()
}

#[test]
fn ecs_run_exits_0_when_the_task_exits_0() {
    let (cluster, family) = migration();
    let doc = ecs_run(&cluster, &family, &[]).success();
    assert_eq!(doc["task"]["lastStatus"], "STOPPED");
    assert_eq!(doc["task"]["containers"][0]["exitCode"], 0);
}

#[test]
fn ecs_run_exits_1_when_the_task_exits_non_zero() {
    let (cluster, family) = migration();
    let out = ecs_run(&cluster, &family, &["--command", "exit 3"]);
    let doc = out.failure_report(1);
    error_says(&doc, "ecs-run", &["container \"migrate\" exited with 3"]);
    assert_eq!(doc["task"]["containers"][0]["exitCode"], 3);
}

#[test]
fn ecs_run_exits_2_when_the_container_is_not_in_the_definition() {
    let (cluster, family) = migration();
    let out = ecs_run(&cluster, &family, &["--container", "worker"]);
    out.failure(2);
    error_says(&out.json(), "ecs-run", &["--container worker", "migrate"]);
    let ran = moto_calls("ecs", "RunTask")
        .into_iter()
        .filter(|b| b["cluster"] == cluster.as_str())
        .count();
    assert_eq!(ran, 0, "no task started");
}

#[test]
fn ecs_run_exits_3_when_the_task_outlasts_the_timeout() {
    let (cluster, family) = migration();
    let out = ecs_run(&cluster, &family, &["--timeout", "1ms"]);
    let doc = out.failure_report(3);
    error_says(&doc, "ecs-run", &["(--stop-on-timeout stops it)"]);
    assert!(doc["task"]["taskArn"].is_string(), "{doc}");
}
