//! What moto cannot produce, scripted with aws-smithy-mocks (ECS's and
//! CloudWatch Logs' JSON as raw bodies, so the raw JSON is kept as with the
//! real services): RunTask failures, a task that never started (image pull),
//! log events arriving over several polls.

use aws_sdk_cloudwatchlogs::Client as LogsClient;
use aws_sdk_ecs::Client;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use deploykit::stream::Envelope;
use ecs_run::logs::{Logs, Source, Stream};
use ecs_run::{Args, Config, execute};
use serde_json::{Value, json};

const TD: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/mig:1";
const TASK: &str = "arn:aws:ecs:us-east-1:123456789012:task/prod/abc123";

fn ok(body: Value) -> Option<String> {
    Some(body.to_string())
}

fn config() -> Config {
    use clap::Parser;
    Config::from_args(Args::parse_from([
        "ecs-run",
        "--cluster",
        "prod",
        "--family",
        "mig:1",
        "--interval",
        "100ms",
        "--no-logs",
    ]))
    .unwrap()
}

fn describe_td() -> Rule {
    mock!(Client::describe_task_definition)
        .sequence()
        .http_status(
            200,
            ok(
                json!({"taskDefinition": {"taskDefinitionArn": TD, "family": "mig", "revision": 1,
                "containerDefinitions": [{"name": "migrate", "image": "r.example/app:1"}]}}),
            ),
        )
        .repeatedly()
        .build()
}

fn no_logs() -> Logs {
    Logs::with_client(mock_client!(aws_sdk_cloudwatchlogs, []))
}

#[tokio::test]
async fn run_task_failures_are_exit_1_with_the_reason() {
    let td = describe_td();
    let run = mock!(Client::run_task)
        .sequence()
        .http_status(
            200,
            ok(json!({"tasks": [], "failures": [{"arn": "arn:aws:ecs:us-east-1:123456789012:container-instance/i-1", "reason": "RESOURCE:MEMORY"}]})),
        )
        .build();
    let client = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, [&td, &run]);
    // Nothing ran, but there is a report: printed with error, exit 1.
    let outcome = execute(&config(), &client, &no_logs(), Envelope::new(), None)
        .await
        .unwrap();
    let doc = format!("{outcome:?}");
    assert!(doc.contains("RESOURCE:MEMORY"), "{doc}");
    assert!(doc.contains("\"failures\""), "the failures in task: {doc}");
    assert!(doc.contains("Failed"), "exit 1: {doc}");
}

/// The image could not be pulled: the task stops without an exit code; the
/// stopped reason says why, and the run fails with the object printed.
#[tokio::test]
async fn a_task_that_never_started_fails_with_its_stopped_reason() {
    let td = describe_td();
    let run = mock!(Client::run_task)
        .sequence()
        .http_status(
            200,
            ok(json!({"tasks": [{"taskArn": TASK, "lastStatus": "PROVISIONING"}], "failures": []})),
        )
        .build();
    let reason = "CannotPullContainerError: pull image manifest has been retried 5 time(s): r.example/app:1: not found";
    let describe = mock!(Client::describe_tasks)
        .sequence()
        .http_status(
            200,
            ok(json!({"tasks": [{"taskArn": TASK, "lastStatus": "STOPPED", "stopCode": "TaskFailedToStart",
                "stoppedReason": reason,
                "containers": [{"name": "migrate", "lastStatus": "STOPPED", "reason": "CannotPullContainerError"}]}],
                "failures": []})),
        )
        .build();
    let client = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, [&td, &run, &describe]);
    let outcome = execute(&config(), &client, &no_logs(), Envelope::new(), None)
        .await
        .unwrap();
    let doc = format!("{outcome:?}");
    assert!(doc.contains("never ran to an exit code"), "{doc}");
    assert!(doc.contains(reason), "{doc}");
    assert!(doc.contains("TaskFailedToStart"), "{doc}");
}

