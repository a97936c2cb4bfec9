//! The states moto cannot produce, scripted with aws-smithy-mocks: a
//! CODE_DEPLOY controller, a DRAINING service, a rollback of a service
//! deployment in progress (StopServiceDeployment, which moto lacks),
//! throttling on UpdateService, AccessDenied (ContinueServiceDeployment's
//! too). The responses are ECS's JSON
//! as raw HTTP bodies, so the SDK parses them and the raw JSON is kept, as
//! with the real service. `ecs_deploy::deploy` takes the mocked client.
//!
//! aws-sdk-ecs is built once: `test-util` is on ecs-deploy's normal
//! dependency (crates/ecs-deploy/Cargo.toml says why).

use std::time::Duration;

use aws_sdk_ecs::Client;
use aws_sdk_ecs::config::retry::RetryConfig;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use deploykit::Outcome;
use deploykit::stream::Envelope;
use ecs_deploy::{Args, Config, Definition, deploy};
use serde_json::{Value, json};

const TD_1: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1";
const TD_2: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:2";
const SD: &str = "arn:aws:ecs:us-east-1:123456789012:service-deployment/prod/web/abc";

fn client(rules: &[&Rule]) -> Client {
    mock_client!(aws_sdk_ecs, RuleMode::MatchAny, rules, |c| c.retry_config(
        RetryConfig::standard()
            .with_max_attempts(3)
            .with_initial_backoff(Duration::from_millis(1))
    ))
}

fn ok(body: Value) -> Option<String> {
    Some(body.to_string())
}

fn service(controller: &str, status: &str, deployments: Value) -> Value {
    json!({"serviceName": "web", "serviceArn": "arn:aws:ecs:us-east-1:123456789012:service/prod/web",
        "clusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/prod", "status": status,
        "taskDefinition": TD_2, "desiredCount": 1, "deploymentController": {"type": controller},
        "deployments": deployments})
}

fn describe_services(service: Value) -> Rule {
    mock!(Client::describe_services)
        .sequence()
        .http_status(200, ok(json!({"services": [service], "failures": []})))
        .repeatedly()
        .build()
}

fn register() -> Rule {
    mock!(Client::register_task_definition)
        .sequence()
        .http_status(
            200,
            ok(
                json!({"taskDefinition": {"taskDefinitionArn": TD_2, "family": "web", "revision": 2,
            "containerDefinitions": [{"name": "web", "image": "i"}]}}),
            ),
        )
        .build()
}

fn args(extra: &[&str]) -> Config {
    use clap::Parser;
    let mut argv = vec!["ecs-deploy", "--cluster", "prod", "--service", "web"];
    argv.extend(extra);
    Config::from_args(Args::parse_from(argv)).unwrap()
}

fn definition() -> Option<Definition> {
    Some(Definition {
        td: json!({"family": "web", "containerDefinitions": [{"name": "web", "image": "i"}]}),
        registered_as: None,
    })
}

async fn run(
    config: &Config,
    client: &Client,
    def: Option<Definition>,
) -> deploykit::Result<Outcome> {
    deploy(config, client, "us-east-1", Envelope::new(), def).await
}

#[tokio::test]
async fn a_code_deploy_service_is_not_supported_and_nothing_is_registered() {
    let describe = describe_services(service("CODE_DEPLOY", "ACTIVE", json!([])));
    let register = register();
    let client = client(&[&describe, &register]);
    let e = run(&args(&[]), &client, definition()).await.unwrap_err();
    assert_eq!(e.exit().code(), 1);
    assert!(
        e.message()
            .contains("uses the CODE_DEPLOY deployment controller: not supported"),
        "{e}"
    );
    assert_eq!(register.num_calls(), 0);
}

