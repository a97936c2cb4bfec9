//! ecs-run as users run it: the real binary against moto (its launcher
//! taught that a container command `exit N` stops with exit code N, so a
//! failing migration runs for real), stdin in, JSON out, exit code and
//! stderr checked.

use deploy_tests::{Output, Tool, moto_call, moto_ecs, unique, workspace_bin};
use serde_json::{Value, json};

fn ecs_run() -> Tool {
    deploy_tests::tool(env!("CARGO_BIN_EXE_ecs-run")).aws()
}

/// A Fargate migration task definition logging to CloudWatch Logs.
fn definition(family: &str) -> Value {
    json!({
        "family": family,
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": [{
            "name": "migrate",
            "image": "r.example/app:1",
            "memory": 512,
            "essential": true,
            "logConfiguration": {"logDriver": "awslogs", "options": {
                "awslogs-group": format!("/ecs/{family}"),
                "awslogs-region": "us-east-1",
                "awslogs-stream-prefix": "ecs"}}
        }]
    })
}

/// A cluster with a Fargate service `web` in moto's default VPC, and a
/// registered migration definition: (cluster, family).
fn setup(name: &str) -> (String, String) {
    let (cluster, family, _, _) = setup_service(name, json!({}), "DISABLED");
    (cluster, family)
}

/// [`setup`], the service also given `extra` fields and `public_ip`:
/// (cluster, family, subnet, security group).
fn setup_service(name: &str, extra: Value, public_ip: &str) -> (String, String, String, String) {
    let cluster = unique(&format!("run-{name}"));
    let family = unique(&format!("mig-{name}"));
    moto_ecs("CreateCluster", &json!({"clusterName": cluster}));
    moto_ecs("RegisterTaskDefinition", &definition(&family));
    let (subnet, group) = deploy_tests::default_network();
    let mut service = json!({"cluster": cluster, "serviceName": "web", "taskDefinition": family,
        "desiredCount": 1, "launchType": "FARGATE",
        "networkConfiguration": {"awsvpcConfiguration": {
            "subnets": [subnet], "securityGroups": [group], "assignPublicIp": public_ip}}});
    for (key, value) in extra.as_object().into_iter().flatten() {
        service[key] = value.clone();
    }
    moto_ecs("CreateService", &service);
    (cluster, family, subnet, group)
}

/// moto's tasks advance one state every `times` DescribeTasks, until dropped.
struct SlowTasks;

impl SlowTasks {
    fn new(times: u32) -> Self {
        let (status, body) = deploy_tests::moto_api(
            "POST",
            "/moto-api/state-manager/set-transition",
            &json!({"model_name": "ecs::task", "transition": {"progression": "manual", "times": times}}),
        );
        assert!((200..300).contains(&status), "{status}: {body}");
        SlowTasks
    }
}

impl Drop for SlowTasks {
    fn drop(&mut self) {
        deploy_tests::moto_api(
            "POST",
            "/moto-api/state-manager/unset-transition",
            &json!({"model_name": "ecs::task"}),
        );
    }
}

fn run_like_web(cluster: &str, family: &str, extra: &[&str]) -> Output {
    ecs_run()
        .args(["--cluster", cluster, "--family", &format!("{family}:1")])
        .args(["--like-service", "web", "--interval", "100ms"])
        .args(extra)
        .run()
}

#[test]
fn a_task_that_exits_0_passes_and_reports_how_it_ended() {
    let (cluster, family) = setup("ok");
    let out = run_like_web(&cluster, &family, &[]);
    let doc = out.success();
    assert_eq!(doc["task"]["lastStatus"], "STOPPED");
    assert_eq!(doc["task"]["containers"][0]["name"], "migrate");
    assert_eq!(doc["task"]["containers"][0]["exitCode"], 0);
    assert!(out.stderr.contains(": STOPPED"), "{}", out.stderr);
    // Placed as the service is: its subnet, Fargate.
    let task = moto_ecs(
        "DescribeTasks",
        &json!({"cluster": cluster, "tasks": [doc["task"]["taskArn"]]}),
    );
    assert_eq!(task["tasks"][0]["launchType"], "FARGATE");
    assert_eq!(task["tasks"][0]["startedBy"], "ecs-run");
}

/// The RunTask that ecs-run sent for `cluster` (moto's recording).
fn run_task_sent(cluster: &str) -> Value {
    let sent: Vec<Value> = deploy_tests::moto_calls("ecs", "RunTask")
        .into_iter()
        .filter(|b| b["cluster"] == cluster)
        .collect();
    assert_eq!(sent.len(), 1, "one RunTask for {cluster}: {sent:?}");
    sent.into_iter().next().unwrap()
}

