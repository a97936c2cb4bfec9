//! The rollouts moto cannot produce, scripted with aws-smithy-mocks as
//! timelines on a fake clock: `ecs_wait::wait` runs its real poll schedule,
//! instantly, against a client that answers what ECS would at each second.
//!
//! aws-sdk-ecs is built once: `test-util` is on ecs-wait's normal
//! dependency, as on ecs-deploy's.

mod common;

use aws_sdk_ecs::Client;
use aws_smithy_mocks::mock;
use common::*;
use ecs_wait::Until;
use serde_json::{Value, json};

fn sd_service() -> Value {
    let mut s = service(
        "web",
        json!([deployment("ecs-svc/2", "PRIMARY", Some("IN_PROGRESS"), 1)]),
    );
    s["currentServiceDeployment"] = json!(SD);
    s
}

fn code(w: &ecs_wait::Waited) -> u8 {
    w.error.as_ref().map_or(0, |e| e.exit().code())
}

/// DescribeServices that answers the first poll (web IN_PROGRESS), then
/// every call after with `status` and the error `body`.
fn answered_once_then(status: u16, body: Value) -> aws_smithy_mocks::Rule {
    let calls = Counter::default();
    mock!(Client::describe_services).then_http_response(move || {
        if calls.next() >= 1 {
            return response(status, &body);
        }
        response(
            200,
            &json!({"services": [service("web", json!([deployment("ecs-svc/2", "PRIMARY", Some("IN_PROGRESS"), 1)]))], "failures": []}),
        )
    })
}

#[tokio::test]
async fn service_deployment_pending_then_in_progress_then_successful() {
    let clock = FakeClock::default();
    let describe = service_timeline(&clock, vec![(0, sd_service())]);
    let mut done = service_deployment("SUCCESSFUL");
    done["targetServiceRevision"]["runningTaskCount"] = json!(2);
    done["targetServiceRevision"]["pendingTaskCount"] = json!(0);
    let sds = deployment_timeline(
        &clock,
        vec![
            (0, service_deployment("PENDING")),
            (4, service_deployment("IN_PROGRESS")),
            (10, done),
        ],
    );
    let client = client(&[&describe, &sds]);
    let plan = plan(vec![target("web", Some(SD))], Until::Deployed, "5m");
    let (w, lines) = run(&client, &clock, &plan).await;
    assert_eq!(code(&w), 0, "{:?}", w.error);
    let r = &w.reports[0];
    assert_eq!(r["status"], "deployed");
    assert_eq!(r["source"], "serviceDeployment");
    assert_eq!(r["state"], "SUCCESSFUL");
    assert_eq!(r["deployment"], SD);
    assert_eq!(r["servingRevision"], REV_2);
    assert_eq!(
        r["elapsedSeconds"], 10,
        "noticed at the first poll after it"
    );
    assert!(
        lines.contains(&"web: desired 2, running 2, pending 0, failed 0".to_string()),
        "{lines:?}"
    );
}

#[tokio::test]
async fn service_deployment_rolled_back_by_the_circuit_breaker_fails_saying_why() {
    let clock = FakeClock::default();
    let describe = service_timeline(&clock, vec![(0, sd_service())]);
    let mut rolling = service_deployment("ROLLBACK_IN_PROGRESS");
    rolling["deploymentCircuitBreaker"] =
        json!({"status": "TRIGGERED", "failureCount": 3, "threshold": 3});
    rolling["rollback"] = json!({"reason": "Circuit Breaker: rollback initiated", "startedAt": T0 + 30.0, "serviceRevisionArn": REV_1});
    rolling["statusReason"] = json!("tasks failed to start");
    let mut back = rolling.clone();
    back["status"] = json!("ROLLBACK_SUCCESSFUL");
    let sds = deployment_timeline(
        &clock,
        vec![
            (0, service_deployment("IN_PROGRESS")),
            (20, rolling),
            (50, back),
        ],
    );
    let (list, tasks) = stopped_tasks(vec![]);
    let client = client(&[&describe, &sds, &list, &tasks]);
    let plan = plan(vec![target("web", Some(SD))], Until::Deployed, "5m");
    let (w, _) = run(&client, &clock, &plan).await;
    assert_eq!(code(&w), 1);
    let r = &w.reports[0];
    assert_eq!(r["status"], "failed");
    assert_eq!(r["state"], "ROLLBACK_SUCCESSFUL");
    assert_eq!(r["circuitBreaker"]["failureCount"], 3);
    assert_eq!(r["servingRevision"], REV_1, "the revision now serving");
    let message = w.error.as_ref().unwrap().message().to_string();
    for part in [
        "service \"web\": service deployment ROLLBACK_SUCCESSFUL",
        "tasks failed to start; rollback: Circuit Breaker: rollback initiated",
        "circuit breaker: 3 of 3 tasks failed",
        "now serving service revision 1",
    ] {
        assert!(message.contains(part), "{part:?} not in {message}");
    }
}