#[tokio::test]
async fn a_draining_service_is_refused_and_nothing_is_registered() {
    let describe = describe_services(service("ECS", "DRAINING", json!([])));
    let register = register();
    let client = client(&[&describe, &register]);
    let e = run(&args(&[]), &client, definition()).await.unwrap_err();
    assert!(
        e.message()
            .contains("service \"web\" in cluster \"prod\" is DRAINING"),
        "{e}"
    );
    assert_eq!(register.num_calls(), 0);
}

#[tokio::test]
async fn rollback_of_a_deployment_in_progress_asks_ecs_to_roll_it_back() {
    let mut svc = service(
        "ECS",
        "ACTIVE",
        json!([
        {"id": "ecs-svc/2", "status": "PRIMARY", "taskDefinition": TD_2, "rolloutState": "IN_PROGRESS"},
        {"id": "ecs-svc/1", "status": "ACTIVE", "taskDefinition": TD_1, "rolloutState": "COMPLETED"}]),
    );
    svc["currentServiceDeployment"] = json!(SD);
    let describe = describe_services(svc);
    let deployments = mock!(Client::describe_service_deployments)
        .sequence()
        .http_status(200, ok(json!({"serviceDeployments": [{"serviceDeploymentArn": SD, "status": "IN_PROGRESS"}], "failures": []})))
        .build();
    let stop = mock!(Client::stop_service_deployment)
        .match_requests(|r| {
            r.service_deployment_arn() == Some(SD)
                && r.stop_type().map(|t| t.as_str()) == Some("ROLLBACK")
        })
        .sequence()
        .http_status(200, ok(json!({"serviceDeploymentArn": SD})))
        .build();
    let task_definition = mock!(Client::describe_task_definition)
        .sequence()
        .http_status(200, ok(json!({"taskDefinition": {"taskDefinitionArn": TD_1, "family": "web", "revision": 1}})))
        .build();
    let update = mock!(Client::update_service)
        .sequence()
        .http_status(500, None)
        .build();
    let client = client(&[&describe, &deployments, &stop, &task_definition, &update]);
    let config = Config::from_args(clap::Parser::parse_from([
        "ecs-deploy",
        "--rollback",
        "--cluster",
        "prod",
        "--service",
        "web",
    ]))
    .unwrap();
    let outcome = run(&config, &client, None).await.unwrap();
    let (doc, error) = outcome.into_parts();
    let doc = doc.expect("an object");
    assert!(error.is_none(), "{error:?}");
    assert_eq!(stop.num_calls(), 1);
    assert_eq!(
        update.num_calls(),
        0,
        "no UpdateService: ECS rolls back itself"
    );
    assert_eq!(
        doc["rollback"],
        json!({"from": TD_2, "to": TD_1, "method": "stopServiceDeployment", "serviceDeployment": SD}),
    );
    assert_eq!(doc["taskDefinition"]["taskDefinitionArn"], TD_1);
    assert_eq!(doc["service"]["serviceName"], "web");
}

#[tokio::test]
async fn throttling_on_update_service_is_retried() {
    let describe = describe_services(service("ECS", "ACTIVE", json!([])));
    let register = register();
    // What the retried UpdateService answers, told apart from DescribeServices'.
    let updated = service(
        "ECS",
        "ACTIVE",
        json!([{"id": "ecs-svc/2", "status": "PRIMARY", "taskDefinition": TD_2, "rolloutState": "IN_PROGRESS"}]),
    );
    let update = mock!(Client::update_service)
        .sequence()
        .http_status(
            400,
            ok(json!({"__type": "ThrottlingException", "message": "Rate exceeded"})),
        )
        .http_status(200, ok(json!({"service": updated})))
        .build();
    let client = client(&[&describe, &register, &update]);
    let outcome = run(&args(&[]), &client, definition()).await.unwrap();
    assert_eq!(update.num_calls(), 2);
    let (doc, error) = outcome.into_parts();
    let doc = doc.expect("an object");
    assert!(error.is_none(), "{error:?}");
    assert_eq!(doc["service"], updated, "the retried call's answer");
    assert_eq!(doc["taskDefinition"]["taskDefinitionArn"], TD_2);
}

