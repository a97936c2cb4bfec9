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

/// ecs-wait on the scripted failed rollout, fed the service as ecs-deploy
/// prints it; CloudWatch Logs and ELB on `other` (moto, or the moto that
/// enforces IAM, with `keys`).
fn ecs_wait(
    ecs: &ScriptedEcs,
    other: &str,
    keys: Option<&deploy_tests::iam::User>,
) -> deploy_tests::Output {
    let mut tool = wait_tool(ecs, other);
    if let Some(user) = keys {
        tool = tool
            .env("AWS_ACCESS_KEY_ID", &user.key_id)
            .env("AWS_SECRET_ACCESS_KEY", &user.secret);
    }
    tool.args(["--timeout", "1m"]).run()
}

/// ecs-wait pointed at `ecs`, CloudWatch Logs and ELB at `other`, fed the
/// service as ecs-deploy prints it: the flags and the run left to the case.
fn wait_tool(ecs: &ScriptedEcs, other: &str) -> deploy_tests::Tool {
    let service = json!({"service": {"serviceName": "web",
        "serviceArn": "arn:aws:ecs:us-east-1:123456789012:service/prod/web",
        "clusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/prod",
        "currentServiceDeployment": "arn:aws:ecs:us-east-1:123456789012:service-deployment/prod/web/sd-2",
        "deployments": [{"id": "ecs-svc/2", "status": "PRIMARY"}]}});
    ecs.point(deploy_tests::tool(workspace_bin("ecs-wait")))
        .env("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", other)
        .env("AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2", other)
        .stdin(service.to_string())
        .timeout(Duration::from_secs(60))
}

