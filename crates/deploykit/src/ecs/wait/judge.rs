//! One look at a service, judged: still rolling out, done, or failed and
//! why. Pure functions over the JSON ECS sent (DescribeServices' service,
//! DescribeServiceDeployments' service deployment), so every rule is tested
//! without a client.
//!
//! Two sources, one answer shape ([`Look`]): the service deployment
//! (`status`, the only record of blue/green, linear and canary rollouts,
//! bake time and hooks) when the service names one, else the deployment in
//! DescribeServices' `deployments`, followed by id (`rolloutState`).

use serde_json::{Value, json};

use super::args::Until;

/// Where the rollout's state was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    ServiceDeployment,
    RolloutState,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::ServiceDeployment => "serviceDeployment",
            Source::RolloutState => "rolloutState",
        }
    }
}

/// What a look concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Waiting,
    /// Success: "deployed", "stable" or "paused".
    Done(&'static str),
    /// Failure, with the reason in a sentence.
    Failed(String),
}

/// The facts of one look, for the `wait` object and stderr.
#[derive(Debug, Clone, PartialEq)]
pub struct Look {
    pub verdict: Verdict,
    /// The source's own word: a service deployment's status, or the
    /// followed deployment's rolloutState.
    pub state: Option<String>,
    pub reason: Option<String>,
    pub lifecycle_stage: Option<String>,
    pub circuit_breaker: Value,
    pub alarms: Value,
    pub serving_revision: Option<String>,
    /// `desired 3, running 2, pending 1, failed 0`.
    pub counts: Option<String>,
    /// `target 25%`, when ECS shifts traffic.
    pub traffic: Option<String>,
    /// A PAUSE hook awaiting action: `{hookId, expiresAt, timeoutAction}`.
    pub paused: Option<Value>,
    /// ECS knows no such service (no stopped tasks to list).
    pub missing: bool,
}

impl Look {
    fn new(verdict: Verdict) -> Self {
        Look {
            verdict,
            state: None,
            reason: None,
            lifecycle_stage: None,
            circuit_breaker: Value::Null,
            alarms: Value::Null,
            serving_revision: None,
            counts: None,
            traffic: None,
            paused: None,
            missing: false,
        }
    }
}

/// What the judge needs besides the JSON.
#[derive(Debug, Clone, Copy)]
pub struct Rules<'a> {
    pub until: Until,
    pub max_failed_tasks: Option<u32>,
    /// ecs-deploy --rollback's method, when the rollback is the goal.
    pub rollback: Option<&'a str>,
}

/// A service that takes no deployment any more, or none at all.
pub fn gone(service: Option<&Value>, missing_reason: Option<&str>) -> Option<Look> {
    let Some(service) = service else {
        let reason = format!(
            "the service is missing ({})",
            missing_reason.unwrap_or("MISSING")
        );
        let mut look = Look::new(Verdict::Failed(reason.clone()));
        look.reason = Some(reason);
        look.missing = true;
        return Some(look);
    };
    match service["status"].as_str() {
        Some(status @ ("DRAINING" | "INACTIVE")) => {
            let reason = format!("the service is {status}: it is being deleted or was deleted");
            let mut look = Look::new(Verdict::Failed(reason.clone()));
            look.state = Some(status.to_string());
            look.reason = Some(reason);
            Some(look)
        }
        _ => None,
    }
}

/// The service's PRIMARY deployment in DescribeServices' `deployments`.
pub fn primary(service: &Value) -> Option<&Value> {
    service["deployments"]
        .as_array()?
        .iter()
        .find(|d| d["status"] == "PRIMARY")
}

/// The classic waiter's rule: one deployment, running == desired.
fn stable(service: &Value) -> bool {
    service["deployments"]
        .as_array()
        .is_some_and(|d| d.len() == 1)
        && service["runningCount"] == service["desiredCount"]
}

fn text(v: &Value) -> Option<String> {
    v.as_str().filter(|s| !s.is_empty()).map(str::to_string)
}

