//! A failed rollout through real pipes: the real binary against the
//! scripted ECS endpoint (scripts/scripted_ecs.py playing
//! scripts/scenarios/circuit-breaker-rollback.json: IN_PROGRESS, two tasks
//! failing, the circuit breaker at 3 of 3, ROLLBACK_SUCCESSFUL at 6 s).

use std::time::Duration;

use deploy_tests::scripted::ScriptedEcs;
use serde_json::json;

#[test]
fn a_circuit_breaker_rollback_through_a_pipe_says_why_in_one_screen() {
    let ecs = ScriptedEcs::start("circuit-breaker-rollback");
    // The service as ecs-deploy printed it, through a real pipe.
    let service = json!({"service": {"serviceName": "web",
        "serviceArn": "arn:aws:ecs:us-east-1:123456789012:service/prod/web",
        "clusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/prod",
        "currentServiceDeployment": "arn:aws:ecs:us-east-1:123456789012:service-deployment/prod/web/sd-2",
        "deployments": [{"id": "ecs-svc/2", "status": "PRIMARY"}]}});
    let script = format!(
        "echo '{service}' | {} --timeout 1m",
        env!("CARGO_BIN_EXE_ecs-wait")
    );
    let out = ecs
        .point(deploy_tests::tool("bash").args(["-c", &script]))
        .timeout(Duration::from_secs(30))
        .run();
    let doc = out.failure_report(1);
    let w = &doc["wait"];
    assert_eq!(w["status"], "failed");
    assert_eq!(w["source"], "serviceDeployment");
    assert_eq!(w["state"], "ROLLBACK_SUCCESSFUL");
    assert_eq!(w["circuitBreaker"]["failureCount"], 3);
    assert_eq!(
        w["servingRevision"],
        "arn:aws:ecs:us-east-1:123456789012:service-revision/prod/web/1"
    );
    let stopped = w["stoppedTasks"].as_array().unwrap();
    assert_eq!(stopped.len(), 2, "the deployment's own: {stopped:?}");
    assert_eq!(w["events"].as_array().unwrap().len(), 3);
    for line in [
        "(service web) deployment ecs-svc/2 deployment failed: tasks failed to start.",
        "ecs-wait: web: failed: service deployment ROLLBACK_SUCCESSFUL; ECS deployment circuit breaker: tasks failed to start.; rollback: Service deployment rolled back because the circuit breaker threshold was exceeded.; circuit breaker: 3 of 3 tasks failed; now serving service revision 1",
        "ecs-wait: web: stopped task t1 (web:2): Essential container in task exited [EssentialContainerExited]",
        "ecs-wait: web:   container web: exit 137: OutOfMemoryError: Container killed due to memory usage",
        "ecs-wait: web:   container web: exit 1",
    ] {
        assert!(
            out.stderr.contains(line),
            "{line:?} not in:\n{}",
            out.stderr
        );
    }
    let log = ecs.log();
    assert!(log.contains("ListTasks"), "{log}");
}