#[tokio::test]
async fn a_blue_green_rollout_through_bake_time_says_each_stage_once() {
    let clock = FakeClock::default();
    let describe = service_timeline(&clock, vec![(0, sd_service())]);
    let stage = |status: &str, stage: &str, weight: f64| {
        let mut sd = service_deployment(status);
        sd["lifecycleStage"] = json!(stage);
        sd["targetServiceRevision"]["requestedProductionTrafficWeight"] = json!(weight);
        sd
    };
    let sds = deployment_timeline(
        &clock,
        vec![
            (0, stage("IN_PROGRESS", "SCALE_UP", 0.0)),
            (6, stage("IN_PROGRESS", "PRODUCTION_TRAFFIC_SHIFT", 100.0)),
            (10, stage("IN_PROGRESS", "BAKE_TIME", 100.0)),
            (60, stage("SUCCESSFUL", "CLEAN_UP", 100.0)),
        ],
    );
    let client = client(&[&describe, &sds]);
    let plan = plan(vec![target("web", Some(SD))], Until::Deployed, "5m");
    let (w, lines) = run(&client, &clock, &plan).await;
    assert_eq!(code(&w), 0);
    assert_eq!(w.reports[0]["lifecycleStage"], "CLEAN_UP");
    let said = |l: &str| lines.iter().filter(|x| x.as_str() == l).count();
    assert_eq!(said("web: stage BAKE_TIME"), 1, "{lines:?}");
    assert_eq!(said("web: target 100%"), 1, "{lines:?}");
    assert_eq!(said("web: target 0%"), 1, "{lines:?}");
}

fn paused() -> Value {
    let mut sd = service_deployment("IN_PROGRESS");
    sd["lifecycleStage"] = json!("POST_TEST_TRAFFIC_SHIFT");
    sd["lifecycleHookDetails"] = json!([{"hookId": "hook-1", "targetType": "PAUSE",
        "status": "AWAITING_ACTION", "expiresAt": T0 + 3600.0, "timeoutAction": "ROLLBACK"}]);
    sd
}

#[tokio::test]
async fn a_pause_hook_is_said_at_once_and_waited_past() {
    let clock = FakeClock::default();
    let describe = service_timeline(&clock, vec![(0, sd_service())]);
    let sds = deployment_timeline(
        &clock,
        vec![(0, paused()), (40, service_deployment("SUCCESSFUL"))],
    );
    let client = client(&[&describe, &sds]);
    let plan = plan(vec![target("web", Some(SD))], Until::Deployed, "5m");
    let (w, lines) = run(&client, &clock, &plan).await;
    assert_eq!(w.reports[0]["status"], "deployed");
    let pause: Vec<&String> = lines.iter().filter(|l| l.contains("paused at")).collect();
    assert_eq!(pause.len(), 1, "said once: {lines:?}");
    assert!(
        pause[0].contains(
            "paused at POST_TEST_TRAFFIC_SHIFT: hook hook-1 awaits action until 2025-11-24T17:00:00Z, then ROLLBACK; resume: ecs-deploy --continue --cluster prod --service web (or aws ecs continue-service-deployment --service-deployment-arn"
        ) && pause[0].ends_with("--hook-id hook-1); stop where it is: ecs-deploy --stop"),
        "{pause:?}"
    );
}

#[tokio::test]
async fn a_pause_hook_ends_the_wait_with_until_paused() {
    let clock = FakeClock::default();
    let describe = service_timeline(&clock, vec![(0, sd_service())]);
    let sds = deployment_timeline(
        &clock,
        vec![(0, service_deployment("IN_PROGRESS")), (8, paused())],
    );
    let client = client(&[&describe, &sds]);
    let plan = plan(vec![target("web", Some(SD))], Until::Paused, "5m");
    let (w, _) = run(&client, &clock, &plan).await;
    assert_eq!(code(&w), 0);
    assert_eq!(w.reports[0]["status"], "paused");
    assert_eq!(w.reports[0]["elapsedSeconds"], 8);
}

#[tokio::test]
async fn rollback_asked_for_ends_with_success_when_rolled_back() {
    let clock = FakeClock::default();
    let describe = service_timeline(&clock, vec![(0, sd_service())]);
    let sds = deployment_timeline(
        &clock,
        vec![
            (0, service_deployment("ROLLBACK_IN_PROGRESS")),
            (12, service_deployment("ROLLBACK_SUCCESSFUL")),
        ],
    );
    let client = client(&[&describe, &sds]);
    let mut t = target("web", Some(SD));
    t.rollback = Some("stopServiceDeployment".to_string());
    let plan = plan(vec![t], Until::Deployed, "5m");
    let (w, _) = run(&client, &clock, &plan).await;
    assert_eq!(code(&w), 0, "{:?}", w.error);
    assert_eq!(w.reports[0]["state"], "ROLLBACK_SUCCESSFUL");
}