#[tokio::test]
async fn access_denied_names_the_action_and_aws_words() {
    let describe = describe_services(service("ECS", "ACTIVE", json!([])));
    let register = register();
    let denied = "User: arn:aws:sts::123456789012:assumed-role/ci/gh is not authorized to perform: ecs:UpdateService on resource: arn:aws:ecs:us-east-1:123456789012:service/prod/web";
    let update = mock!(Client::update_service)
        .sequence()
        .http_status(
            400,
            ok(json!({"__type": "AccessDeniedException", "message": denied})),
        )
        .build();
    let client = client(&[&describe, &register, &update]);
    // The revision was registered: the object is still printed (DESIGN's
    // failure contract), the service's error in it, and the exit is 1.
    let outcome = run(&args(&[]), &client, definition()).await.unwrap();
    let (doc, error) = outcome.into_parts();
    let doc = doc.expect("an object");
    assert_eq!(
        doc["taskDefinition"]["taskDefinitionArn"], TD_2,
        "the registered revision"
    );
    let failed = &doc["service"];
    assert_eq!(failed["serviceName"], "web", "{failed}");
    // (`error.tool` is the binary's name, set by its main: not run here.)
    assert_eq!(failed["error"]["exitCode"], 1, "{failed}");
    let said = failed["error"]["message"].as_str().unwrap();
    assert!(
        said.contains("(ecs:UpdateService): AccessDeniedException: "),
        "{said}"
    );
    assert!(said.contains(denied), "{said}");
    let error = error.expect("the run failed");
    assert_eq!(error.exit().code(), 1);
    assert!(error.message().contains(denied), "{}", error.message());
    assert!(
        error
            .message()
            .contains("web:2 registered; nothing deployed"),
        "{}",
        error.message()
    );
}

/// RegisterTaskDefinition refused as real AWS refuses it, `message` its
/// words: nothing is registered, nothing deployed; the error.
async fn register_refused(message: &str) -> deploykit::Error {
    let describe = describe_services(service("ECS", "ACTIVE", json!([])));
    let register = mock!(Client::register_task_definition)
        .sequence()
        .http_status(
            400,
            ok(json!({"__type": "AccessDeniedException", "message": message})),
        )
        .build();
    let update = mock!(Client::update_service).then_output(|| {
        aws_sdk_ecs::operation::update_service::UpdateServiceOutput::builder().build()
    });
    let client = client(&[&describe, &register, &update]);
    let mut def = definition().unwrap();
    def.td["tags"] = json!([{"key": "app", "value": "web"}]);
    def.td["taskRoleArn"] = json!("arn:aws:iam::123456789012:role/web-task");
    let e = run(&args(&[]), &client, Some(def)).await.unwrap_err();
    assert_eq!(update.num_calls(), 0, "nothing deployed");
    e
}

/// Since 2024 ECS authorizes the tags given on create: a definition with
/// tags needs ecs:TagResource too, and the statement to add says so with
/// its condition (moto never asks for it).
#[tokio::test]
async fn tags_refused_on_register_name_tag_resource_with_its_condition() {
    let e = register_refused("User: arn:aws:sts::123456789012:assumed-role/ci-deploy/gh-run-7 is not authorized to perform: ecs:TagResource on resource: arn:aws:ecs:us-east-1:123456789012:task-definition/web:3 because no identity-based policy allows the ecs:TagResource action").await;
    let said = e.message();
    assert!(said.contains("(ecs:RegisterTaskDefinition)"), "{said}");
    assert!(
        said.contains("role ci-deploy (session gh-run-7, arn:aws:sts::123456789012:assumed-role/ci-deploy/gh-run-7) lacks ecs:TagResource (tags given when a resource is created need it too)"),
        "{said}"
    );
    assert!(
        said.contains(
            r#""Condition":{"StringEquals":{"ecs:CreateAction":["RegisterTaskDefinition","#
        ),
        "{said}"
    );
}

