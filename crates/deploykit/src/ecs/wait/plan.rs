//! A wait's [`Plan`], checked through before any call: which services,
//! which deployment of each, what counts as done, and for how long. A
//! mistake here is exit 2 with nothing sent. ecs-wait builds the targets
//! from its flags and stdin, ecs-deploy --wait from the services it updated.

use std::time::Duration;

use serde_json::Value;

use super::args::{Until, WaitArgs};
use super::judge;
use crate::ecs::api::name_of;
use crate::stream::{Envelope, kind};
use crate::{Error, Result};

/// The service deployment ecs-deploy --rollback asked ECS to roll back
/// (StopServiceDeployment), as its `rollback.serviceDeployment` says.
pub fn stopped_deployment(envelope: &Envelope) -> Option<String> {
    let rollback = envelope.get("rollback")?;
    (rollback["method"] == "stopServiceDeployment")
        .then(|| rollback["serviceDeployment"].as_str().map(str::to_string))
        .flatten()
}

/// The rollback (or stop) to wait for, if any: ecs-deploy --stop's
/// `stopped` (`"abort"`: the deployment stopping is the goal), or
/// ecs-deploy --rollback's `rollback`
/// when ECS was asked to roll back a deployment in progress, and only for
/// that very deployment. A `rollback` left in the document by an earlier
/// step (a later deploy in the same pipe) is no goal, nor is a rollback by
/// update (a deployment like any other: its own rollback is a failure).
pub fn rollback_goal(envelope: &Envelope, deployment: Option<&str>) -> Option<String> {
    // ecs-deploy --stop: the deployment stopping (ABORT) is the goal.
    if let Some(stopped) = envelope.get("stopped")
        && stopped["stopType"] == "ABORT"
        && deployment.is_some()
        && stopped["serviceDeployment"].as_str() == deployment
    {
        return Some("abort".to_string());
    }
    let stopped = stopped_deployment(envelope)?;
    (deployment == Some(stopped.as_str())).then(|| "stopServiceDeployment".to_string())
}

/// One service to wait for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub cluster: String,
    /// Its name or ARN, as given.
    pub service: String,
    /// The deployment to follow, when known before the first poll: a
    /// service deployment ARN, or a deployment id (`ecs-svc/...`).
    pub deployment: Option<String>,
    /// The `ecs-svc/...` id of the deployment whose tasks are the new ones
    /// (stdin's PRIMARY deployment), for the stopped-task report.
    pub tasks_started_by: Option<String>,
    /// `Some(method)` when stdin carried ecs-deploy --rollback's `rollback`:
    /// the rollback finishing is the goal.
    pub rollback: Option<String>,
}

/// Everything a wait needs, validated.
#[derive(Debug, Clone)]
pub struct Plan {
    pub targets: Vec<Target>,
    pub until: Until,
    pub timeout: Duration,
    pub interval: Duration,
    pub max_failed_tasks: Option<u32>,
    /// `waits` (a list) rather than `wait` in the output: several services,
    /// or a `services` list on stdin.
    pub several: bool,
}

/// The default `--timeout`.
pub const TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// The default `--interval`.
pub const INTERVAL: Duration = Duration::from_secs(10);
/// The shortest `--interval`: 20 DescribeServices calls a minute.
pub const MIN_INTERVAL: Duration = Duration::from_secs(3);