#[tokio::test]
async fn fallback_in_progress_then_completed() {
    let clock = FakeClock::default();
    let mut later = service(
        "web",
        json!([deployment("ecs-svc/2", "PRIMARY", Some("COMPLETED"), 2)]),
    );
    later["events"] = json!([
        {"id": "e3", "createdAt": T0 + 20.0, "message": "(service web) has reached a steady state."},
        {"id": "e2", "createdAt": T0 + 5.0, "message": "(service web) has started 1 tasks: (task 1)."},
        {"id": "e1", "createdAt": T0 - 500.0, "message": "(service web) an event of an older rollout"}]);
    let describe = service_timeline(
        &clock,
        vec![
            (
                0,
                service(
                    "web",
                    json!([deployment("ecs-svc/2", "PRIMARY", Some("IN_PROGRESS"), 1)]),
                ),
            ),
            (20, later),
        ],
    );
    let client = client(&[&describe]);
    let plan = plan(vec![target("web", None)], Until::Deployed, "5m");
    let (w, lines) = run(&client, &clock, &plan).await;
    assert_eq!(code(&w), 0);
    let r = &w.reports[0];
    assert_eq!(r["source"], "rolloutState");
    assert_eq!(r["deployment"], "ecs-svc/2");
    assert_eq!(r["state"], "COMPLETED");
    assert_eq!(r["elapsedSeconds"], 20);
    assert_eq!(
        r["events"].as_array().unwrap().len(),
        2,
        "this rollout's only"
    );
    let started = lines
        .iter()
        .position(|l| l.ends_with("has started 1 tasks: (task 1)."))
        .expect("event said");
    let steady = lines
        .iter()
        .position(|l| l.ends_with("has reached a steady state."))
        .expect("event said");
    assert!(started < steady, "oldest first: {lines:?}");
    assert!(
        lines[started].starts_with("web: 2025-11-24T16:00:05Z "),
        "{lines:?}"
    );
}

#[tokio::test]
async fn fallback_failed_rollout_fails_with_its_reason() {
    let clock = FakeClock::default();
    let mut failed = deployment("ecs-svc/2", "PRIMARY", Some("FAILED"), 0);
    failed["rolloutStateReason"] = json!("ECS deployment circuit breaker: tasks failed to start.");
    let describe = service_timeline(
        &clock,
        vec![
            (
                0,
                service(
                    "web",
                    json!([deployment("ecs-svc/2", "PRIMARY", Some("IN_PROGRESS"), 0)]),
                ),
            ),
            (14, service("web", json!([failed]))),
        ],
    );
    let (list, tasks) = stopped_tasks(vec![]);
    let client = client(&[&describe, &list, &tasks]);
    let plan = plan(vec![target("web", None)], Until::Deployed, "5m");
    let (w, _) = run(&client, &clock, &plan).await;
    assert_eq!(code(&w), 1);
    assert_eq!(w.reports[0]["state"], "FAILED");
    let message = w.error.unwrap().message().to_string();
    assert!(
        message.contains(
            "deployment ecs-svc/2 FAILED: ECS deployment circuit breaker: tasks failed to start."
        ),
        "{message}"
    );
}

#[tokio::test]
async fn fallback_deployment_vanished_is_a_rollback() {
    let clock = FakeClock::default();
    let mut old = deployment("ecs-svc/3", "PRIMARY", Some("IN_PROGRESS"), 1);
    old["taskDefinition"] = json!(TD_1);
    let describe = service_timeline(
        &clock,
        vec![
            (
                0,
                service(
                    "web",
                    json!([deployment("ecs-svc/2", "PRIMARY", Some("IN_PROGRESS"), 0)]),
                ),
            ),
            (30, service("web", json!([old]))),
        ],
    );
    let (list, tasks) = stopped_tasks(vec![]);
    let client = client(&[&describe, &list, &tasks]);
    let plan = plan(vec![target("web", None)], Until::Deployed, "5m");
    let (w, _) = run(&client, &clock, &plan).await;
    assert_eq!(code(&w), 1);
    assert_eq!(w.reports[0]["servingRevision"], TD_1);
    let message = w.error.unwrap().message().to_string();
    assert!(
        message.contains("deployment ecs-svc/2 is gone and ecs-svc/3 is PRIMARY, running web:1: ECS rolled the service back"),
        "{message}"
    );
}

#[tokio::test]
async fn stable_by_the_classic_rule_without_rollout_state() {
    let clock = FakeClock::default();
    let new = deployment("ecs-svc/2", "PRIMARY", None, 2);
    let old = deployment("ecs-svc/1", "ACTIVE", None, 1);
    let describe = service_timeline(
        &clock,
        vec![
            (0, service("web", json!([new.clone(), old]))),
            (16, service("web", json!([new]))),
        ],
    );
    let client = client(&[&describe]);
    let plan = plan(vec![target("web", None)], Until::Stable, "5m");
    let (w, _) = run(&client, &clock, &plan).await;
    assert_eq!(code(&w), 0);
    assert_eq!(w.reports[0]["status"], "stable");
    assert_eq!(w.reports[0]["elapsedSeconds"], 16);
}

#[tokio::test]
async fn a_draining_service_fails() {
    let clock = FakeClock::default();
    let mut draining = service(
        "web",
        json!([deployment("ecs-svc/2", "PRIMARY", Some("IN_PROGRESS"), 0)]),
    );
    draining["status"] = json!("DRAINING");
    let describe = service_timeline(
        &clock,
        vec![
            (
                0,
                service(
                    "web",
                    json!([deployment("ecs-svc/2", "PRIMARY", Some("IN_PROGRESS"), 0)]),
                ),
            ),
            (6, draining),
        ],
    );
    let (list, tasks) = stopped_tasks(vec![]);
    let client = client(&[&describe, &list, &tasks]);
    let plan = plan(vec![target("web", None)], Until::Deployed, "5m");
    let (w, _) = run(&client, &clock, &plan).await;
    assert_eq!(code(&w), 1);
    assert_eq!(w.reports[0]["state"], "DRAINING");
    assert!(
        w.error
            .unwrap()
            .message()
            .contains("the service is DRAINING"),
        "DRAINING said"
    );
}