/// A definition with a task role passes it to ECS: iam:PassRole on that
/// role (moto never asks for it either).
#[tokio::test]
async fn a_role_refused_on_register_names_pass_role_on_that_role() {
    let e = register_refused("User: arn:aws:sts::123456789012:assumed-role/ci-deploy/gh-run-7 is not authorized to perform: iam:PassRole on resource: arn:aws:iam::123456789012:role/web-task because no identity-based policy allows the iam:PassRole action").await;
    let said = e.message();
    assert!(said.contains("lacks iam:PassRole (a task definition's taskRoleArn or executionRoleArn is passed to ECS)"), "{said}");
    assert!(
        said.contains(r#"{"Effect":"Allow","Action":"iam:PassRole","Resource":"arn:aws:iam::123456789012:role/web-task","Condition":{"StringEquals":{"iam:PassedToService":"ecs-tasks.amazonaws.com"}}}"#),
        "{said}"
    );
}

/// After a finished deploy, ECS lists no old deployment on the service:
/// the revision it ran before comes from its deployment history, not from
/// the family (whose revision before may never have run).
#[tokio::test]
async fn rollback_after_a_finished_deploy_goes_to_what_the_service_ran_before() {
    const TD_3: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:3";
    const REV_3: &str = "arn:aws:ecs:us-east-1:123456789012:service-revision/prod/web/3";
    const REV_1: &str = "arn:aws:ecs:us-east-1:123456789012:service-revision/prod/web/1";
    let mut svc = service(
        "ECS",
        "ACTIVE",
        json!([{"id": "ecs-svc/3", "status": "PRIMARY", "taskDefinition": TD_3, "rolloutState": "COMPLETED"}]),
    );
    svc["taskDefinition"] = json!(TD_3);
    let describe = describe_services(svc.clone());
    let history = mock!(Client::list_service_deployments)
        .sequence()
        .http_status(200, ok(json!({"serviceDeployments": [
            {"serviceDeploymentArn": "sd/1", "targetServiceRevisionArn": REV_1, "status": "SUCCESSFUL", "createdAt": 1700000000.0, "finishedAt": 1700000100.0},
            {"serviceDeploymentArn": "sd/3", "targetServiceRevisionArn": REV_3, "status": "SUCCESSFUL", "createdAt": 1700000500.0, "finishedAt": 1700000600.0}]})))
        .build();
    let revision_3 = mock!(Client::describe_service_revisions)
        .match_requests(|r| r.service_revision_arns() == [REV_3])
        .sequence()
        .http_status(200, ok(json!({"serviceRevisions": [{"serviceRevisionArn": REV_3, "taskDefinition": TD_3}], "failures": []})))
        .build();
    let revision_1 = mock!(Client::describe_service_revisions)
        .match_requests(|r| r.service_revision_arns() == [REV_1])
        .sequence()
        .http_status(200, ok(json!({"serviceRevisions": [{"serviceRevisionArn": REV_1, "taskDefinition": TD_1}], "failures": []})))
        .build();
    // The family's revision before (2) was registered, never deployed.
    let family = mock!(Client::list_task_definitions)
        .sequence()
        .http_status(200, ok(json!({"taskDefinitionArns": [TD_3, TD_2, TD_1]})))
        .build();
    let task_definition = mock!(Client::describe_task_definition)
        .sequence()
        .http_status(200, ok(json!({"taskDefinition": {"taskDefinitionArn": TD_1, "family": "web", "revision": 1}})))
        .build();
    let update = mock!(Client::update_service)
        .match_requests(|r| r.task_definition() == Some(TD_1))
        .sequence()
        .http_status(200, ok(json!({"service": svc})))
        .build();
    let client = client(&[
        &describe,
        &history,
        &revision_3,
        &revision_1,
        &family,
        &task_definition,
        &update,
    ]);
    let config = Config::from_args(clap::Parser::parse_from([
        "ecs-deploy",
        "--rollback",
        "--cluster",
        "prod",
        "--service",
        "web",
    ]))
    .unwrap();
    let outcome = run(&config, &client, None).await.unwrap();
    let (doc, error) = outcome.into_parts();
    let doc = doc.expect("an object");
    assert!(error.is_none(), "{error:?}");
    assert_eq!(update.num_calls(), 1, "updated to web:1: {doc:?}");
    assert_eq!(
        doc["rollback"],
        json!({"from": TD_3, "to": TD_1, "method": "update"}),
    );
    assert_eq!(doc["taskDefinition"]["taskDefinitionArn"], TD_1);
    assert_eq!(family.num_calls(), 0, "the family was not needed");
}

/// A clock that moves only when the wait sleeps.
#[derive(Default)]
struct FakeClock(std::sync::Mutex<Duration>);

impl deploykit::ecs::wait::Clock for FakeClock {
    fn now(&self) -> Duration {
        *self.0.lock().unwrap()
    }

    async fn sleep(&self, d: Duration) {
        *self.0.lock().unwrap() += d;
    }
}

/// `--wait` runs ecs-wait's own wait on the updated service: a rollout
/// that ECS rolls back is exit 1, the wait report in the object.
#[tokio::test]
async fn wait_reports_a_rollback_with_exit_1() {
    let mut svc = service(
        "ECS",
        "ACTIVE",
        json!([{"id": "ecs-svc/2", "status": "PRIMARY", "taskDefinition": TD_2, "rolloutState": "IN_PROGRESS"}]),
    );
    svc["currentServiceDeployment"] = json!(SD);
    let describe = describe_services(svc.clone());
    let register = register();
    let update = mock!(Client::update_service)
        .sequence()
        .http_status(200, ok(json!({"service": svc})))
        .build();
    let deployments = mock!(Client::describe_service_deployments)
        .sequence()
        .http_status(200, ok(json!({"serviceDeployments": [{"serviceDeploymentArn": SD, "status": "IN_PROGRESS"}], "failures": []})))
        .http_status(200, ok(json!({"serviceDeployments": [{"serviceDeploymentArn": SD, "status": "ROLLBACK_SUCCESSFUL",
            "statusReason": "circuit breaker", "rollback": {"reason": "tasks failed"}}], "failures": []})))
        .build();
    let list = mock!(Client::list_tasks)
        .sequence()
        .http_status(200, ok(json!({"taskArns": []})))
        .build();
    let client = client(&[&describe, &register, &update, &deployments, &list]);
    let config = args(&["--wait", "--timeout", "5m"]);
    let outcome = run(&config, &client, definition()).await.unwrap();
    let outcome = ecs_deploy::wait_after(
        &config,
        config.wait.as_ref().unwrap(),
        &client,
        &FakeClock::default(),
        outcome,
    )
    .await
    .unwrap();
    let (doc, error) = outcome.into_parts();
    let doc = doc.unwrap();
    assert_eq!(doc["wait"]["status"], "failed");
    assert_eq!(doc["wait"]["state"], "ROLLBACK_SUCCESSFUL");
    assert_eq!(doc["wait"]["elapsedSeconds"], 2);
    assert_eq!(error.unwrap().exit().code(), 1);
}

/// A rolling deployment in progress: the new revision PRIMARY, the old one
/// still ACTIVE while its tasks drain (moto replaces the deployment at
/// once, so it never shows this). Revisions 1-4 exist, web ran 1, the
/// update registers 5; keeping 2: 2 and 3 go, 1 stays because the ACTIVE
/// deployment still runs it.
#[tokio::test]
async fn keep_revisions_spares_a_revision_a_draining_deployment_runs() {
    let td = |n: u32| format!("arn:aws:ecs:us-east-1:123456789012:task-definition/web:{n}");
    let describe = describe_services(service("ECS", "ACTIVE", json!([])));
    let register = mock!(Client::register_task_definition)
        .sequence()
        .http_status(
            200,
            ok(
                json!({"taskDefinition": {"taskDefinitionArn": td(5), "family": "web",
                "revision": 5, "containerDefinitions": [{"name": "web", "image": "i"}]}}),
            ),
        )
        .build();
    let mut updated = service(
        "ECS",
        "ACTIVE",
        json!([
            {"id": "ecs-svc/2", "status": "PRIMARY", "taskDefinition": td(5), "rolloutState": "IN_PROGRESS"},
            {"id": "ecs-svc/1", "status": "ACTIVE", "taskDefinition": td(1), "rolloutState": "COMPLETED"}
        ]),
    );
    updated["taskDefinition"] = json!(td(5));
    let update = mock!(Client::update_service)
        .sequence()
        .http_status(200, ok(json!({"service": updated})))
        .build();
    let list = mock!(Client::list_task_definitions)
        .sequence()
        .http_status(
            200,
            ok(json!({"taskDefinitionArns": [td(5), td(4), td(3), td(2), td(1)]})),
        )
        .build();
    let deregister = mock!(Client::deregister_task_definition)
        .match_requests(move |r| r.task_definition() != Some(td(1).as_str()))
        .sequence()
        .http_status(
            200,
            ok(json!({"taskDefinition": {"taskDefinitionArn": td(2)}})),
        )
        .times(2)
        .build();
    let client = client(&[&describe, &register, &update, &list, &deregister]);
    run(&args(&["--keep-revisions", "2"]), &client, definition())
        .await
        .unwrap();
    // Deregistering web:1 matches no rule: the mock client fails the run.
    assert_eq!(deregister.num_calls(), 2);
}

/// --continue refused as real AWS refuses it (a CI role without
/// ecs:ContinueServiceDeployment): exit 1 naming the action, the role and
/// the statement to add.
#[tokio::test]
async fn continue_refused_names_continue_service_deployment() {
    let mut svc = service("ECS", "ACTIVE", json!([]));
    svc["currentServiceDeployment"] = json!(SD);
    let describe = describe_services(svc);
    let sds = mock!(Client::describe_service_deployments)
        .sequence()
        .http_status(
            200,
            ok(json!({"serviceDeployments": [{"serviceDeploymentArn": SD, "status": "IN_PROGRESS",
                "serviceArn": "arn:aws:ecs:us-east-1:123456789012:service/prod/web",
                "clusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/prod",
                "lifecycleHookDetails": [{"hookId": "approve", "targetType": "PAUSE", "status": "AWAITING_ACTION"}]}],
                "failures": []})),
        )
        .build();
    let denied = "User: arn:aws:sts::123456789012:assumed-role/ci/gh is not authorized to perform: ecs:ContinueServiceDeployment on resource: arn:aws:ecs:us-east-1:123456789012:service-deployment/prod/web/abc";
    let refused = mock!(Client::continue_service_deployment)
        .sequence()
        .http_status(
            400,
            ok(json!({"__type": "AccessDeniedException", "message": denied})),
        )
        .build();
    let client = client(&[&describe, &sds, &refused]);
    let e = run(&args(&["--continue"]), &client, None)
        .await
        .unwrap_err();
    assert_eq!(e.exit().code(), 1);
    assert!(
        e.message().contains(
            r#"role ci (session gh, arn:aws:sts::123456789012:assumed-role/ci/gh) lacks ecs:ContinueServiceDeployment: add to its policy {"Effect":"Allow","Action":"ecs:ContinueServiceDeployment","Resource":"arn:aws:ecs:us-east-1:123456789012:service-deployment/prod/web/abc"}"#
        ),
        "{e}"
    );
    assert_eq!(refused.num_calls(), 1, "a refusal is not tried again");
}