/// The fallback: the deployment `id` in DescribeServices' `deployments`.
pub fn by_rollout_state(service: &Value, id: &str, rules: Rules<'_>) -> Look {
    if let Some(look) = gone(Some(service), None) {
        return look;
    }
    let deployments = service["deployments"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let primary = primary(service);
    let followed = deployments.iter().find(|d| d["id"] == id);
    let mut look = Look::new(Verdict::Waiting);
    look.serving_revision = primary.and_then(|p| text(&p["taskDefinition"]));
    let Some(d) = followed else {
        let reason = match primary {
            Some(p) => format!(
                "deployment {id} is gone and {} is PRIMARY, running {}: ECS rolled the service back (deployment circuit breaker)",
                p["id"].as_str().unwrap_or("?"),
                p["taskDefinition"]
                    .as_str()
                    .map_or("?", crate::ecs::api::name_of)
            ),
            None => format!("deployment {id} is gone and the service has no PRIMARY deployment"),
        };
        look.reason = Some(reason.clone());
        look.verdict = Verdict::Failed(reason);
        return look;
    };
    look.state = text(&d["rolloutState"]);
    look.reason = text(&d["rolloutStateReason"]);
    let failed_tasks = d["failedTasks"].as_u64().unwrap_or(0);
    look.counts = Some(format!(
        "desired {}, running {}, pending {}, failed {failed_tasks}",
        d["desiredCount"].as_i64().unwrap_or(0),
        d["runningCount"].as_i64().unwrap_or(0),
        d["pendingCount"].as_i64().unwrap_or(0),
    ));
    if let Some(max) = rules.max_failed_tasks
        && failed_tasks >= u64::from(max)
    {
        look.verdict = Verdict::Failed(format!(
            "{failed_tasks} tasks of deployment {id} failed (--max-failed-tasks {max})"
        ));
        return look;
    }
    let is_primary = d["status"] == "PRIMARY";
    look.verdict = match look.state.as_deref() {
        Some("FAILED") => Verdict::Failed(format!(
            "deployment {id} FAILED: {}",
            look.reason.as_deref().unwrap_or("ECS gave no reason")
        )),
        Some("COMPLETED") => Verdict::Done("deployed"),
        None if deployments.len() == 1 && d["runningCount"] == d["desiredCount"] => {
            Verdict::Done("deployed")
        }
        _ if !is_primary => match primary {
            Some(p) => Verdict::Failed(format!(
                "deployment {id} was replaced by {} before it finished",
                p["id"].as_str().unwrap_or("?")
            )),
            None => Verdict::Waiting,
        },
        _ => Verdict::Waiting,
    };
    if !matches!(look.verdict, Verdict::Failed(_)) && rules.until == Until::Stable {
        look.verdict = if stable(service) {
            Verdict::Done("stable")
        } else {
            Verdict::Waiting
        };
    }
    look
}

/// The service deployment, as DescribeServiceDeployments sent it.
pub fn by_service_deployment(service: &Value, sd: &Value, rules: Rules<'_>) -> Look {
    if let Some(look) = gone(Some(service), None) {
        return look;
    }
    let mut look = Look::new(Verdict::Waiting);
    let status = sd["status"].as_str().unwrap_or("");
    look.state = text(&sd["status"]);
    look.lifecycle_stage = text(&sd["lifecycleStage"]);
    look.circuit_breaker = sd["deploymentCircuitBreaker"].clone();
    look.alarms = sd["alarms"].clone();
    let rollback_reason = text(&sd["rollback"]["reason"]);
    let status_reason = text(&sd["statusReason"]);
    look.reason = match (&status_reason, &rollback_reason) {
        (Some(s), Some(r)) if s != r => Some(format!("{s}; rollback: {r}")),
        (Some(s), _) => Some(s.clone()),
        (None, r) => r.clone(),
    };
    let target = &sd["targetServiceRevision"];
    look.serving_revision = if status.starts_with("ROLLBACK") {
        text(&sd["rollback"]["serviceRevisionArn"]).or_else(|| {
            sd["sourceServiceRevisions"]
                .as_array()
                .and_then(|s| s.first())
                .and_then(|s| text(&s["arn"]))
        })
    } else {
        text(&target["arn"])
    };
    let failures = sd["deploymentCircuitBreaker"]["failureCount"].as_u64();
    if target.is_object() {
        look.counts = Some(format!(
            "desired {}, running {}, pending {}, failed {}",
            target["requestedTaskCount"].as_i64().unwrap_or(0),
            target["runningTaskCount"].as_i64().unwrap_or(0),
            target["pendingTaskCount"].as_i64().unwrap_or(0),
            failures.unwrap_or(0)
        ));
        look.traffic = target["requestedProductionTrafficWeight"]
            .as_f64()
            .map(|w| format!("target {w}%"));
    }
    look.paused = sd["lifecycleHookDetails"].as_array().and_then(|hooks| {
        hooks
            .iter()
            .find(|h| h["status"] == "AWAITING_ACTION" && h["targetType"] == "PAUSE")
            .map(|h| {
                json!({"hookId": h["hookId"], "expiresAt": h["expiresAt"],
                    "timeoutAction": h["timeoutAction"]})
            })
    });
    let why = || {
        let mut parts = vec![format!("service deployment {status}")];
        parts.extend(look.reason.clone());
        if let (Some(n), Some(max)) = (
            failures,
            sd["deploymentCircuitBreaker"]["threshold"].as_u64(),
        ) {
            parts.push(format!("circuit breaker: {n} of {max} tasks failed"));
        }
        if let Some(names) = sd["alarms"]["triggeredAlarmNames"].as_array()
            && !names.is_empty()
        {
            let names: Vec<&str> = names.iter().filter_map(Value::as_str).collect();
            parts.push(format!("alarms: {}", names.join(", ")));
        }
        if let Some(rev) = &look.serving_revision {
            parts.push(format!(
                "now serving service revision {}",
                crate::ecs::api::name_of(rev)
            ));
        }
        parts.join("; ")
    };
    let rolling_back = rules.rollback == Some("stopServiceDeployment");
    let stopping = rules.rollback == Some("abort");
    look.verdict = match status {
        // ecs-deploy --stop asked ECS to stop it where it is.
        "STOPPED" if stopping => Verdict::Done("stopped"),
        "SUCCESSFUL" if stopping => Verdict::Failed(
            "the deployment finished before the stop took: it is SUCCESSFUL".to_string(),
        ),
        "SUCCESSFUL" if rolling_back => Verdict::Failed(
            "the deployment finished before the rollback took: it is SUCCESSFUL, not rolled back"
                .to_string(),
        ),
        "SUCCESSFUL" => Verdict::Done("deployed"),
        // The rollback ecs-deploy asked ECS for (StopServiceDeployment)
        // is this deployment rolled back; a rollback by update is a new
        // deployment of the old revision, and its own rollback a failure.
        "ROLLBACK_SUCCESSFUL" if rolling_back => Verdict::Done("deployed"),
        "ROLLBACK_SUCCESSFUL" | "ROLLBACK_FAILED" | "STOPPED" => Verdict::Failed(why()),
        _ => Verdict::Waiting,
    };
    if look.verdict == Verdict::Waiting
        && let (Some(n), Some(max)) = (failures, rules.max_failed_tasks)
        && n >= u64::from(max)
    {
        look.verdict = Verdict::Failed(format!("{n} tasks failed (--max-failed-tasks {max})"));
    }
    if look.verdict == Verdict::Waiting && rules.until == Until::Paused && look.paused.is_some() {
        look.verdict = Verdict::Done("paused");
    }
    if !matches!(look.verdict, Verdict::Failed(_)) && rules.until == Until::Stable {
        look.verdict = if stable(service) {
            Verdict::Done("stable")
        } else {
            Verdict::Waiting
        };
    }
    look
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: Rules<'static> = Rules {
        until: Until::Deployed,
        max_failed_tasks: None,
        rollback: None,
    };

    fn service(deployments: Value) -> Value {
        json!({"serviceName": "web", "status": "ACTIVE", "desiredCount": 2, "runningCount": 2,
            "deployments": deployments})
    }

    #[test]
    fn no_rollout_state_one_deployment_all_running_is_deployed() {
        let s = service(
            json!([{"id": "ecs-svc/1", "status": "PRIMARY", "desiredCount": 2, "runningCount": 2}]),
        );
        assert_eq!(
            by_rollout_state(&s, "ecs-svc/1", RULES).verdict,
            Verdict::Done("deployed")
        );
    }

    #[test]
    fn no_rollout_state_two_deployments_is_still_waiting() {
        let s = service(json!([
            {"id": "ecs-svc/2", "status": "PRIMARY", "desiredCount": 2, "runningCount": 2},
            {"id": "ecs-svc/1", "status": "ACTIVE", "desiredCount": 0, "runningCount": 1}]));
        assert_eq!(
            by_rollout_state(&s, "ecs-svc/2", RULES).verdict,
            Verdict::Waiting
        );
    }

    #[test]
    fn a_replaced_deployment_in_progress_is_a_failure() {
        let s = service(json!([
            {"id": "ecs-svc/3", "status": "PRIMARY", "rolloutState": "IN_PROGRESS"},
            {"id": "ecs-svc/2", "status": "ACTIVE", "rolloutState": "IN_PROGRESS"}]));
        let look = by_rollout_state(&s, "ecs-svc/2", RULES);
        assert!(
            matches!(&look.verdict, Verdict::Failed(r) if r.contains("replaced by ecs-svc/3")),
            "{look:?}"
        );
    }

    #[test]
    fn a_rollback_by_update_that_is_itself_rolled_back_fails() {
        let s = service(json!([]));
        let sd = json!({"status": "ROLLBACK_SUCCESSFUL"});
        let by_update = Rules {
            rollback: Some("update"),
            ..RULES
        };
        assert!(matches!(
            by_service_deployment(&s, &sd, by_update).verdict,
            Verdict::Failed(_)
        ));
        let by_stop = Rules {
            rollback: Some("stopServiceDeployment"),
            ..RULES
        };
        assert_eq!(
            by_service_deployment(&s, &sd, by_stop).verdict,
            Verdict::Done("deployed")
        );
    }

    #[test]
    fn a_pause_hook_ends_the_wait_only_with_until_paused() {
        let s = service(json!([]));
        let sd = json!({"status": "IN_PROGRESS", "lifecycleStage": "POST_TEST_TRAFFIC_SHIFT",
            "lifecycleHookDetails": [{"hookId": "h1", "targetType": "PAUSE", "status": "AWAITING_ACTION"}]});
        assert_eq!(
            by_service_deployment(&s, &sd, RULES).verdict,
            Verdict::Waiting
        );
        let paused = Rules {
            until: Until::Paused,
            ..RULES
        };
        assert_eq!(
            by_service_deployment(&s, &sd, paused).verdict,
            Verdict::Done("paused")
        );
    }
}