#[tokio::test]
async fn a_missing_service_fails_with_ecs_reason() {
    let clock = FakeClock::default();
    let describe = mock!(Client::describe_services).then_http_response(|| {
        response(
            200,
            &json!({"services": [], "failures": [{"arn": "arn:aws:ecs:us-east-1:123456789012:service/prod/web", "reason": "MISSING"}]}),
        )
    });
    let (list, tasks) = stopped_tasks(vec![]);
    let client = client(&[&describe, &list, &tasks]);
    let plan = plan(vec![target("web", None)], Until::Deployed, "5m");
    let (w, _) = run(&client, &clock, &plan).await;
    assert_eq!(code(&w), 1);
    assert_eq!(w.reports[0]["status"], "failed");
    assert_eq!(describe.num_calls(), 1, "no second poll");
    assert_eq!(list.num_calls(), 0, "no tasks of a missing service to list");
    assert!(
        w.error
            .unwrap()
            .message()
            .contains("service \"web\": the service is missing (MISSING)")
    );
}

#[tokio::test]
async fn throttling_mid_wait_is_retried_and_the_wait_goes_on() {
    let clock = FakeClock::default();
    let calls = Counter::default();
    let c = clock.clone();
    let describe = mock!(Client::describe_services).then_http_response(move || {
        if calls.next() == 2 {
            return response(
                400,
                &json!({"__type": "ThrottlingException", "message": "Rate exceeded"}),
            );
        }
        let state = if c.secs() >= 6 { "COMPLETED" } else { "IN_PROGRESS" };
        response(
            200,
            &json!({"services": [service("web", json!([deployment("ecs-svc/2", "PRIMARY", Some(state), 2)]))], "failures": []}),
        )
    });
    let client = client(&[&describe]);
    let plan = plan(vec![target("web", None)], Until::Deployed, "5m");
    let (w, _) = run(&client, &clock, &plan).await;
    assert_eq!(code(&w), 0, "{:?}", w.error);
    assert_eq!(w.polls.len(), 4, "polls at 0, 2, 4, 6");
    assert_eq!(describe.num_calls(), 5, "one call retried");
}

/// Throttling that outlasts the SDK's three attempts fails one poll, not
/// the wait: said, and tried again at the next poll, a whole --interval
/// later.
#[tokio::test]
async fn a_poll_throttled_past_the_sdk_retries_is_tried_again_at_the_next() {
    let clock = FakeClock::default();
    let calls = Counter::default();
    let c = clock.clone();
    let describe = mock!(Client::describe_services).then_http_response(move || {
        // Calls 1-3: the second poll, all three of the SDK's attempts.
        if (1..=3).contains(&calls.next()) {
            return response(
                400,
                &json!({"__type": "ThrottlingException", "message": "Rate exceeded"}),
            );
        }
        let state = if c.secs() >= 6 { "COMPLETED" } else { "IN_PROGRESS" };
        response(
            200,
            &json!({"services": [service("web", json!([deployment("ecs-svc/2", "PRIMARY", Some(state), 2)]))], "failures": []}),
        )
    });
    let client = client(&[&describe]);
    let plan = plan(vec![target("web", None)], Until::Deployed, "5m");
    let (w, lines) = run(&client, &clock, &plan).await;
    assert_eq!(code(&w), 0, "{:?}", w.error);
    assert_eq!(w.reports[0]["status"], "deployed");
    let at: Vec<u64> = w.polls.iter().map(|p| p.as_secs()).collect();
    assert_eq!(
        at,
        [0, 2, 12],
        "throttled at 2 s: the next poll a whole --interval (10 s) later"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("ThrottlingException: Rate exceeded")
                && l.ends_with("trying again at the next poll (1 of 5 in a row)")),
        "{lines:?}"
    );
}

/// No ecs:DescribeServiceDeployments permission (a role written for the
/// classic waiter): said once, and the PRIMARY deployment is followed by
/// DescribeServices' rolloutState instead of failing the wait.
#[tokio::test]
async fn no_permission_for_service_deployments_falls_back_to_rollout_state() {
    let clock = FakeClock::default();
    let with_sd = |state: &str| {
        let mut s = service(
            "web",
            json!([deployment("ecs-svc/2", "PRIMARY", Some(state), 2)]),
        );
        s["currentServiceDeployment"] = json!(SD);
        s
    };
    let describe = service_timeline(
        &clock,
        vec![(0, with_sd("IN_PROGRESS")), (6, with_sd("COMPLETED"))],
    );
    let denied = mock!(Client::describe_service_deployments).then_http_response(|| {
        response(
            400,
            &json!({"__type": "AccessDeniedException", "message": "User: ci is not authorized to perform: ecs:DescribeServiceDeployments"}),
        )
    });
    let client = client(&[&describe, &denied]);
    let plan = plan(vec![target("web", None)], Until::Deployed, "5m");
    let (w, lines) = run(&client, &clock, &plan).await;
    assert_eq!(code(&w), 0, "{:?}", w.error);
    let r = &w.reports[0];
    assert_eq!(r["status"], "deployed");
    assert_eq!(r["source"], "rolloutState");
    assert_eq!(r["deployment"], "ecs-svc/2");
    assert_eq!(denied.num_calls(), 1, "asked once, then not again");
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.contains("AccessDeniedException")
                && l.contains("following each service's PRIMARY deployment"))
            .count(),
        1,
        "{lines:?}"
    );
}