/// A Fargate service on platform 1.4.0 with a public IP: (cluster, family,
/// subnet, security group).
fn setup_public(name: &str) -> (String, String, String, String) {
    setup_service(name, json!({"platformVersion": "1.4.0"}), "ENABLED")
}

#[test]
fn like_service_copies_launch_type_platform_version_and_network() {
    let (cluster, family, subnet, group) = setup_public("like");
    run_like_web(&cluster, &family, &[]).success();
    let sent = run_task_sent(&cluster);
    assert_eq!(sent["launchType"], "FARGATE", "{sent}");
    assert_eq!(sent["platformVersion"], "1.4.0", "{sent}");
    assert_eq!(
        sent["networkConfiguration"],
        json!({"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group],
            "assignPublicIp": "ENABLED"}}),
        "{sent}"
    );
}

#[test]
fn placement_flags_win_over_the_copied_service() {
    let (cluster, family, service_subnet, _) = setup_public("flags");
    // Another subnet of the default VPC than the service's.
    let out = deploy_tests::tool("aws")
        .args([
            "ec2",
            "describe-subnets",
            "--query",
            "Subnets[1].SubnetId",
            "--output",
            "text",
        ])
        .aws()
        .run();
    let subnet = out.stdout.trim().to_string();
    assert!(
        subnet.starts_with("subnet-") && subnet != service_subnet,
        "a second subnet: {subnet:?} {}",
        out.stderr
    );
    run_like_web(
        &cluster,
        &family,
        &[
            "--platform-version",
            "1.3.0",
            "--subnet",
            &subnet,
            "--security-group",
            "sg-0flag",
        ],
    )
    .success();
    let sent = run_task_sent(&cluster);
    assert_eq!(sent["platformVersion"], "1.3.0", "{sent}");
    let vpc = &sent["networkConfiguration"]["awsvpcConfiguration"];
    assert_eq!(vpc["subnets"], json!([subnet]), "{sent}");
    assert_eq!(vpc["securityGroups"], json!(["sg-0flag"]), "{sent}");
    // Not given as a flag: still the service's.
    assert_eq!(vpc["assignPublicIp"], "ENABLED", "{sent}");
}

#[test]
fn a_migration_that_exits_3_fails_and_still_prints_the_object() {
    let (cluster, family) = setup("exit3");
    let out = run_like_web(&cluster, &family, &["--command", "exit 3"]);
    let doc = out.failure_report(1);
    assert_eq!(doc["task"]["containers"][0]["exitCode"], 3);
    assert_eq!(doc["error"]["tool"], "ecs-run");
    assert!(
        out.stderr.contains("container migrate: exit code 3"),
        "{}",
        out.stderr
    );
}

#[test]
fn the_command_and_environment_reach_the_task() {
    let (cluster, family) = setup("override");
    let doc = run_like_web(
        &cluster,
        &family,
        &[
            "--command",
            r#"["pnpm", "db:migrate"]"#,
            "--env",
            "DRY_RUN=1",
        ],
    )
    .success();
    let task = moto_ecs(
        "DescribeTasks",
        &json!({"cluster": cluster, "tasks": [doc["task"]["taskArn"]]}),
    );
    let overrides = &task["tasks"][0]["overrides"]["containerOverrides"][0];
    assert_eq!(overrides["name"], "migrate");
    assert_eq!(overrides["command"], json!(["pnpm", "db:migrate"]));
    assert_eq!(
        overrides["environment"],
        json!([{"name": "DRY_RUN", "value": "1"}])
    );
}

#[test]
fn a_failed_migration_deploys_nothing_after_it() {
    let (cluster, family) = setup("stop-deploy");
    let td = moto_ecs(
        "DescribeTaskDefinition",
        &json!({"taskDefinition": format!("{family}:1")}),
    );
    let mut changed = td["taskDefinition"].clone();
    changed["containerDefinitions"][0]["image"] = json!("r.example/app:2");
    let script = format!(
        "{run} --cluster {cluster} --like-service web --interval 100ms --command 'exit 3' \
         | {deploy} --cluster {cluster} --service web",
        run = env!("CARGO_BIN_EXE_ecs-run"),
        deploy = workspace_bin("ecs-deploy").display(),
    );
    let out = deploy_tests::tool("bash")
        .args(["-c", &script])
        .aws()
        .stdin_json(&json!({"taskDefinition": changed}))
        .run();
    assert_eq!(out.code, 1, "the failed migration's code: {}", out.stderr);
    assert!(out.stderr.contains("ecs-deploy: skipped"), "{}", out.stderr);
    let service = moto_ecs(
        "DescribeServices",
        &json!({"cluster": cluster, "services": ["web"]}),
    );
    assert!(
        service["services"][0]["taskDefinition"]
            .as_str()
            .unwrap()
            .ends_with(&format!("{family}:1")),
        "the service still runs revision 1: {service}"
    );
}

