//! What ecs-wait's mocked tests share: a clock that moves only when the
//! wait sleeps, and ECS answers scripted as timelines on that clock
//! (aws-smithy-mocks, ECS's JSON as raw HTTP bodies, so the SDK parses
//! them as it parses the real service's).

#![allow(dead_code)] // each test file uses its own part of this

use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_ecs::Client;
use aws_sdk_ecs::config::retry::RetryConfig;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use ecs_wait::{Clock, Plan, Target, Until, WaitArgs, Waited};
use serde_json::{Value, json};

pub const CLUSTER_ARN: &str = "arn:aws:ecs:us-east-1:123456789012:cluster/prod";
pub const TD_1: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1";
pub const TD_2: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:2";
pub const SD: &str = "arn:aws:ecs:us-east-1:123456789012:service-deployment/prod/web/abc";
pub const REV_1: &str = "arn:aws:ecs:us-east-1:123456789012:service-revision/prod/web/1";
pub const REV_2: &str = "arn:aws:ecs:us-east-1:123456789012:service-revision/prod/web/2";
/// When the deployments of these tests began (epoch seconds).
pub const T0: f64 = 1_764_000_000.0;

/// A clock that moves only when the wait sleeps.
#[derive(Clone, Default)]
pub struct FakeClock(Arc<Mutex<Duration>>);

impl FakeClock {
    pub fn secs(&self) -> u64 {
        self.now().as_secs()
    }
}

impl Clock for FakeClock {
    fn now(&self) -> Duration {
        *self.0.lock().unwrap()
    }

    async fn sleep(&self, d: Duration) {
        *self.0.lock().unwrap() += d;
    }
}

pub fn response(status: u16, body: &Value) -> HttpResponse {
    HttpResponse::new(
        StatusCode::try_from(status).unwrap(),
        SdkBody::from(body.to_string()),
    )
}

/// The entry of `steps` in force at `t`: the last whose start is ≤ t.
pub fn at(steps: &[(u64, Value)], t: u64) -> Value {
    steps
        .iter()
        .rev()
        .find(|(from, _)| *from <= t)
        .map(|(_, v)| v.clone())
        .expect("a timeline starts at 0")
}

/// DescribeServices answering, at each second, with the services of `steps`.
pub fn services_timeline(clock: &FakeClock, steps: Vec<(u64, Value)>) -> Rule {
    let clock = clock.clone();
    mock!(Client::describe_services).then_http_response(move || {
        let services = at(&steps, clock.secs());
        response(200, &json!({"services": services, "failures": []}))
    })
}

/// DescribeServices with one service, its deployments changing over time.
pub fn service_timeline(clock: &FakeClock, steps: Vec<(u64, Value)>) -> Rule {
    services_timeline(
        clock,
        steps.into_iter().map(|(t, s)| (t, json!([s]))).collect(),
    )
}

/// DescribeServiceDeployments answering with the deployment of `steps`.
pub fn deployment_timeline(clock: &FakeClock, steps: Vec<(u64, Value)>) -> Rule {
    let clock = clock.clone();
    mock!(Client::describe_service_deployments).then_http_response(move || {
        let sd = at(&steps, clock.secs());
        response(200, &json!({"serviceDeployments": [sd], "failures": []}))
    })
}

/// A service of cluster prod; `deployments` as DescribeServices lists them.
pub fn service(name: &str, deployments: Value) -> Value {
    json!({"serviceName": name,
        "serviceArn": format!("arn:aws:ecs:us-east-1:123456789012:service/prod/{name}"),
        "clusterArn": CLUSTER_ARN, "status": "ACTIVE", "desiredCount": 2, "runningCount": 2,
        "taskDefinition": TD_2, "deployments": deployments, "events": []})
}

/// A deployment in DescribeServices' `deployments`.
pub fn deployment(id: &str, status: &str, rollout: Option<&str>, running: i64) -> Value {
    let mut d = json!({"id": id, "status": status, "taskDefinition": TD_2, "desiredCount": 2,
        "runningCount": running, "pendingCount": 2 - running, "failedTasks": 0, "createdAt": T0});
    if let Some(state) = rollout {
        d["rolloutState"] = json!(state);
        d["rolloutStateReason"] = json!(format!("ECS deployment {id} {state}."));
    }
    d
}

/// A service deployment in DescribeServiceDeployments' answer.
pub fn service_deployment(status: &str) -> Value {
    json!({"serviceDeploymentArn": SD, "status": status, "createdAt": T0,
        "sourceServiceRevisions": [{"arn": REV_1, "requestedTaskCount": 0, "runningTaskCount": 2, "pendingTaskCount": 0}],
        "targetServiceRevision": {"arn": REV_2, "requestedTaskCount": 2, "runningTaskCount": 1, "pendingTaskCount": 1},
        "deploymentCircuitBreaker": {"status": "MONITORING", "failureCount": 0, "threshold": 3}})
}

pub fn client(rules: &[&Rule]) -> Client {
    mock_client!(aws_sdk_ecs, RuleMode::MatchAny, rules, |c| c.retry_config(
        RetryConfig::standard()
            .with_max_attempts(3)
            .with_initial_backoff(Duration::from_millis(1))
    ))
}

/// ListTasks and DescribeTasks with these tasks (no task: no DescribeTasks).
pub fn stopped_tasks(tasks: Vec<Value>) -> (Rule, Rule) {
    let arns: Vec<Value> = tasks.iter().map(|t| t["taskArn"].clone()).collect();
    let list = mock!(Client::list_tasks)
        .then_http_response(move || response(200, &json!({"taskArns": arns})));
    let describe = mock!(Client::describe_tasks)
        .then_http_response(move || response(200, &json!({"tasks": tasks, "failures": []})));
    (list, describe)
}

/// A plan for one target with these flags (`--until`, `--timeout`, ...).
pub fn plan(targets: Vec<Target>, until: Until, timeout: &str) -> Plan {
    Plan::with(
        &WaitArgs {
            until: Some(until),
            timeout: Some(timeout.to_string()),
            interval: None,
            max_failed_tasks: None,
        },
        targets,
    )
    .unwrap()
}

pub fn target(service: &str, deployment: Option<&str>) -> Target {
    Target {
        cluster: "prod".to_string(),
        service: service.to_string(),
        deployment: deployment.map(str::to_string),
        tasks_started_by: None,
        rollback: None,
    }
}

/// A wait run to its end on `clock`: what it returned and said.
pub async fn run(client: &Client, clock: &FakeClock, plan: &Plan) -> (Waited, Vec<String>) {
    let lines = RefCell::new(Vec::new());
    let waited = ecs_wait::wait(client, clock, plan, &|l| {
        lines.borrow_mut().push(l.to_string())
    })
    .await;
    (waited, lines.into_inner())
}

/// Counts calls of a closure-made rule (`Rule::num_calls` counts them too;
/// this is for answers that change with the call number).
#[derive(Clone, Default)]
pub struct Counter(Arc<AtomicUsize>);

impl Counter {
    pub fn next(&self) -> usize {
        self.0.fetch_add(1, Ordering::SeqCst)
    }
}