/// Events that arrive while the task runs are printed as they come, each
/// once, across polls (the forward token is kept between them).
#[tokio::test]
async fn log_events_across_polls_are_printed_once_each() {
    let page = |events: &[&str], token: &str| {
        let events: Vec<Value> = events
            .iter()
            .enumerate()
            .map(|(i, m)| json!({"timestamp": 1_700_000_000_000u64 + i as u64, "message": m, "ingestionTime": 1_700_000_000_000u64}))
            .collect();
        ok(json!({"events": events, "nextForwardToken": token, "nextBackwardToken": "b"}))
    };
    let pages = mock!(LogsClient::get_log_events)
        .sequence()
        .http_status(200, page(&["migrating 1/2"], "f/1"))
        .http_status(200, page(&[], "f/1"))
        .http_status(200, page(&["migrating 2/2", "done"], "f/2"))
        .http_status(200, page(&[], "f/2"))
        .http_status(200, page(&[], "f/2"))
        .build();
    let logs = Logs::with_client(mock_client!(
        aws_sdk_cloudwatchlogs,
        RuleMode::Sequential,
        [&pages]
    ));
    let container = json!({"name": "migrate", "logConfiguration": {"logDriver": "awslogs",
        "options": {"awslogs-group": "/ecs/mig", "awslogs-stream-prefix": "ecs"}}});
    let mut stream = Stream::new(
        &Source::of(&container).unwrap(),
        "migrate",
        "abc123",
        deploykit::ecs::logs::Mask::default(),
    );
    assert_eq!(stream.poll(&logs, false).await, ["migrate | migrating 1/2"]);
    assert_eq!(
        stream.poll(&logs, false).await,
        ["migrate | migrating 2/2", "migrate | done"]
    );
    assert_eq!(stream.poll(&logs, true).await, Vec::<String>::new());
    assert_eq!(pages.num_calls(), 5);
}

/// The migration fails: its report holds the container's last 20 log lines
/// as they were shown (`task.containers[].lastLogLines`), the definition's
/// environment values and --env's masked, control characters escaped.
#[tokio::test]
async fn a_failed_task_reports_its_containers_last_log_lines_masked() {
    use clap::Parser;
    let secret = "s3cr3t-db-password";
    let td = mock!(Client::describe_task_definition)
        .sequence()
        .http_status(
            200,
            ok(
                json!({"taskDefinition": {"taskDefinitionArn": TD, "family": "mig", "revision": 1,
                "containerDefinitions": [{"name": "migrate", "image": "r.example/app:1",
                    "environment": [{"name": "DB_PASSWORD", "value": secret}],
                    "logConfiguration": {"logDriver": "awslogs", "options": {
                        "awslogs-group": "/ecs/mig", "awslogs-stream-prefix": "ecs"}}}]}}),
            ),
        )
        .repeatedly()
        .build();
    let run = mock!(Client::run_task)
        .sequence()
        .http_status(
            200,
            ok(json!({"tasks": [{"taskArn": TASK, "lastStatus": "PROVISIONING"}], "failures": []})),
        )
        .build();
    let describe = mock!(Client::describe_tasks)
        .sequence()
        .http_status(
            200,
            ok(json!({"tasks": [{"taskArn": TASK, "lastStatus": "STOPPED",
                "stoppedReason": "Essential container in task exited",
                "containers": [{"name": "migrate", "lastStatus": "STOPPED", "exitCode": 2}]}],
                "failures": []})),
        )
        .build();
    let client = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, [&td, &run, &describe]);
    let mut lines: Vec<String> = (1..=24).map(|i| format!("step {i}")).collect();
    lines.push(format!("login failed for {secret}"));
    lines.push("using token tok-abcdef-123 (from --env)".to_string());
    lines.push("\u{1b}[2Jcleared".to_string());
    let events: Vec<Value> = lines
        .iter()
        .enumerate()
        .map(|(i, m)| json!({"timestamp": 1_700_000_000_000u64 + i as u64, "message": m}))
        .collect();
    let pages = mock!(LogsClient::get_log_events)
        .sequence()
        .http_status(
            200,
            ok(json!({"events": events, "nextForwardToken": "f/1"})),
        )
        .http_status(200, ok(json!({"events": [], "nextForwardToken": "f/1"})))
        .repeatedly()
        .build();
    let logs = Logs::with_client(mock_client!(
        aws_sdk_cloudwatchlogs,
        RuleMode::Sequential,
        [&pages]
    ));
    let config = Config::from_args(Args::parse_from([
        "ecs-run",
        "--cluster",
        "prod",
        "--family",
        "mig:1",
        "--interval",
        "100ms",
        "--env",
        "API_TOKEN=tok-abcdef-123",
    ]))
    .unwrap();
    let outcome = execute(&config, &client, &logs, Envelope::new(), None)
        .await
        .unwrap();
    let (doc, error) = outcome.into_parts();
    assert!(error.is_some(), "exit 2 is a failure");
    let doc = Value::Object(doc.unwrap());
    let mut expected: Vec<String> = (8..=24).map(|i| format!("step {i}")).collect();
    expected.push("login failed for ***".to_string());
    expected.push("using token *** (from --env)".to_string());
    expected.push("\\u{1b}[2Jcleared".to_string());
    assert_eq!(
        doc["task"]["containers"][0]["lastLogLines"],
        json!(expected)
    );
    assert!(!doc.to_string().contains(secret), "{doc}");
    assert!(!doc.to_string().contains("tok-abcdef-123"), "{doc}");
}