impl Plan {
    /// A plan for `targets` with the wait flags: what ecs-deploy --wait uses.
    pub fn with(wait: &WaitArgs, targets: Vec<Target>) -> Result<Self> {
        let timeout = match &wait.timeout {
            Some(text) => parse_duration(text).ok_or_else(|| {
                Error::usage("--timeout: expected a duration such as 90s, 15m, 1h or 1h30m")
            })?,
            None => TIMEOUT,
        };
        let interval = match &wait.interval {
            Some(text) => parse_duration(text).ok_or_else(|| {
                Error::usage("--interval: expected a duration such as 5s, 10s or 1m")
            })?,
            None => INTERVAL,
        };
        if interval < MIN_INTERVAL {
            return Err(Error::usage(
                "--interval: 3s at least (ECS allows 20 DescribeServices calls a minute here)",
            ));
        }
        if wait.max_failed_tasks == Some(0) {
            return Err(Error::usage("--max-failed-tasks must be 1 or more"));
        }
        let several = targets.len() > 1;
        Ok(Plan {
            targets,
            until: wait.until.unwrap_or_default(),
            timeout,
            interval,
            max_failed_tasks: wait.max_failed_tasks,
            several,
        })
    }
}

/// A target from a service object as UpdateService prints it.
pub fn from_service(service: &Value, at: &str, cluster: Option<&str>) -> Result<Target> {
    if !service.is_object() {
        return Err(Error::usage(format!(
            "stdin: \"{at}\" is {}, expected a service object (as aws ecs update-service prints it)",
            kind(service)
        )));
    }
    let name = service["serviceArn"]
        .as_str()
        .or_else(|| service["serviceName"].as_str())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| Error::usage(format!("stdin: \"{at}\" has no serviceName or serviceArn")))?;
    for key in ["clusterArn", "currentServiceDeployment"] {
        if let Some(value) = service.get(key).filter(|v| !v.is_null() && !v.is_string()) {
            return Err(Error::usage(format!(
                "stdin: \"{at}.{key}\" is {}, expected an ARN as a string",
                kind(value)
            )));
        }
    }
    let cluster = match cluster {
        Some(c) => c.to_string(),
        None => service["clusterArn"]
            .as_str()
            .map(|c| name_of(c).to_string())
            .or_else(|| cluster_of_service_arn(name))
            .unwrap_or_else(|| "default".to_string()),
    };
    let primary = judge::primary(service)
        .and_then(|d| d["id"].as_str())
        .map(str::to_string);
    let deployment = service["currentServiceDeployment"]
        .as_str()
        .map(str::to_string)
        .or_else(|| primary.clone());
    Ok(Target {
        cluster,
        service: name.to_string(),
        deployment,
        tasks_started_by: primary,
        rollback: None,
    })
}

/// `arn:...:service/CLUSTER/NAME` names its cluster; the old format does not.
fn cluster_of_service_arn(arn: &str) -> Option<String> {
    let rest = arn.split_once(":service/")?.1;
    let (cluster, _) = rest.split_once('/')?;
    Some(cluster.to_string())
}

/// `arn:...:service-deployment/CLUSTER/SERVICE/ID`: its cluster and service.
pub fn deployment_parts(arn: &str) -> Option<(String, String)> {
    let rest = arn.split_once(":service-deployment/")?.1;
    let mut parts = rest.split('/');
    let cluster = parts.next()?.to_string();
    let service = parts.next()?.to_string();
    parts.next()?;
    Some((cluster, service))
}

/// `--deployment`: a service deployment ARN or an `ecs-svc/...` id.
pub fn check_deployment(d: &str) -> Result<()> {
    if d.starts_with("arn:") && deployment_parts(d).is_some() || d.starts_with("ecs-svc/") {
        Ok(())
    } else {
        Err(Error::usage(
            "--deployment: expected a service deployment ARN (arn:...:service-deployment/CLUSTER/SERVICE/ID) or a deployment id (ecs-svc/...)",
        ))
    }
}

/// Whether `d` is a service deployment ARN (else a DescribeServices id).
pub fn is_service_deployment(d: &str) -> bool {
    d.contains(":service-deployment/")
}

/// `90s`, `15m`, `1h`, `1h30m`, `2m30s`; a bare number is seconds.
pub fn parse_duration(text: &str) -> Option<Duration> {
    // The toolkit's one parser (ms, s, m, h, d); zero is no wait.
    crate::flags::duration(text).filter(|d| !d.is_zero())
}