/// The deadline comes while ECS still throttles: exit 3, and the message
/// names the last unanswered poll rather than only "not finished".
#[tokio::test]
async fn a_time_out_during_throttling_names_the_last_unanswered_poll() {
    let clock = FakeClock::default();
    let describe = answered_once_then(
        400,
        json!({"__type": "ThrottlingException", "message": "Rate exceeded"}),
    );
    let client = client(&[&describe]);
    let plan = plan(vec![target("web", None)], Until::Deployed, "30s");
    let (w, _) = run(&client, &clock, &plan).await;
    assert_eq!(code(&w), 3, "{:?}", w.error);
    let message = w.error.as_ref().unwrap().message();
    assert!(
        message.contains("after 30s (--timeout); the last poll unanswered: ")
            && message.contains("ThrottlingException: Rate exceeded"),
        "{message}"
    );
}

/// Five polls in a row unanswered: the wait fails (exit 1) with ECS's
/// words, before the --timeout.
#[tokio::test]
async fn five_unanswered_polls_in_a_row_fail_the_wait() {
    let clock = FakeClock::default();
    let describe = answered_once_then(
        503,
        json!({"__type": "ServerException", "message": "Service Unavailable"}),
    );
    let client = client(&[&describe]);
    let plan = plan(vec![target("web", None)], Until::Deployed, "5m");
    let (w, _) = run(&client, &clock, &plan).await;
    assert_eq!(code(&w), 1, "{:?}", w.error);
    assert_eq!(w.polls.len(), 6, "the first answered, five not");
    assert_eq!(describe.num_calls(), 16, "1 + 5 polls of 3 attempts");
    let message = w.error.as_ref().unwrap().message();
    assert!(
        message.starts_with("5 polls in a row unanswered: ")
            && message.contains("ServerException: Service Unavailable"),
        "{message}"
    );
    assert_eq!(w.reports[0]["status"], "failed");
}

#[tokio::test]
async fn stopped_tasks_are_reported_with_exit_codes_and_reasons() {
    let clock = FakeClock::default();
    let describe = service_timeline(
        &clock,
        vec![
            (
                0,
                service(
                    "web",
                    json!([deployment("ecs-svc/2", "PRIMARY", Some("IN_PROGRESS"), 0)]),
                ),
            ),
            (
                4,
                service(
                    "web",
                    json!([deployment("ecs-svc/2", "PRIMARY", Some("FAILED"), 0)]),
                ),
            ),
        ],
    );
    let task = |id: &str, started_by: &str, stopped_at: f64| {
        json!({"taskArn": format!("arn:aws:ecs:us-east-1:123456789012:task/prod/{id}"),
            "taskDefinitionArn": TD_2, "startedBy": started_by, "lastStatus": "STOPPED",
            "stoppedAt": stopped_at,
            "stoppedReason": "Essential container in task exited", "stopCode": "EssentialContainerExited",
            "containers": [
                {"name": "web", "exitCode": 137, "reason": "OutOfMemoryError: Container killed due to memory usage"},
                {"name": "sidecar", "reason": "CannotPullContainerError: pull image manifest has been retried 5 time(s)"}]})
    };
    let (list, tasks) = stopped_tasks(vec![
        task("t1", "ecs-svc/2", T0 + 10.0),
        task("t0", "ecs-svc/1", T0 + 20.0),
    ]);
    let client = client(&[&describe, &list, &tasks]);
    let plan = plan(vec![target("web", None)], Until::Deployed, "5m");
    let (w, lines) = run(&client, &clock, &plan).await;
    assert_eq!(code(&w), 1);
    let stopped = w.reports[0]["stoppedTasks"].as_array().unwrap();
    assert_eq!(stopped.len(), 1, "only the deployment's own: {stopped:?}");
    assert_eq!(stopped[0]["stopCode"], "EssentialContainerExited");
    assert_eq!(stopped[0]["containers"][0]["exitCode"], 137);
    assert_eq!(
        stopped[0]["containers"][1]["reason"],
        "CannotPullContainerError: pull image manifest has been retried 5 time(s)"
    );
    for line in [
        "web: stopped task t1 (web:2): Essential container in task exited [EssentialContainerExited]",
        "web:   container web: exit 137: OutOfMemoryError: Container killed due to memory usage",
        "web:   container sidecar: no exit code: CannotPullContainerError: pull image manifest has been retried 5 time(s)",
    ] {
        assert!(
            lines.contains(&line.to_string()),
            "{line:?} not in {lines:#?}"
        );
    }
    assert!(!lines.iter().any(|l| l.contains("t0")), "{lines:?}");
}

