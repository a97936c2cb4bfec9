//! ecs-wait as users run it: the real binary against moto, stdin in, JSON
//! out, exit code and stderr checked. moto never rolls out (NOTES): started
//! with MOTO_ECS_SERVICE_RUNNING=1 (scripts/emulators.sh), a service created
//! with desiredCount 1 is COMPLETED at once and one with 2 stays
//! IN_PROGRESS forever; so here the fallback (rolloutState) path runs.

use std::time::Duration;

use deploy_tests::{Stdout, Tool, moto_call_in, moto_ecs, read_json, root, unique};
use serde_json::{Value, json};

fn wait() -> Tool {
    deploy_tests::tool(env!("CARGO_BIN_EXE_ecs-wait")).aws()
}

/// A cluster of its own with service `web` wanting `desired` tasks:
/// (cluster, the service as CreateService answered).
fn service(desired: u32) -> (String, Value) {
    let cluster = unique("wait");
    moto_ecs("CreateCluster", &json!({"clusterName": cluster}));
    let mut td = read_json(root().join("examples/task-definition.json"));
    td["family"] = json!(unique("wait-web"));
    let arn =
        moto_ecs("RegisterTaskDefinition", &td)["taskDefinition"]["taskDefinitionArn"].clone();
    let created = moto_ecs(
        "CreateService",
        &json!({"cluster": cluster, "serviceName": "web", "taskDefinition": arn, "desiredCount": desired}),
    );
    (cluster, created["service"].clone())
}

#[test]
fn a_service_on_stdin_that_reached_its_count_is_deployed() {
    let (_, svc) = service(1);
    let out = wait()
        .stdin_json(&json!({"image": {"uri": "x"}, "service": svc}))
        .run();
    let doc = out.success();
    let keys: Vec<&String> = doc.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["image", "service", "wait"],
        "keys pass through, in order"
    );
    let w = &doc["wait"];
    let shape: Vec<&String> = w.as_object().unwrap().keys().collect();
    assert_eq!(
        shape,
        [
            "status",
            "service",
            "deployment",
            "source",
            "state",
            "reason",
            "lifecycleStage",
            "circuitBreaker",
            "alarms",
            "servingRevision",
            "elapsedSeconds",
            "events",
            "stoppedTasks"
        ],
        "the wait object's shape (README.md, \"The stream contract\"), every key present"
    );
    assert_eq!(w["status"], "deployed");
    assert_eq!(w["source"], "rolloutState");
    assert_eq!(w["state"], "COMPLETED");
    assert_eq!(w["deployment"], svc["deployments"][0]["id"]);
    assert_eq!(w["service"], svc["serviceArn"]);
    assert!(
        out.stderr.contains("web: deployed after 0s"),
        "{}",
        out.stderr
    );
}

#[test]
fn the_aws_cli_update_service_piped_in_is_followed_to_its_end() {
    let (cluster, _) = service(1);
    let script = format!(
        "set -o pipefail; aws ecs update-service --cluster {cluster} --service web --force-new-deployment | {}",
        env!("CARGO_BIN_EXE_ecs-wait")
    );
    let out = deploy_tests::tool("bash").args(["-c", &script]).aws().run();
    let doc = out.success();
    assert_eq!(doc["wait"]["status"], "deployed");
    assert_eq!(
        doc["wait"]["deployment"], doc["service"]["deployments"][0]["id"],
        "the deployment update-service started"
    );
}

/// A new revision starts a new deployment (moto taught so in
/// scripts/moto_launcher.py): ecs-wait follows the one update-service
/// started, not the one the service was created with, and names the new
/// revision as the one serving.
#[test]
fn a_new_revision_is_followed_by_its_own_deployment() {
    let (cluster, created) = service(1);
    let mut td = moto_ecs(
        "DescribeTaskDefinition",
        &json!({"taskDefinition": created["taskDefinition"]}),
    )["taskDefinition"]
        .clone();
    td["containerDefinitions"][0]["image"] = json!("web:2");
    let family = td["family"].as_str().unwrap().to_string();
    let mut input = json!({"family": family, "containerDefinitions": td["containerDefinitions"]});
    for key in ["cpu", "memory", "networkMode", "requiresCompatibilities"] {
        if !td[key].is_null() {
            input[key] = td[key].clone();
        }
    }
    let new = moto_ecs("RegisterTaskDefinition", &input)["taskDefinition"]["taskDefinitionArn"]
        .as_str()
        .unwrap()
        .to_string();
    let script = format!(
        "set -o pipefail; aws ecs update-service --cluster {cluster} --service web --task-definition {new} | {}",
        env!("CARGO_BIN_EXE_ecs-wait")
    );
    let out = deploy_tests::tool("bash").args(["-c", &script]).aws().run();
    let doc = out.success();
    let w = &doc["wait"];
    assert_eq!(w["status"], "deployed");
    assert_eq!(w["deployment"], doc["service"]["deployments"][0]["id"]);
    assert_ne!(
        w["deployment"], created["deployments"][0]["id"],
        "the deployment the service was created with"
    );
    assert_eq!(w["servingRevision"], json!(new));
}

