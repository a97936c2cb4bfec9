//! The troubleshooting guides' failures, answered in the CI log by the
//! tool that meets them: each case produces the failure on the emulators
//! (the scripted ECS endpoint, moto, moto with IAM enforced) and asserts
//! the explanation.

use std::time::Duration;

use deploy_tests::scripted::ScriptedEcs;
use deploy_tests::{emulators, moto_call, read_json, root, unique, workspace_bin};
use serde_json::{Value, json};

/// The value of an environment variable of the failed revision, which its
/// application logs: it must never reach the CI log or stdout.
const SECRET: &str = "hunter2-db-password";

/// circuit-breaker-rollback.json with web:2's definition (container `web`
/// logging to `group` with prefix `ecs`, container `proxy` to splunk) and
/// task t1's proxy failed too.
fn crash_scenario(group: &str) -> Value {
    let mut scenario = read_json(root().join("scripts/scenarios/circuit-breaker-rollback.json"));
    scenario["taskDefinitions"] = json!([{
        "family": "web", "revision": 2, "status": "ACTIVE",
        "taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:2",
        "containerDefinitions": [
            {"name": "web", "image": "web:2", "essential": true,
             "environment": [{"name": "DB_PASSWORD", "value": SECRET}, {"name": "DEBUG", "value": "1"}],
             "logConfiguration": {"logDriver": "awslogs", "options": {
                 "awslogs-group": group, "awslogs-region": "us-east-1", "awslogs-stream-prefix": "ecs"}}},
            {"name": "proxy", "image": "envoy", "essential": false,
             "logConfiguration": {"logDriver": "splunk", "options": {"splunk-url": "https://splunk.internal"}}}]
    }]);
    scenario["tasks"][0]["containers"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "proxy", "exitCode": 1}));
    scenario
}

/// A new log group in moto.
fn log_group() -> String {
    let group = unique("/ecs/crash");
    moto_call("logs", "CreateLogGroup", &json!({"logGroupName": group}));
    group
}

/// `lines` logged to `group`'s stream `stream` in moto.
fn seed_logs(group: &str, stream: &str, lines: &[String]) {
    moto_call(
        "logs",
        "CreateLogStream",
        &json!({"logGroupName": group, "logStreamName": stream}),
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let events: Vec<Value> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| json!({"timestamp": now + i as u64, "message": l}))
        .collect();
    moto_call(
        "logs",
        "PutLogEvents",
        &json!({"logGroupName": group, "logStreamName": stream, "logEvents": events}),
    );
}

/// ecs-wait on the failed rollout, fed the service as ecs-deploy prints it,
/// ECS scripted and CloudWatch Logs on moto.
fn wait_on(ecs: &ScriptedEcs) -> deploy_tests::Output {
    let service = json!({"service": {"serviceName": "web",
        "serviceArn": "arn:aws:ecs:us-east-1:123456789012:service/prod/web",
        "clusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/prod",
        "currentServiceDeployment": "arn:aws:ecs:us-east-1:123456789012:service-deployment/prod/web/sd-2",
        "deployments": [{"id": "ecs-svc/2", "status": "PRIMARY"}]}});
    ecs.point(deploy_tests::tool(workspace_bin("ecs-wait")))
        .env("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", &emulators().endpoint)
        .args(["--timeout", "1m"])
        .stdin(service.to_string())
        .timeout(Duration::from_secs(30))
        .run()
}