/// The issue's pipeline: render, register once (ecs-deploy with no
/// --service), migrate, deploy that same revision: no second registration.
#[test]
fn render_register_migrate_deploy_registers_once() {
    let (cluster, family) = setup("pipeline");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("td.json");
    std::fs::write(&file, serde_json::to_vec(&definition(&family)).unwrap()).unwrap();
    let script = format!(
        "set -o pipefail; {render} -t {file} --container migrate --image r.example/app:2 \
         | {deploy} | {run} --cluster {cluster} --like-service web --interval 100ms --command 'migrate' \
         | {deploy} --cluster {cluster} --service web",
        render = workspace_bin("taskdef-render").display(),
        deploy = workspace_bin("ecs-deploy").display(),
        run = env!("CARGO_BIN_EXE_ecs-run"),
        file = file.display(),
    );
    let out = deploy_tests::tool("bash").args(["-c", &script]).aws().run();
    let doc = out.success();
    assert!(
        doc["service"]["taskDefinition"]
            .as_str()
            .unwrap()
            .ends_with(&format!("{family}:2")),
        "{doc}"
    );
    assert_eq!(doc["task"]["containers"][0]["exitCode"], 0);
    let listed = moto_ecs("ListTaskDefinitions", &json!({"familyPrefix": family}));
    assert_eq!(
        listed["taskDefinitionArns"].as_array().unwrap().len(),
        2,
        "revision 1 (setup) and 2 (the pipeline), no third: {listed}"
    );
}