/// `15m`, `1h30m`, `90s` → as a person writes it.
pub fn show_duration(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 3600, s % 3600 / 60, s % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, s) => format!("{m}m{s}s"),
        (h, 0, 0) => format!("{h}h"),
        (h, m, 0) => format!("{h}h{m}m"),
        (h, m, s) => format!("{h}h{m}m{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zero_duration_is_no_wait() {
        // The grammar is deploykit::flags::duration's, tested there.
        for zero in ["0", "0s", "0m0s"] {
            assert_eq!(parse_duration(zero), None, "{zero:?}");
        }
        assert_eq!(parse_duration("15m"), Some(Duration::from_secs(900)));
    }

    #[test]
    fn durations_shown() {
        assert_eq!(show_duration(Duration::from_secs(900)), "15m");
        assert_eq!(show_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(show_duration(Duration::from_secs(5400)), "1h30m");
    }

    #[test]
    fn stdin_service_follows_its_current_service_deployment() {
        let service = serde_json::json!({"serviceArn": "arn:aws:ecs:us-east-1:1:service/prod/web",
            "currentServiceDeployment": "arn:aws:ecs:us-east-1:1:service-deployment/prod/web/abc",
            "deployments": [{"id": "ecs-svc/1", "status": "ACTIVE"}, {"id": "ecs-svc/2", "status": "PRIMARY"}]});
        let t = from_service(&service, "service", None).unwrap();
        assert_eq!(t.cluster, "prod");
        assert_eq!(
            t.deployment.as_deref(),
            Some("arn:aws:ecs:us-east-1:1:service-deployment/prod/web/abc")
        );
        assert_eq!(t.tasks_started_by.as_deref(), Some("ecs-svc/2"));
    }

    #[test]
    fn stdin_service_without_one_follows_its_primary_deployment() {
        let service = serde_json::json!({"serviceName": "web", "clusterArn": "arn:aws:ecs:us-east-1:1:cluster/prod",
            "deployments": [{"id": "ecs-svc/1", "status": "ACTIVE"}, {"id": "ecs-svc/2", "status": "PRIMARY"}]});
        let t = from_service(&service, "service", None).unwrap();
        assert_eq!(t.deployment.as_deref(), Some("ecs-svc/2"));
    }

    #[test]
    fn a_service_deployment_arn_names_cluster_and_service() {
        assert_eq!(
            deployment_parts("arn:aws:ecs:us-east-1:1:service-deployment/prod/web/abc"),
            Some(("prod".into(), "web".into()))
        );
        assert_eq!(
            deployment_parts("arn:aws:ecs:us-east-1:1:service/prod/web"),
            None
        );
    }

    fn doc(rollback: serde_json::Value) -> Envelope {
        let mut e = Envelope::new();
        e.insert("rollback".to_string(), rollback);
        e
    }

    #[test]
    fn the_rollback_of_the_followed_deployment_is_the_goal() {
        let e = doc(
            serde_json::json!({"method": "stopServiceDeployment", "serviceDeployment": "arn:sd/1"}),
        );
        assert_eq!(
            rollback_goal(&e, Some("arn:sd/1")).as_deref(),
            Some("stopServiceDeployment")
        );
    }

    /// A later deploy in the same document follows another deployment.
    #[test]
    fn an_earlier_rollback_is_no_goal_for_another_deployment() {
        let e = doc(
            serde_json::json!({"method": "stopServiceDeployment", "serviceDeployment": "arn:sd/1"}),
        );
        assert_eq!(rollback_goal(&e, Some("arn:sd/2")), None);
        assert_eq!(rollback_goal(&e, None), None);
    }

    #[test]
    fn a_rollback_by_update_is_a_deployment_like_any_other() {
        let e = doc(serde_json::json!({"method": "update", "to": "arn:td/1"}));
        assert_eq!(rollback_goal(&e, Some("arn:sd/1")), None);
    }
}