/// A service that kept failing has more stopped tasks than one ListTasks
/// page: the deployment's own are found on the second page (and described
/// 100 at a time).
#[tokio::test]
async fn stopped_tasks_on_a_second_list_page_are_found() {
    let clock = FakeClock::default();
    let describe = service_timeline(
        &clock,
        vec![
            (
                0,
                service(
                    "web",
                    json!([deployment("ecs-svc/2", "PRIMARY", Some("IN_PROGRESS"), 0)]),
                ),
            ),
            (
                4,
                service(
                    "web",
                    json!([deployment("ecs-svc/2", "PRIMARY", Some("FAILED"), 0)]),
                ),
            ),
        ],
    );
    let arn = |id: String| format!("arn:aws:ecs:us-east-1:123456789012:task/prod/{id}");
    let old: Vec<String> = (0..100).map(|i| arn(format!("old{i}"))).collect();
    let page_1 = json!({"taskArns": old, "nextToken": "page-2"});
    let list = mock!(Client::list_tasks)
        .match_requests(|r| r.next_token().is_none())
        .then_http_response(move || response(200, &page_1));
    let list_2 = mock!(Client::list_tasks)
        .match_requests(|r| r.next_token() == Some("page-2"))
        .then_http_response(move || response(200, &json!({"taskArns": [arn("new1".into())]})));
    let tasks = mock!(Client::describe_tasks)
        .then_http_response(move || response(200, &json!({"tasks": [], "failures": []})));
    let new_task = mock!(Client::describe_tasks)
        .match_requests(|r| r.tasks().iter().any(|t| t.ends_with("/new1")))
        .then_http_response(|| {
            response(
                200,
                &json!({"tasks": [{"taskArn": "arn:aws:ecs:us-east-1:123456789012:task/prod/new1",
                    "taskDefinitionArn": TD_2, "startedBy": "ecs-svc/2", "lastStatus": "STOPPED",
                    "stoppedReason": "Essential container in task exited",
                    "containers": [{"name": "web", "exitCode": 1}]}], "failures": []}),
            )
        });
    let client = client(&[&describe, &list, &list_2, &new_task, &tasks]);
    let plan = plan(vec![target("web", None)], Until::Deployed, "5m");
    let (w, _) = run(&client, &clock, &plan).await;
    assert_eq!(code(&w), 1);
    let stopped = w.reports[0]["stoppedTasks"].as_array().unwrap();
    assert_eq!(stopped.len(), 1, "{stopped:?}");
    assert_eq!(stopped[0]["containers"][0]["exitCode"], 1);
    assert_eq!(list_2.num_calls(), 1);
    assert_eq!(tasks.num_calls(), 1, "the first page's 100, in one call");
}

/// ecs:ListTasks is optional: a failed rollout under a role without it
/// still fails with its reason, and one line says that the stopped tasks
/// could not be listed, naming the permission and the statement.
#[tokio::test]
async fn a_failed_rollout_without_list_tasks_says_so_once_and_still_fails_with_its_reason() {
    let clock = FakeClock::default();
    let describe = service_timeline(
        &clock,
        vec![
            (
                0,
                service(
                    "web",
                    json!([deployment("ecs-svc/2", "PRIMARY", Some("IN_PROGRESS"), 0)]),
                ),
            ),
            (
                4,
                service(
                    "web",
                    json!([deployment("ecs-svc/2", "PRIMARY", Some("FAILED"), 0)]),
                ),
            ),
        ],
    );
    let denied = mock!(Client::list_tasks).then_http_response(|| {
        response(
            400,
            &json!({"__type": "AccessDeniedException", "message": "User: arn:aws:sts::123456789012:assumed-role/ci/run-1 is not authorized to perform: ecs:ListTasks on resource: arn:aws:ecs:us-east-1:123456789012:container-instance/prod/*"}),
        )
    });
    let client = client(&[&describe, &denied]);
    let plan = plan(vec![target("web", None)], Until::Deployed, "5m");
    let (w, lines) = run(&client, &clock, &plan).await;
    assert_eq!(code(&w), 1, "{:?}", w.error);
    assert_eq!(w.reports[0]["status"], "failed");
    assert_eq!(w.reports[0]["reason"], "ECS deployment ecs-svc/2 FAILED.");
    assert_eq!(w.reports[0]["stoppedTasks"], json!([]));
    let said: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("could not list the stopped tasks"))
        .collect();
    assert_eq!(said.len(), 1, "{lines:?}");
    assert!(
        said[0].contains("role ci (session run-1, arn:aws:sts::123456789012:assumed-role/ci/run-1) lacks ecs:ListTasks: add to its policy {\"Effect\":\"Allow\",\"Action\":\"ecs:ListTasks\",\"Resource\":\"arn:aws:ecs:us-east-1:123456789012:container-instance/prod/*\"}"),
        "{}",
        said[0]
    );
}