/// The container's CloudWatch Logs reach stderr, in order, once each. The
/// stream is named after the task, so it is seeded (the aws CLI) once the
/// task is running, while ecs-run polls.
#[test]
fn the_containers_logs_appear_on_stderr_in_order_once() {
    // The events are seeded while the task runs: four DescribeTasks a state
    // (about 16 s at one poll a second) leave the aws CLI time enough even
    // on a loaded machine. Other tests' tasks only take a little longer.
    let _slow = SlowTasks::new(4);
    let (cluster, family) = setup("logs");
    let group = format!("/ecs/{family}");
    moto_call("logs", "CreateLogGroup", &json!({"logGroupName": group}));
    let script = format!(
        r#"{run} --cluster {cluster} --family {family}:1 --like-service web --interval 1s > out.json &
pid=$!
for i in $(seq 1 50); do
  task=$(aws ecs list-tasks --cluster {cluster} --query 'taskArns[0]' --output text)
  [ "$task" != None ] && [ -n "$task" ] && break
  sleep 0.1
done
id=${{task##*/}}
aws logs create-log-stream --log-group-name {group} --log-stream-name ecs/migrate/$id
now=$(($(date +%s) * 1000))
aws logs put-log-events --log-group-name {group} --log-stream-name ecs/migrate/$id \
  --log-events timestamp=$now,message=first timestamp=$((now + 1)),message=second >/dev/null
wait $pid"#,
        run = env!("CARGO_BIN_EXE_ecs-run"),
    );
    let dir = tempfile::tempdir().unwrap();
    let out = deploy_tests::tool("bash")
        .args(["-c", &script])
        .aws()
        .current_dir(dir.path())
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("migrate | "))
        .collect();
    assert_eq!(
        lines,
        ["migrate | first", "migrate | second"],
        "{}",
        out.stderr
    );
}

#[test]
fn timeout_with_stop_on_timeout_stops_the_task_and_exits_3() {
    let (cluster, family) = setup("timeout");
    let out = run_like_web(
        &cluster,
        &family,
        &["--timeout", "1ms", "--stop-on-timeout"],
    );
    let doc = out.failure_report(3);
    assert!(
        out.stderr.contains("stopped (--stop-on-timeout)"),
        "{}",
        out.stderr
    );
    let task = moto_ecs(
        "DescribeTasks",
        &json!({"cluster": cluster, "tasks": [doc["task"]["taskArn"]]}),
    );
    assert_eq!(task["tasks"][0]["desiredStatus"], "STOPPED", "{task}");
}

#[test]
fn stdin_definition_without_arn_is_registered_and_written_back() {
    let (cluster, family) = setup("register");
    let mut td = definition(&family);
    td["containerDefinitions"][0]["image"] = json!("r.example/app:3");
    let doc = ecs_run()
        .args([
            "--cluster",
            &cluster,
            "--like-service",
            "web",
            "--interval",
            "100ms",
        ])
        .stdin_json(&json!({"taskDefinition": td}))
        .run()
        .success();
    assert!(
        doc["taskDefinition"]["taskDefinitionArn"]
            .as_str()
            .unwrap()
            .ends_with(&format!("{family}:2")),
        "{doc}"
    );
    assert_eq!(
        doc["taskDefinition"]["containerDefinitions"][0]["image"],
        "r.example/app:3"
    );
}

/// Checked in stdin's definition before it is registered: exit 2 and no
/// new revision.
#[test]
fn a_container_stdins_definition_lacks_is_refused_before_registering() {
    let (cluster, family) = setup("no-container-stdin");
    let mut td = definition(&family);
    td["containerDefinitions"][0]["image"] = json!("r.example/app:9");
    let out = ecs_run()
        .args([
            "--cluster",
            &cluster,
            "--like-service",
            "web",
            "--container",
            "nope",
        ])
        .stdin_json(&json!({"taskDefinition": td}))
        .run();
    let err = out.failure(2);
    assert!(err.contains("--container nope"), "{err}");
    let listed = moto_ecs("ListTaskDefinitions", &json!({"familyPrefix": family}));
    assert_eq!(
        listed["taskDefinitionArns"].as_array().unwrap().len(),
        1,
        "{listed}"
    );
}

/// The text before '=' may be a secret pasted whole: the error names the
/// flag and which use, not the text.
#[test]
fn a_bad_env_name_is_not_repeated() {
    let out = deploy_tests::tool(env!("CARGO_BIN_EXE_ecs-run"))
        .args([
            "--family",
            "web",
            "--env",
            "postgres://app:hunter2@db/x?a=b",
        ])
        .run();
    let err = out.failure(2);
    assert!(err.contains("--env (use 1 of 1)"), "{err}");
    assert!(!out.stderr.contains("hunter2"), "{}", out.stderr);
}

/// RunTask refused (moto: an EC2 launch with no container instance):
/// the object is still printed, with error, exit 1.
#[test]
fn a_run_that_cannot_start_still_prints_the_object() {
    let (cluster, family) = setup("cannot-start");
    let out = ecs_run()
        .args(["--cluster", &cluster, "--family", &format!("{family}:1")])
        .args(["--like-service", "web", "--launch-type", "EC2"])
        .stdin_json(&json!({"keep": "me"}))
        .run();
    let doc = out.failure_report(1);
    assert_eq!(doc["keep"], "me");
}

#[test]
fn a_container_the_definition_lacks_is_a_usage_error() {
    let (cluster, family) = setup("no-container");
    let out = run_like_web(&cluster, &family, &["--container", "worker"]);
    let err = out.failure(2);
    assert!(
        err.contains("--container worker") && err.contains("migrate"),
        "{err}"
    );
}

/// Each a usage error (exit 2) naming what is wrong, before any call (the
/// endpoint is a closed port: a call would fail otherwise).
macro_rules! usage_error {
    ($($name:ident: [$($arg:expr),*] => $want:expr;)*) => {$(
        #[test]
        fn $name() {
            let out = deploy_tests::tool(env!("CARGO_BIN_EXE_ecs-run"))
                .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
                .args([$($arg),*] as [&str; _])
                .run();
            let err = out.failure(2);
            assert!(err.contains($want), "{err}");
        }
    )*};
}

usage_error! {
    a_command_with_an_open_quote: ["--family", "web", "--command", "echo 'open"] => "--command";
    an_empty_json_command: ["--family", "web", "--command", "[]"] => "leave --command out";
    launch_type_and_capacity_provider: ["--family", "web", "--launch-type", "FARGATE", "--capacity-provider", "FARGATE"] => "--launch-type and --capacity-provider";
    a_revision_that_is_no_number: ["--family", "web:latest"] => "--family";
    a_timeout_that_is_no_duration: ["--family", "web", "--timeout", "soon"] => "--timeout";
    no_task_definition_at_all: [] => "no task definition";
    a_security_group_without_a_subnet: ["--family", "web", "--security-group", "sg-1"] => "need --subnet";
}

/// An ECS endpoint that accepts and never answers: stderr names the call
/// and the endpoint after 10 s, and the run ends at its --timeout (its
/// calls are bounded by it), not after the SDK's three minutes.
#[test]
fn a_stalled_endpoint_is_named_and_the_run_ends_at_its_timeout() {
    let endpoint = deploy_tests::silent_endpoint();
    // Old code waited the SDK's 180 s: past this run's 60 s, a failure.
    let out = deploy_tests::tool(env!("CARGO_BIN_EXE_ecs-run"))
        .env("AWS_ENDPOINT_URL", &endpoint)
        .env("AWS_ACCESS_KEY_ID", "t")
        .env("AWS_SECRET_ACCESS_KEY", "t")
        .env("AWS_REGION", "us-east-1")
        .args(["--family", "web:1", "--timeout", "13s"])
        .timeout(std::time::Duration::from_secs(60))
        .run();
    assert_ne!(out.code, 0, "{}", out.stderr);
    let doc = out.json();
    assert_eq!(doc["error"]["tool"], "ecs-run", "{doc}");
    assert!(
        out.stderr.contains("ecs-run: still waiting for ecs:"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains(&format!("at {endpoint}/: no answer in 10s")),
        "{}",
        out.stderr
    );
}

/// `-t FILE`: a definition in a file is registered (as ecs-deploy would)
/// and run, like one on stdin.
#[test]
fn a_task_definition_file_is_registered_and_run() {
    let (cluster, family) = setup("file");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("td.json");
    let mut td = definition(&family);
    td["containerDefinitions"][0]["image"] = json!("r.example/app:2");
    std::fs::write(&file, serde_json::to_vec(&td).unwrap()).unwrap();
    let out = ecs_run()
        .args(["--cluster", &cluster, "-t", file.to_str().unwrap()])
        .args([
            "--like-service",
            "web",
            "--interval",
            "100ms",
            "--tags",
            "run=file",
        ])
        .run();
    let doc = out.success();
    assert_eq!(doc["task"]["containers"][0]["exitCode"], 0);
    let registered = doc["taskDefinition"]["taskDefinitionArn"].as_str().unwrap();
    assert!(registered.ends_with(&format!("{family}:2")), "{registered}");
    assert_eq!(
        run_task_sent(&cluster)["tags"],
        json!([{"key": "run", "value": "file"}])
    );
}

/// The old spellings: `--task-definition FAMILY:REV` (no such file) is
/// taken as `--family`, and `--tag` as `--tags`, each with a warning.
#[test]
fn the_old_spellings_still_run_and_warn() {
    let (cluster, family) = setup("old");
    let out = ecs_run()
        .args([
            "--cluster",
            &cluster,
            "--task-definition",
            &format!("{family}:1"),
        ])
        .args([
            "--like-service",
            "web",
            "--interval",
            "100ms",
            "--tag",
            "run=old",
        ])
        .run();
    out.success();
    assert!(
        out.stderr.contains(&format!(
            "ecs-run: warning: --task-definition {family}:1: no such file, taken as --family {family}:1"
        )),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("ecs-run: warning: --tag is now --tags"),
        "{}",
        out.stderr
    );
    assert_eq!(
        run_task_sent(&cluster)["tags"],
        json!([{"key": "run", "value": "old"}])
    );
}

/// ECS stops answering DescribeTasks while the task runs: the run still
/// ends at --timeout as a time-out (exit 3, the report, StopTask), not as a
/// failed call (it was exit 1, the task left running).
#[test]
fn a_poll_ecs_leaves_unanswered_ends_as_a_timeout_and_stops_the_task() {
    let (cluster, family) = setup("stall");
    let proxy = deploy_tests::scripted::StallingProxy::start("DescribeTasks");
    let out = ecs_run()
        .env("AWS_ENDPOINT_URL", &proxy.url)
        .args(["--cluster", &cluster, "--family", &format!("{family}:1")])
        .args([
            "--like-service",
            "web",
            "--timeout",
            "6s",
            "--stop-on-timeout",
        ])
        .timeout(std::time::Duration::from_secs(60))
        .run();
    let doc = out.failure_report(3);
    assert!(doc["task"]["taskArn"].is_string(), "{doc}");
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap()
            .contains("stopped (--stop-on-timeout)"),
        "{doc}"
    );
    assert_eq!(
        deploy_tests::moto_calls("ecs", "StopTask")
            .iter()
            .filter(|b| b["cluster"] == cluster)
            .count(),
        1
    );
}