/// "Task keeps stopping": the failed rollout's report holds each crashed
/// container's last 20 log lines, under its task on stderr and in
/// `stoppedTasks[].containers[].lastLogLines`; the environment's values
/// are masked and control characters escaped in both.
#[test]
fn a_failed_rollout_shows_each_crashed_containers_last_log_lines() {
    let group = log_group();
    let t1: Vec<String> = (1..=25)
        .map(|i| format!("t1 line {i}"))
        .chain([
            format!("connecting with password {SECRET}"),
            "\u{1b}[31mFATAL\u{1b}[0m out of memory".to_string(),
        ])
        .collect();
    seed_logs(&group, "ecs/web/t1", &t1);
    seed_logs(&group, "ecs/web/t2", &["t2: listening on 8080".to_string()]);
    let ecs = ScriptedEcs::play(&crash_scenario(&group));
    let out = wait_on(&ecs);
    let doc = out.failure_report(1);
    let stopped = doc["wait"]["stoppedTasks"].as_array().unwrap();
    let web = |task: &Value| -> Value {
        task["containers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "web")
            .unwrap()["lastLogLines"]
            .clone()
    };
    let t1_task = stopped
        .iter()
        .find(|t| t["taskArn"].as_str().unwrap().ends_with("/t1"))
        .unwrap();
    let t2_task = stopped
        .iter()
        .find(|t| t["taskArn"].as_str().unwrap().ends_with("/t2"))
        .unwrap();
    let mut expected: Vec<String> = (8..=25).map(|i| format!("t1 line {i}")).collect();
    expected.push("connecting with password ***".to_string());
    expected.push("\\u{1b}[31mFATAL\\u{1b}[0m out of memory".to_string());
    assert_eq!(
        web(t1_task),
        json!(expected),
        "the last 20, masked and escaped"
    );
    assert_eq!(web(t2_task), json!(["t2: listening on 8080"]));
    // On stderr, under the task they belong to.
    let at = |needle: &str| {
        out.stderr
            .find(needle)
            .unwrap_or_else(|| panic!("{needle:?} not in:\n{}", out.stderr))
    };
    assert!(at("stopped task t1 (web:2)") < at("web:     | t1 line 8\n"));
    assert!(at("web:     | t1 line 25") < at("stopped task t2 (web:2)"));
    at("web:   container web: its last 20 log lines:");
    at("web:     | connecting with password ***");
    at("web:     | \\u{1b}[31mFATAL");
    assert!(!out.stderr.contains("t1 line 7\n"), "{}", out.stderr);
    assert!(!out.stderr.contains(SECRET) && !out.stdout.contains(SECRET));
    assert!(!out.stderr.contains('\u{1b}') && !out.stdout.contains("\\u001b"));
}

/// A container that logs elsewhere gets one line saying where.
#[test]
fn a_crashed_container_with_another_log_driver_says_where_its_logs_went() {
    let group = log_group();
    seed_logs(&group, "ecs/web/t1", &["boom".to_string()]);
    let ecs = ScriptedEcs::play(&crash_scenario(&group));
    let out = wait_on(&ecs);
    out.failure_report(1);
    let said: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("container proxy: logs to"))
        .collect();
    assert_eq!(
        said,
        [
            "ecs-wait: web:   container proxy: logs to the splunk log driver: its last lines are there"
        ],
        "{}",
        out.stderr
    );
    // t2's stream was never written: said, not fatal.
    assert!(
        out.stderr
            .contains(&format!("no log stream {group}/ecs/web/t2")),
        "{}",
        out.stderr
    );
}

/// Reading the logs is optional: a role without logs:GetLogEvents (on the
/// moto that enforces IAM; ECS scripted) gets one line naming it, and the
/// report goes on with every stopped task.
#[test]
fn a_failed_rollout_without_the_logs_permission_says_so_once() {
    let user = deploy_tests::iam::user_allowed(&["ecs:DescribeServices"]);
    let ecs = ScriptedEcs::play(&crash_scenario("/ecs/refused"));
    let service = json!({"service": {"serviceName": "web",
        "serviceArn": "arn:aws:ecs:us-east-1:123456789012:service/prod/web",
        "clusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/prod",
        "currentServiceDeployment": "arn:aws:ecs:us-east-1:123456789012:service-deployment/prod/web/sd-2",
        "deployments": [{"id": "ecs-svc/2", "status": "PRIMARY"}]}});
    let out = ecs
        .point(deploy_tests::tool(workspace_bin("ecs-wait")))
        .env(
            "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS",
            &emulators().iam_endpoint,
        )
        .env("AWS_ACCESS_KEY_ID", &user.key_id)
        .env("AWS_SECRET_ACCESS_KEY", &user.secret)
        .args(["--timeout", "1m"])
        .stdin(service.to_string())
        .timeout(Duration::from_secs(30))
        .run();
    let doc = out.failure_report(1);
    assert_eq!(doc["wait"]["stoppedTasks"].as_array().unwrap().len(), 2);
    let said: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("lacks logs:GetLogEvents"))
        .collect();
    assert_eq!(said.len(), 1, "{}", out.stderr);
    assert!(
        said[0].ends_with("the failed containers' last log lines are not shown"),
        "{}",
        said[0]
    );
    assert!(
        out.stderr.contains("stopped task t2 (web:2)"),
        "{}",
        out.stderr
    );
}