/// The wait begins after ECS already rolled back (`--service`, nothing on
/// stdin): the PRIMARY deployment is the rollback's, so the failed tasks
/// are the service's tasks started by another deployment since the service
/// deployment began; not the rollback's own, not older ones.
#[tokio::test]
async fn a_wait_begun_after_the_rollback_reports_the_failed_deployments_tasks() {
    let clock = FakeClock::default();
    let mut rolled_back_to = deployment("ecs-svc/3", "PRIMARY", Some("COMPLETED"), 2);
    rolled_back_to["taskDefinition"] = json!(TD_1);
    let mut svc = service("web", json!([rolled_back_to]));
    svc["currentServiceDeployment"] = json!(SD);
    let describe = service_timeline(&clock, vec![(0, svc)]);
    let mut back = service_deployment("ROLLBACK_SUCCESSFUL");
    back["rollback"] =
        json!({"reason": "Circuit Breaker: rollback initiated", "serviceRevisionArn": REV_1});
    let sds = deployment_timeline(&clock, vec![(0, back)]);
    let task = |id: &str, started_by: &str, td: &str, stopped_at: f64| {
        json!({"taskArn": format!("arn:aws:ecs:us-east-1:123456789012:task/prod/{id}"),
            "taskDefinitionArn": td, "startedBy": started_by, "lastStatus": "STOPPED",
            "stoppedAt": stopped_at, "stoppedReason": "Essential container in task exited",
            "containers": [{"name": "web", "exitCode": 1}]})
    };
    let (list, tasks) = stopped_tasks(vec![
        task("failed1", "ecs-svc/2", TD_2, T0 + 40.0),
        task("failed2", "ecs-svc/2", TD_2, T0 + 50.0),
        task("rollback", "ecs-svc/3", TD_1, T0 + 60.0),
        task("older", "ecs-svc/1", TD_1, T0 - 600.0),
        // The old deployment scaled in as the rollout began.
        task("scaled-in", "ecs-svc/1", TD_1, T0 + 5.0),
        task("oneoff", "ecs-run", TD_2, T0 + 45.0),
    ]);
    let client = client(&[&describe, &sds, &list, &tasks]);
    let plan = plan(vec![target("web", None)], Until::Deployed, "5m");
    let (w, _) = run(&client, &clock, &plan).await;
    assert_eq!(code(&w), 1);
    let ids: Vec<&str> = w.reports[0]["stoppedTasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["taskArn"].as_str().unwrap().rsplit('/').next().unwrap())
        .collect();
    assert_eq!(ids, ["failed2", "failed1"], "newest first");
}

/// ROLLBACK_REQUESTED at the first look: ECS has not made the rollback's
/// deployment yet, so the PRIMARY seen is still the failed one, and its
/// tasks are the ones reported.
#[tokio::test]
async fn a_wait_begun_at_rollback_requested_follows_the_failed_primary() {
    let clock = FakeClock::default();
    let mut failing = service(
        "web",
        json!([deployment("ecs-svc/2", "PRIMARY", Some("IN_PROGRESS"), 0)]),
    );
    failing["currentServiceDeployment"] = json!(SD);
    let mut rolled_back_to = deployment("ecs-svc/3", "PRIMARY", Some("COMPLETED"), 2);
    rolled_back_to["taskDefinition"] = json!(TD_1);
    let mut back = service("web", json!([rolled_back_to]));
    back["currentServiceDeployment"] = json!(SD);
    let describe = service_timeline(&clock, vec![(0, failing), (4, back)]);
    let sds = deployment_timeline(
        &clock,
        vec![
            (0, service_deployment("ROLLBACK_REQUESTED")),
            (4, service_deployment("ROLLBACK_SUCCESSFUL")),
        ],
    );
    let task = |id: &str, started_by: &str, td: &str| {
        json!({"taskArn": format!("arn:aws:ecs:us-east-1:123456789012:task/prod/{id}"),
            "taskDefinitionArn": td, "startedBy": started_by, "lastStatus": "STOPPED",
            "stoppedAt": T0 + 40.0, "containers": [{"name": "web", "exitCode": 1}]})
    };
    let (list, tasks) = stopped_tasks(vec![
        task("failed", "ecs-svc/2", TD_2),
        task("rollback", "ecs-svc/3", TD_1),
    ]);
    let client = client(&[&describe, &sds, &list, &tasks]);
    let plan = plan(vec![target("web", None)], Until::Deployed, "5m");
    let (w, _) = run(&client, &clock, &plan).await;
    assert_eq!(code(&w), 1);
    let stopped = w.reports[0]["stoppedTasks"].as_array().unwrap();
    assert_eq!(stopped.len(), 1, "{stopped:?}");
    assert!(
        stopped[0]["taskArn"].as_str().unwrap().ends_with("/failed"),
        "{stopped:?}"
    );
}

#[tokio::test]
async fn several_services_one_failing_each_reported() {
    let clock = FakeClock::default();
    let describe = services_timeline(
        &clock,
        vec![
            (
                0,
                json!([
                    service(
                        "web",
                        json!([deployment("ecs-svc/2", "PRIMARY", Some("IN_PROGRESS"), 1)])
                    ),
                    service(
                        "worker",
                        json!([deployment("ecs-svc/7", "PRIMARY", Some("IN_PROGRESS"), 1)])
                    )
                ]),
            ),
            (
                10,
                json!([
                    service(
                        "web",
                        json!([deployment("ecs-svc/2", "PRIMARY", Some("COMPLETED"), 2)])
                    ),
                    service(
                        "worker",
                        json!([deployment("ecs-svc/7", "PRIMARY", Some("FAILED"), 0)])
                    )
                ]),
            ),
        ],
    );
    let (list, tasks) = stopped_tasks(vec![]);
    let client = client(&[&describe, &list, &tasks]);
    let plan = plan(
        vec![target("web", None), target("worker", None)],
        Until::Deployed,
        "5m",
    );
    let (w, _) = run(&client, &clock, &plan).await;
    assert!(w.several);
    assert_eq!(code(&w), 1);
    let statuses: Vec<&str> = w
        .reports
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["deployed", "failed"]);
    let message = w.error.unwrap().message().to_string();
    assert!(message.starts_with("service \"worker\": "), "{message}");
    assert!(!message.contains("\"web\""), "{message}");
}