/// [`ecs_wait`] with the other services on moto.
fn wait_on(ecs: &ScriptedEcs) -> deploy_tests::Output {
    ecs_wait(ecs, &emulators().endpoint, None)
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
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.md");
    let out = wait_tool(&ecs, &emulators().endpoint)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .args(["--timeout", "1m"])
        .run();
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
    assert!(
        at("stopped task t1 (web:2)") < at("web:   container web: its last 20 log lines:")
            && at("web:   container web: its last 20 log lines:") < at("web:     | t1 line 8\n")
    );
    at("web:     | connecting with password ***");
    at("web:     | \\u{1b}[31mFATAL");
    assert!(!out.stderr.contains("t1 line 7\n"), "{}", out.stderr);
    // The proxy is not essential: it stopped with the task, it did not
    // stop it, so its logs are not what the report needs.
    assert!(
        !out.stderr.contains("container proxy: logs to"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains(SECRET) && !out.stdout.contains(SECRET));
    // The job summary shows the same lines, masked the same.
    let summary = std::fs::read_to_string(&summary).unwrap();
    assert!(
        summary.contains("connecting with password ***"),
        "{summary}"
    );
    assert!(!summary.contains(SECRET), "{summary}");
    assert!(!out.stderr.contains('\u{1b}') && !out.stdout.contains("\\u001b"));
}

/// A container that logs elsewhere gets one line saying where (the proxy,
/// essential here, failed with the task).
#[test]
fn a_crashed_container_with_another_log_driver_says_where_its_logs_went() {
    let group = log_group();
    seed_logs(&group, "ecs/web/t1", &["boom".to_string()]);
    let mut scenario = crash_scenario(&group);
    scenario["taskDefinitions"][0]["containerDefinitions"][1]["essential"] = json!(true);
    let ecs = ScriptedEcs::play(&scenario);
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
    let out = ecs_wait(&ecs, &emulators().iam_endpoint, Some(&user));
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

/// `aws ARGS --output text` on moto, trimmed.
fn aws_text(args: &[&str]) -> String {
    let out = deploy_tests::tool("aws")
        .args(args)
        .args(["--output", "text"])
        .aws()
        .run();
    assert_eq!(out.code, 0, "aws {args:?}: {}", out.stderr);
    out.stdout.trim().to_string()
}

/// A target group in moto named `PREFIX-N` (moto_launcher.py reports its
/// targets unhealthy with the reason the prefix names), checking HTTP GET
/// /health on the traffic port, with one task's IP registered on 8080.
fn unhealthy_target_group(prefix: &str) -> String {
    let vpc = aws_text(&["ec2", "describe-vpcs", "--query", "Vpcs[0].VpcId"]);
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let name = format!("{prefix}{n}");
    let arn = aws_text(&[
        "elbv2",
        "create-target-group",
        "--name",
        &name,
        "--protocol",
        "HTTP",
        "--port",
        "8080",
        "--vpc-id",
        &vpc,
        "--target-type",
        "ip",
        "--health-check-path",
        "/health",
        "--health-check-timeout-seconds",
        "5",
        "--matcher",
        "HttpCode=200",
        "--query",
        "TargetGroups[0].TargetGroupArn",
    ]);
    aws_text(&[
        "elbv2",
        "register-targets",
        "--target-group-arn",
        &arn,
        "--targets",
        "Id=172.31.1.23,Port=8080",
    ]);
    arn
}

/// The crash scenario whose service events say task t1 failed the
/// health checks of `target_group`.
fn health_check_scenario(target_group: &str) -> Value {
    let mut scenario = crash_scenario("/ecs/unused");
    for step in scenario["timeline"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .skip(2)
    {
        step["services"][0]["events"]
            .as_array_mut()
            .unwrap()
            .push(json!({"id": "hc1", "createdAt": 1764000020.0,
                "message": format!("(service web) (task t1) failed ELB health checks in (target-group {target_group})")}));
    }
    scenario
}

/// "Service did not stabilize" behind a load balancer, tasks failing the
/// health checks on a timeout: each unhealthy target said with its reason
/// code, what it most often means (a security group, a wrong port), and
/// the port and path checked; `wait.targetHealth` holds the same.
#[test]
fn targets_that_time_out_are_said_to_need_the_security_group_or_port_checked() {
    let tg = unhealthy_target_group("unhealthy-timeout-");
    let ecs = ScriptedEcs::play(&health_check_scenario(&tg));
    let out = wait_on(&ecs);
    let doc = out.failure_report(1);
    let health = &doc["wait"]["targetHealth"][0];
    assert_eq!(health["targetGroupArn"], tg.as_str());
    assert_eq!(health["healthCheck"]["path"], "/health");
    let target = &health["targets"][0];
    assert_eq!(target["id"], "172.31.1.23");
    assert_eq!(target["state"], "unhealthy");
    assert_eq!(target["reason"], "Target.Timeout");
    for line in [
        "(health check HTTP GET /health on the traffic port, expecting 200):",
        "ecs-wait: web:   target 172.31.1.23:8080: unhealthy, Target.Timeout (Request timed out): no answer within 5 s on port 8080: most often a security group that does not let the load balancer reach the task on port 8080, or the container listening on another port",
    ] {
        assert!(
            out.stderr.contains(line),
            "{line:?} not in:\n{}",
            out.stderr
        );
    }
}

/// Health checks answered with the wrong code: a wrong health-check path,
/// said with the path and port checked.
#[test]
fn targets_answering_another_code_are_said_to_need_the_health_check_path_checked() {
    let tg = unhealthy_target_group("unhealthy-codes-");
    let ecs = ScriptedEcs::play(&health_check_scenario(&tg));
    let out = wait_on(&ecs);
    let doc = out.failure_report(1);
    assert_eq!(
        doc["wait"]["targetHealth"][0]["targets"][0]["reason"],
        "Target.ResponseCodeMismatch"
    );
    let line = "target 172.31.1.23:8080: unhealthy, Target.ResponseCodeMismatch (Health checks failed with these codes: [404]): /health on port 8080 answered with another code than the health check expects: most often a wrong health-check path";
    assert!(
        out.stderr.contains(line),
        "{line:?} not in:\n{}",
        out.stderr
    );
}

/// No health-check event, no ELB call: a rollout that failed for another
/// reason asks the load balancer nothing.
#[test]
fn a_rollout_failed_without_health_check_events_asks_no_load_balancer() {
    // Its events name a target group, but no failed health check.
    let mut scenario = crash_scenario("/ecs/unused");
    for step in scenario["timeline"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .skip(1)
    {
        step["services"][0]["events"].as_array_mut().unwrap().push(json!({"id": "reg1",
            "createdAt": 1764000010.0,
            "message": "(service web) registered 1 targets in (target-group arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-tg/6d0e)"}));
    }
    let ecs = ScriptedEcs::play(&scenario);
    // ELB at a port nothing listens on: any call to it would fail, and say so.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let out = ecs_wait(&ecs, &closed, None);
    let doc = out.failure_report(1);
    assert!(doc["wait"].get("targetHealth").is_none(), "{doc}");
    assert!(
        !out.stderr.contains("elasticloadbalancing:Describe"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("target group"), "{}", out.stderr);
}

/// The ELB reads are optional: a role without them (on the moto that
/// enforces IAM) gets one line naming DescribeTargetHealth, and the report
/// goes on.
#[test]
fn a_failed_rollout_without_the_elb_permissions_says_so_once() {
    let user = deploy_tests::iam::user_allowed(&["ecs:DescribeServices"]);
    let tg =
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-tg/6d0ecf831eec9f09";
    let ecs = ScriptedEcs::play(&health_check_scenario(tg));
    let out = ecs_wait(&ecs, &emulators().iam_endpoint, Some(&user));
    let doc = out.failure_report(1);
    assert_eq!(doc["wait"]["status"], "failed");
    let said: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains(" elasticloadbalancing:Describe"))
        .collect();
    assert_eq!(said.len(), 1, "{}", out.stderr);
    assert!(
        said[0].contains("lacks elasticloadbalancing:DescribeTargetHealth")
            && said[0].ends_with("why the targets are unhealthy is not shown"),
        "{}",
        said[0]
    );
}

/// "No such image": a task of the rollout could not pull its image (a tag
/// never pushed); the report says what that means under the task.
#[test]
fn a_task_that_could_not_pull_its_image_is_said_to_name_an_image_never_pushed() {
    let mut scenario = crash_scenario("/ecs/unused");
    scenario["tasks"][0]["stoppedReason"] = json!(
        "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref 123456789012.dkr.ecr.us-east-1.amazonaws.com/web:0f3a9c1: 123456789012.dkr.ecr.us-east-1.amazonaws.com/web:0f3a9c1: not found"
    );
    scenario["tasks"][0]["stopCode"] = json!("TaskFailedToStart");
    let ecs = ScriptedEcs::play(&scenario);
    let out = wait_on(&ecs);
    out.failure_report(1);
    let at = |needle: &str| {
        out.stderr
            .find(needle)
            .unwrap_or_else(|| panic!("{needle:?} not in:\n{}", out.stderr))
    };
    assert!(
        at("stopped task t1 (web:2): CannotPullContainerError")
            < at(
                "web:   that is: the image's tag or digest is not in its repository: it was never pushed there"
            )
    );
    assert_eq!(out.stderr.matches("that is:").count(), 1, "{}", out.stderr);
}

/// CloudWatch Logs that never answers (a runner with no route to it): the
/// report does not wait a --timeout a call; one line says the logs were
/// not read, and the report goes on.
#[test]
fn logs_that_never_answer_cost_a_bounded_wait_and_one_line() {
    let stalling = deploy_tests::scripted::StallingProxy::start("GetLogEvents");
    let ecs = ScriptedEcs::play(&crash_scenario("/ecs/stalled"));
    let out = wait_tool(&ecs, &stalling.url)
        .args(["--timeout", "10s"])
        .run();
    let doc = out.failure_report(1);
    assert_eq!(doc["wait"]["stoppedTasks"].as_array().unwrap().len(), 2);
    let said: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("logs were not all read within 5s"))
        .collect();
    assert_eq!(said.len(), 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("stopped task t2 (web:2)"),
        "{}",
        out.stderr
    );
}
