//! Steering a rollout in flight: `ecs-deploy --continue` at a PAUSE hook and
//! `ecs-deploy --stop`, through real pipes with ecs-wait, on the scripted
//! ECS endpoint (moto implements neither call): scripts/scenarios/
//! pause-hook.json pauses at hook `approve-prod` until continued (then
//! SUCCESSFUL 2 s later), and is STOPPED 1 s after a stop.

use std::time::Duration;

use deploy_tests::scripted::ScriptedEcs;
use deploy_tests::{Output, read_json, root, workspace_bin};
use serde_json::json;

/// `script` (bash, the tools on PATH) against `ecs`.
fn pipe(ecs: &ScriptedEcs, script: &str) -> Output {
    let bin = workspace_bin("ecs-deploy");
    workspace_bin("ecs-wait");
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    ecs.point(deploy_tests::tool("bash"))
        .args(["-c", &format!("set -o pipefail; {script}")])
        .env("PATH", path)
        .timeout(Duration::from_secs(60))
        .run()
}

/// The pause-hook scenario with its first step's service deployment
/// changed by `change`.
fn pause_hook_with(change: impl FnOnce(&mut serde_json::Value)) -> ScriptedEcs {
    let mut scenario = read_json(root().join("scripts/scenarios/pause-hook.json"));
    change(&mut scenario["timeline"][0]["serviceDeployments"][0]);
    ScriptedEcs::play(&scenario)
}

/// The issue's composition: wait until the rollout pauses, approve it with
/// --continue (the hook the deployment reports as waiting), and wait for
/// the rest: deployed.
#[test]
fn a_paused_rollout_continued_in_a_pipe_ends_deployed() {
    let ecs = ScriptedEcs::start("pause-hook");
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.md");
    let out = pipe(
        &ecs,
        &format!(
            "export GITHUB_STEP_SUMMARY='{}'; \
             ecs-wait --cluster prod --service web --until paused --timeout 30s \
             | ecs-deploy --continue | ecs-wait --timeout 30s",
            summary.display()
        ),
    );
    let doc = out.success();
    let summary = std::fs::read_to_string(&summary).unwrap();
    assert!(
        summary.contains("### ecs-deploy: continued\n\nService deployment `sd-2` continued at hook `approve-prod`"),
        "{summary}"
    );
    assert_eq!(doc["continued"]["hookId"], "approve-prod", "{doc}");
    assert_eq!(doc["wait"]["status"], "deployed", "{doc}");
    assert!(
        out.stderr
            .contains("resume: ecs-deploy --continue --cluster prod --service web"),
        "{}",
        out.stderr
    );
    let log = ecs.log();
    assert!(
        log.contains(
            r#"ContinueServiceDeployment {"action": "CONTINUE", "hookId": "approve-prod""#
        ),
        "{log}"
    );
}

/// --stop stops the deployment where it is (ABORT, not a rollback), and
/// ecs-wait after it counts the stopping as the goal: exit 0, stopped.
#[test]
fn a_stopped_deployment_is_what_the_wait_after_stop_waits_for() {
    let ecs = ScriptedEcs::start("pause-hook");
    let out = pipe(
        &ecs,
        "ecs-deploy --stop --cluster prod --service web | ecs-wait --timeout 30s",
    );
    let doc = out.success();
    assert_eq!(doc["stopped"]["stopType"], "ABORT", "{doc}");
    assert_eq!(doc["wait"]["status"], "stopped", "{doc}");
    let log = ecs.log();
    assert!(log.contains(r#""stopType": "ABORT""#), "{log}");
    assert_eq!(log.matches("StopServiceDeployment t=").count(), 1, "{log}");
}

/// Nothing to continue: exit 1 with the deployment's state, and nothing
/// sent but the reads.
#[test]
fn continue_with_no_hook_awaiting_says_the_state_and_continues_nothing() {
    let ecs = pause_hook_with(|sd| {
        sd.as_object_mut().unwrap().remove("lifecycleHookDetails");
    });
    let out = pipe(&ecs, "ecs-deploy --continue --cluster prod --service web");
    let err = out.failure(1);
    assert!(
        err.contains("nothing continued: service deployment sd-2 is IN_PROGRESS, and no lifecycle hook awaits action"),
        "{err}"
    );
    assert!(
        !ecs.log().contains("ContinueServiceDeployment"),
        "{}",
        ecs.log()
    );
}

/// Nothing to stop: a deployment that already ended, exit 1 with its state.
#[test]
fn stop_of_a_finished_deployment_says_the_state_and_stops_nothing() {
    let ecs = pause_hook_with(|sd| sd["status"] = json!("SUCCESSFUL"));
    let out = pipe(&ecs, "ecs-deploy --stop --cluster prod --service web");
    let err = out.failure(1);
    assert!(
        err.contains("nothing stopped: service deployment sd-2 is SUCCESSFUL, not in flight"),
        "{err}"
    );
    assert!(
        !ecs.log().contains("StopServiceDeployment"),
        "{}",
        ecs.log()
    );
}

/// Several hooks awaiting: --continue alone names them and continues
/// none; --hook picks one.
#[test]
fn several_hooks_awaiting_need_hook_to_pick_one() {
    let ecs = pause_hook_with(|sd| {
        let second = json!({"hookId": "approve-db", "targetType": "PAUSE",
            "status": "AWAITING_ACTION", "timeoutAction": "ROLLBACK"});
        sd["lifecycleHookDetails"]
            .as_array_mut()
            .unwrap()
            .push(second);
    });
    let out = pipe(&ecs, "ecs-deploy --continue --cluster prod --service web");
    let err = out.failure(1);
    assert!(
        err.contains("has 2 hooks awaiting action (approve-prod, approve-db): --hook ID picks one"),
        "{err}"
    );
    assert!(
        !ecs.log().contains("ContinueServiceDeployment"),
        "{}",
        ecs.log()
    );
    let doc = pipe(
        &ecs,
        "ecs-deploy --continue --hook approve-db --cluster prod --service web",
    )
    .success();
    assert_eq!(doc["continued"]["hookId"], "approve-db");
    assert!(
        ecs.log().contains(r#""hookId": "approve-db""#),
        "{}",
        ecs.log()
    );
}

/// --continue with a definition to deploy is a bad command line: exit 2,
/// nothing sent.
#[test]
fn continue_with_a_family_is_a_usage_error() {
    let ecs = ScriptedEcs::start("pause-hook");
    let out = pipe(
        &ecs,
        "ecs-deploy --continue --family web:2 --cluster prod --service web",
    );
    let err = out.failure(2);
    assert!(
        err.contains("they take no --task-definition or --family"),
        "{err}"
    );
    assert_eq!(ecs.log().trim(), "", "nothing sent");
}