#[tokio::test]
async fn max_failed_tasks_fails_before_ecs_gives_up() {
    let clock = FakeClock::default();
    let mut failing = deployment("ecs-svc/2", "PRIMARY", Some("IN_PROGRESS"), 0);
    failing["failedTasks"] = json!(2);
    let describe = service_timeline(
        &clock,
        vec![
            (
                0,
                service(
                    "web",
                    json!([deployment("ecs-svc/2", "PRIMARY", Some("IN_PROGRESS"), 0)]),
                ),
            ),
            (8, service("web", json!([failing]))),
        ],
    );
    let (list, tasks) = stopped_tasks(vec![]);
    let client = client(&[&describe, &list, &tasks]);
    let mut plan = plan(vec![target("web", None)], Until::Deployed, "5m");
    plan.max_failed_tasks = Some(2);
    let (w, _) = run(&client, &clock, &plan).await;
    assert_eq!(code(&w), 1);
    assert_eq!(w.reports[0]["elapsedSeconds"], 8);
}

/// IN_PROGRESS forever: the count of DescribeServices calls in each
/// simulated minute, and the time-out with its report.
#[tokio::test]
async fn polls_per_simulated_minute_and_the_time_out() {
    let clock = FakeClock::default();
    let describe = service_timeline(
        &clock,
        vec![(
            0,
            service(
                "web",
                json!([deployment("ecs-svc/2", "PRIMARY", Some("IN_PROGRESS"), 1)]),
            ),
        )],
    );
    let client = client(&[&describe]);
    let plan = plan(vec![target("web", None)], Until::Deployed, "5m");
    let (w, _) = run(&client, &clock, &plan).await;
    assert_eq!(code(&w), 3);
    assert_eq!(w.reports[0]["status"], "timeout");
    assert_eq!(w.reports[0]["state"], "IN_PROGRESS");
    assert_eq!(w.reports[0]["elapsedSeconds"], 300);
    assert_eq!(describe.num_calls(), w.polls.len(), "one call a poll");
    let per_minute: Vec<usize> = (0..5)
        .map(|m| w.polls.iter().filter(|t| t.as_secs() / 60 == m).count())
        .collect();
    assert_eq!(per_minute, [18, 6, 6, 6, 6]);
    assert_eq!(
        w.polls.last().unwrap().as_secs(),
        300,
        "a last look at the deadline"
    );
    let message = w.error.unwrap().message().to_string();
    assert_eq!(
        message,
        "service \"web\": still IN_PROGRESS after 5m (--timeout)"
    );
}

/// COMPLETED appears between two polls: the wait returns at the next one.
#[tokio::test]
async fn completion_is_noticed_within_one_poll() {
    for (appears, noticed) in [(7, 8), (31, 40), (95, 100)] {
        let clock = FakeClock::default();
        let describe = service_timeline(
            &clock,
            vec![
                (
                    0,
                    service(
                        "web",
                        json!([deployment("ecs-svc/2", "PRIMARY", Some("IN_PROGRESS"), 1)]),
                    ),
                ),
                (
                    appears,
                    service(
                        "web",
                        json!([deployment("ecs-svc/2", "PRIMARY", Some("COMPLETED"), 2)]),
                    ),
                ),
            ],
        );
        let client = client(&[&describe]);
        let plan = plan(vec![target("web", None)], Until::Deployed, "5m");
        let (w, _) = run(&client, &clock, &plan).await;
        assert_eq!(
            w.reports[0]["elapsedSeconds"], noticed,
            "COMPLETED at {appears}s"
        );
        assert_eq!(clock.secs(), noticed, "returned at once");
    }
}

/// A --timeout off the poll grid: the last look is at the deadline itself,
/// not at the next poll after it.
#[tokio::test]
async fn the_last_look_is_at_the_deadline_not_after() {
    let clock = FakeClock::default();
    let describe = service_timeline(
        &clock,
        vec![(
            0,
            service(
                "web",
                json!([deployment("ecs-svc/2", "PRIMARY", Some("IN_PROGRESS"), 1)]),
            ),
        )],
    );
    let client = client(&[&describe]);
    let plan = plan(vec![target("web", None)], Until::Deployed, "95s");
    let (w, _) = run(&client, &clock, &plan).await;
    assert_eq!(code(&w), 3);
    assert_eq!(w.polls.last().unwrap().as_secs(), 95);
    assert_eq!(clock.secs(), 95);
}

/// ECS refuses a poll: the report says failed with ECS's words, not
/// timeout, and the exit is 1.
#[tokio::test]
async fn access_denied_mid_wait_is_a_failure_with_aws_words() {
    let clock = FakeClock::default();
    let describe = answered_once_then(
        400,
        json!({"__type": "AccessDeniedException", "message": "User: ci is not authorized to perform: ecs:DescribeServices"}),
    );
    let client = client(&[&describe]);
    let plan = plan(vec![target("web", None)], Until::Deployed, "5m");
    let (w, _) = run(&client, &clock, &plan).await;
    assert_eq!(code(&w), 1);
    assert_eq!(w.reports[0]["status"], "failed");
    assert!(
        w.reports[0]["reason"]
            .as_str()
            .unwrap()
            .contains("(ecs:DescribeServices): AccessDeniedException: User: ci is not authorized"),
        "{}",
        w.reports[0]
    );
}