#[test]
fn a_rollout_in_progress_forever_times_out_with_exit_3_and_the_report() {
    let (cluster, _) = service(2);
    let out = wait()
        .args(["--cluster", &cluster, "--service", "web", "--timeout", "3s"])
        .timeout(Duration::from_secs(30))
        .run();
    let doc = out.failure_report(3);
    let w = &doc["wait"];
    assert_eq!(w["status"], "timeout");
    assert_eq!(w["state"], "IN_PROGRESS");
    assert_eq!(w["elapsedSeconds"], 3);
    assert_eq!(doc["error"]["exitCode"], 3);
    assert_eq!(
        doc["error"]["message"],
        "service \"web\": still IN_PROGRESS after 3s (--timeout)"
    );
    assert!(
        out.stderr
            .contains("web: desired 2, running 1, pending 1, failed 0"),
        "{}",
        out.stderr
    );
}

/// `ecs-wait | true` under pipefail: the reader is gone before the report
/// is written, and the time-out's 3 stays 3 with its line on stderr (it was
/// exit 0 and no line).
#[test]
fn a_timeout_into_a_closed_pipe_stays_exit_3_and_says_why() {
    let (cluster, _) = service(2);
    let out = wait()
        .args(["--cluster", &cluster, "--service", "web", "--timeout", "2s"])
        .stdout_to(Stdout::ClosedPipe)
        .timeout(Duration::from_secs(30))
        .run();
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("ecs-wait: service \"web\": still IN_PROGRESS after 2s (--timeout)"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_missing_service_into_a_closed_pipe_stays_exit_1_and_says_why() {
    let (cluster, _) = service(1);
    let out = wait()
        .args(["--cluster", &cluster, "--service", "nosuch"])
        .stdout_to(Stdout::ClosedPipe)
        .run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("the service is missing (MISSING)"),
        "{}",
        out.stderr
    );
}

/// A full disk fails a write; it never hides the failure's own code (a
/// time-out's 3 became 1).
#[test]
fn a_timeout_into_a_full_disk_stays_exit_3() {
    let (cluster, _) = service(2);
    let out = wait()
        .args(["--cluster", &cluster, "--service", "web", "--timeout", "2s"])
        .stdout_to(Stdout::Full)
        .timeout(Duration::from_secs(30))
        .run();
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("still IN_PROGRESS after 2s (--timeout)"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_missing_service_is_exit_1_with_the_report() {
    let (cluster, _) = service(1);
    let out = wait()
        .args(["--cluster", &cluster, "--service", "nosuch"])
        .run();
    let doc = out.failure_report(1);
    assert_eq!(doc["wait"]["status"], "failed");
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap()
            .contains("service \"nosuch\": the service is missing (MISSING)"),
        "{doc}"
    );
}

#[test]
fn several_services_are_reported_as_waits() {
    let (cluster, _) = service(1);
    let td = read_json(root().join("examples/task-definition.json"));
    let mut td2 = td.clone();
    td2["family"] = json!(unique("wait-worker"));
    let arn =
        moto_ecs("RegisterTaskDefinition", &td2)["taskDefinition"]["taskDefinitionArn"].clone();
    moto_ecs(
        "CreateService",
        &json!({"cluster": cluster, "serviceName": "worker", "taskDefinition": arn, "desiredCount": 1}),
    );
    let out = wait()
        .args([
            "--cluster",
            &cluster,
            "--service",
            "web",
            "--service",
            "worker",
        ])
        .run();
    let doc = out.success();
    let names: Vec<&str> = doc["waits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["service"].as_str().unwrap().rsplit('/').next().unwrap())
        .collect();
    assert_eq!(names, ["web", "worker"]);
    assert!(doc.get("wait").is_none());
}

#[test]
fn a_bad_timeout_is_exit_2_and_not_repeated() {
    let out = wait()
        .args(["--service", "web", "--timeout", "s3cr3t"])
        .run();
    let stderr = out.failure(2);
    assert!(
        stderr.starts_with("ecs-wait: --timeout: expected a duration"),
        "{stderr}"
    );
    assert!(!stderr.contains("s3cr3t"), "{stderr}");
}

#[test]
fn nothing_to_wait_for_is_exit_2() {
    let out = wait().stdin_json(&json!({"image": {}})).run();
    let stderr = out.failure(2);
    assert!(stderr.contains("nothing to wait for"), "{stderr}");
}

#[test]
fn a_service_key_that_is_no_object_is_exit_2() {
    let out = wait().stdin_json(&json!({"service": "web"})).run();
    let stderr = out.failure(2);
    assert!(stderr.contains("\"service\" is a string"), "{stderr}");
}

#[test]
fn an_interval_faster_than_twenty_a_minute_is_exit_2() {
    let out = wait().args(["--service", "web", "--interval", "1s"]).run();
    assert!(out.failure(2).contains("--interval: 3s at least"));
}

/// An ECS endpoint that takes the connection and never answers: the wait
/// still ends at --timeout, exit 3, its report printed (the SDK's own
/// time-outs are minutes).
#[test]
fn an_endpoint_that_never_answers_ends_at_the_timeout() {
    use std::io::BufRead;
    /// Killed when the test ends, passed or panicked: an orphan holding
    /// the test's output open would hang whatever reads it.
    struct Stall(std::process::Child);
    impl Drop for Stall {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut stall = Stall(
        std::process::Command::new("python3")
            .args([
                "-c",
                "import socket\ns=socket.socket()\ns.bind(('127.0.0.1',0))\ns.listen(64)\nprint(s.getsockname()[1],flush=True)\nkept=[]\nwhile True: kept.append(s.accept())",
            ])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut port = String::new();
    std::io::BufReader::new(stall.0.stdout.take().unwrap())
        .read_line(&mut port)
        .unwrap();
    let started = std::time::Instant::now();
    let out = deploy_tests::tool(env!("CARGO_BIN_EXE_ecs-wait"))
        .env(
            "AWS_ENDPOINT_URL",
            format!("http://127.0.0.1:{}", port.trim()),
        )
        .env("AWS_ACCESS_KEY_ID", "t")
        .env("AWS_SECRET_ACCESS_KEY", "t")
        .env("AWS_REGION", "us-east-1")
        .args(["--cluster", "prod", "--service", "web", "--timeout", "3s"])
        .timeout(Duration::from_secs(30))
        .run();
    drop(stall);
    let doc = out.failure_report(3);
    assert_eq!(doc["wait"]["status"], "timeout", "{doc}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "ended at the time-out, not the SDK's: {:?}",
        started.elapsed()
    );
}

/// Service `web` in cluster `cluster` of `region`, wanting `desired` tasks:
/// the service as CreateService answered.
fn service_in(region: &str, cluster: &str, desired: u32) -> Value {
    moto_call_in(
        region,
        "ecs",
        "CreateCluster",
        &json!({"clusterName": cluster}),
    );
    let mut td = read_json(root().join("examples/task-definition.json"));
    td["family"] = json!(unique("wait-web"));
    let arn = moto_call_in(region, "ecs", "RegisterTaskDefinition", &td)["taskDefinition"]
        ["taskDefinitionArn"]
        .clone();
    moto_call_in(
        region,
        "ecs",
        "CreateService",
        &json!({"cluster": cluster, "serviceName": "web", "taskDefinition": arn, "desiredCount": desired}),
    )
}

/// `aws ecs update-service --region eu-west-1 ... | ecs-wait` under
/// `AWS_REGION=us-east-1`, with a service of the same name in both: the
/// eu-west-1 one (done at once) is followed, not the us-east-1 one (in
/// progress forever, which used to give a time-out or a false diagnosis).
#[test]
fn a_service_piped_in_from_another_region_is_followed_in_its_region() {
    let cluster = unique("regions");
    let there = service_in("eu-west-1", &cluster, 1);
    service_in("us-east-1", &cluster, 2);
    let out = wait()
        .env("AWS_REGION", "us-east-1")
        .args(["--timeout", "4s"])
        .stdin_json(&there)
        .timeout(Duration::from_secs(30))
        .run();
    let doc = out.success();
    assert_eq!(doc["wait"]["status"], "deployed");
    assert!(
        out.stderr.contains(
            "ecs-wait: working in region eu-west-1, where stdin's service.serviceArn is (its ARN says so), not AWS_REGION's us-east-1"
        ),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("region=eu-west-1"), "{}", out.stderr);
}

#[test]
fn an_arn_in_another_region_than_region_is_exit_2() {
    let cluster = unique("regions");
    let there = service_in("eu-west-1", &cluster, 1);
    let out = wait()
        .args(["--region", "us-east-1"])
        .stdin_json(&there)
        .run();
    let err = out.failure(2);
    assert!(
        err.contains(
            "stdin's service.serviceArn is in region \"eu-west-1\" (its ARN says so), but --region is \"us-east-1\""
        ),
        "{err}"
    );
}

#[test]
fn services_in_two_regions_are_exit_2() {
    let cluster = unique("regions");
    let one = service_in("eu-west-1", &cluster, 1);
    let two = service_in("us-east-1", &cluster, 1);
    let out = wait()
        .stdin_json(&json!({"services": [one["service"], two["service"]]}))
        .run();
    let err = out.failure(2);
    assert!(err.contains("one run works in one region"), "{err}");
}

#[test]
fn a_cluster_arn_of_the_wrong_type_is_exit_2() {
    let out = wait()
        .stdin_json(&json!({"service": {"serviceName": "web", "clusterArn": 5}}))
        .run();
    let err = out.failure(2);
    assert!(
        err.contains("stdin: \"service.clusterArn\" is a number, expected an ARN as a string"),
        "{err}"
    );
}

#[test]
fn a_control_character_in_stdins_service_name_never_reaches_the_terminal() {
    let (cluster, _) = service(1);
    let out = wait()
        .stdin_json(&json!({"service": {"serviceName": "web\u{1b}[2J", "clusterArn": cluster}}))
        .run();
    out.failure_report(1);
    assert!(!out.stderr.contains('\u{1b}'), "{:?}", out.stderr);
    assert!(
        out.stderr.contains("/services/web%1B%5B2J/"),
        "{}",
        out.stderr
    );
}
