//! Why a failed rollout's targets failed their load balancer's health
//! checks: when the service's events say tasks failed them ("(service web)
//! (task 1a2b) failed ELB health checks in (target-group arn:...)"), each
//! target group named is asked (DescribeTargetHealth, DescribeTargetGroups)
//! and each unhealthy target said with its reason code, what that code
//! most often means, and the port and path that were checked. Both calls
//! are optional (elasticloadbalancing:DescribeTargetHealth,
//! DescribeTargetGroups): refused, one line says so and the report goes on.

use aws_sdk_elasticloadbalancingv2::Client;
use aws_sdk_elasticloadbalancingv2::types::TargetGroup;
use serde_json::{Value, json};

use crate::aws;

/// The target groups that the events say tasks failed health checks in,
/// in order, each once.
pub fn failing_target_groups(events: &[Value]) -> Vec<String> {
    let mut arns: Vec<String> = Vec::new();
    for e in events {
        let message = e["message"].as_str().unwrap_or_default();
        if !message.to_ascii_lowercase().contains("health check") {
            continue;
        }
        let Some(at) = message.find("(target-group ") else {
            continue;
        };
        let rest = &message[at + "(target-group ".len()..];
        let arn = rest.split(')').next().unwrap_or_default().trim();
        if arn.starts_with("arn:") && !arns.iter().any(|a| a == arn) {
            arns.push(arn.to_string());
        }
    }
    arns
}

/// Unhealthy targets said per target group, at most (the rest counted).
pub const MAX_TARGETS: usize = 10;

/// The health check a target group makes, as said: `HTTP GET /health on
/// the traffic port, expecting 200`.
struct Check {
    protocol: String,
    path: Option<String>,
    /// A port number, or `traffic-port` (the target's own).
    port: String,
    codes: Option<String>,
    timeout: Option<i32>,
    name: Option<String>,
}

impl Check {
    fn of(group: &TargetGroup) -> Check {
        Check {
            protocol: group
                .health_check_protocol()
                .map_or("HTTP".to_string(), |p| p.as_str().to_string()),
            path: group.health_check_path().map(str::to_string),
            port: group
                .health_check_port()
                .unwrap_or("traffic-port")
                .to_string(),
            codes: group
                .matcher()
                .and_then(|m| m.http_code().or(m.grpc_code()))
                .map(str::to_string),
            timeout: group.health_check_timeout_seconds(),
            name: group.target_group_name().map(str::to_string),
        }
    }

    /// The port checked on a target listening on `port`.
    fn port_for(&self, port: Option<i32>) -> String {
        match (self.port.as_str(), port) {
            ("traffic-port", Some(p)) => p.to_string(),
            ("traffic-port", None) => "the traffic port".to_string(),
            (p, _) => p.to_string(),
        }
    }

    fn words(&self) -> String {
        let what = match &self.path {
            Some(path) => format!("{} GET {path}", self.protocol),
            None => self.protocol.clone(),
        };
        let port = match self.port.as_str() {
            "traffic-port" => "the traffic port".to_string(),
            p => format!("port {p}"),
        };
        let expecting = self
            .codes
            .as_ref()
            .map(|c| format!(", expecting {c}"))
            .unwrap_or_default();
        format!("{what} on {port}{expecting}")
    }
}

/// What a reason code most often means, with the port and path checked.
fn meaning(reason: &str, check: Option<&Check>, port: Option<i32>) -> String {
    let at = check.map_or_else(
        || port.map_or("its port".to_string(), |p| format!("port {p}")),
        |c| format!("port {}", c.port_for(port)),
    );
    let path = check
        .and_then(|c| c.path.clone())
        .unwrap_or_else(|| "the health-check path".to_string());
    let within = check
        .and_then(|c| c.timeout)
        .map(|t| format!(" within {t} s"))
        .unwrap_or_default();
    match reason {
        "Target.Timeout" => format!(
            "no answer{within} on {at}: most often a security group that does not let the load balancer reach the task on {at}, or the container listening on another port"
        ),
        "Target.ResponseCodeMismatch" => format!(
            "{path} on {at} answered with another code than the health check expects: most often a wrong health-check path, or an application that is not ready"
        ),
        "Target.FailedHealthChecks" => format!(
            "the connection to {at} failed or was closed: most often the container not listening on {at}, or crashing"
        ),
        "Target.NotRegistered" => {
            "not registered in the target group: the task stopped before ECS registered it".to_string()
        }
        "Target.NotInUse" => {
            "the target group is not used by the load balancer, or the task's Availability Zone is not enabled on it".to_string()
        }
        "Target.InvalidState" => "the target is stopped or terminated".to_string(),
        "Target.IpUnusable" => "the target's IP address is in use by the load balancer".to_string(),
        "Target.HealthCheckDisabled" => "health checks are disabled for the target group".to_string(),
        "Target.DeregistrationInProgress" => "the target is being deregistered".to_string(),
        "Elb.InitialHealthChecking" => "the first health checks are still running".to_string(),
        "Elb.InternalError" => "the load balancer failed internally: try again".to_string(),
        _ => String::new(),
    }
}

/// The unhealthy targets of each of `arns`, said through `say` and
/// returned as `wait.targetHealth`: `[{targetGroupArn, healthCheck,
/// targets: [{id, port, state, reason, description, meaning}]}]`.
pub async fn explain(client: &Client, arns: &[String], say: &dyn Fn(&str)) -> Vec<Value> {
    let mut reports = Vec::new();
    let mut groups_refused = None;
    // The health check settings: optional, the reasons stand without them.
    let groups: Vec<TargetGroup> = match client
        .describe_target_groups()
        .set_target_group_arns(Some(arns.to_vec()))
        .send()
        .await
    {
        Ok(answer) => answer.target_groups().to_vec(),
        Err(e) => {
            // Said once the targets are known: a role refused both hears
            // of the one that matters.
            groups_refused = Some(refused(
                &e,
                "elasticloadbalancing:DescribeTargetGroups",
                "the port and path checked are not shown",
            ));
            Vec::new()
        }
    };
    for arn in arns {
        let health = match client
            .describe_target_health()
            .target_group_arn(arn)
            .send()
            .await
        {
            Ok(health) => health,
            Err(e) => {
                say(&refused(
                    &e,
                    "elasticloadbalancing:DescribeTargetHealth",
                    "why the targets are unhealthy is not shown",
                ));
                return reports;
            }
        };
        if let Some(line) = groups_refused.take() {
            say(&line);
        }
        let check = groups
            .iter()
            .find(|g| g.target_group_arn() == Some(arn.as_str()))
            .map(Check::of);
        let name = check
            .as_ref()
            .and_then(|c| c.name.clone())
            .unwrap_or_else(|| arn.rsplit('/').nth(1).unwrap_or(arn).to_string());
        let mut targets = Vec::new();
        let mut lines = Vec::new();
        let mut more = 0;
        for d in health.target_health_descriptions() {
            let state = d
                .target_health()
                .and_then(|h| h.state())
                .map_or("unknown", |s| s.as_str());
            if state == "healthy" {
                continue;
            }
            if targets.len() == MAX_TARGETS {
                more += 1;
                continue;
            }
            let id = d.target().map_or("?", |t| t.id().unwrap_or("?"));
            let port = d.target().and_then(|t| t.port());
            let reason = d
                .target_health()
                .and_then(|h| h.reason())
                .map(|r| r.as_str().to_string());
            let description = d
                .target_health()
                .and_then(|h| h.description())
                .map(str::to_string);
            let means = reason
                .as_deref()
                .map(|r| meaning(r, check.as_ref(), port))
                .unwrap_or_default();
            let target = port.map_or(id.to_string(), |p| format!("{id}:{p}"));
            lines.push(format!(
                "  target {target}: {state}{}{}{}",
                reason
                    .as_deref()
                    .map(|r| format!(", {r}"))
                    .unwrap_or_default(),
                description
                    .as_deref()
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default(),
                if means.is_empty() {
                    String::new()
                } else {
                    format!(": {means}")
                }
            ));
            targets.push(
                json!({"id": id, "port": port, "state": state, "reason": reason,
                "description": description, "meaning": means}),
            );
        }
        let checked = check
            .as_ref()
            .map(|c| format!(" (health check {})", c.words()))
            .unwrap_or_default();
        if targets.is_empty() {
            say(&format!(
                "target group {name}{checked}: no unhealthy target now"
            ));
        } else {
            say(&format!("target group {name}{checked}:"));
            for line in &lines {
                say(line);
            }
            if more > 0 {
                say(&format!("  and {more} more unhealthy targets"));
            }
        }
        reports.push(json!({
            "targetGroupArn": arn,
            "healthCheck": check.as_ref().map(|c| json!({"protocol": c.protocol, "path": c.path,
                "port": c.port, "matcher": c.codes})),
            "targets": targets,
            "moreUnhealthy": more,
        }));
    }
    reports
}

/// One line for an optional call that failed: refused, the permission and
/// what is lost; else what went wrong.
fn refused<E>(
    err: &aws_smithy_runtime_api::client::result::SdkError<
        E,
        aws_smithy_runtime_api::client::orchestrator::HttpResponse,
    >,
    action: &str,
    lost: &str,
) -> String
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata
        + std::error::Error
        + Send
        + Sync
        + 'static,
{
    let said = aws::describe(err);
    let advice = if aws::is_denied(err) {
        aws::denied_advice(&said, Some(action))
    } else {
        String::new()
    };
    format!("{action}: {said}{advice}; {lost}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_groups_come_from_the_health_check_events_once_each() {
        let tg = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-tg/6d0ecf831eec9f09";
        let events = [
            json!({"message": format!("(service web) (task 1a2b) failed ELB health checks in (target-group {tg})")}),
            json!({"message": format!("(service web) (port 8080) is unhealthy in (target-group {tg}) due to (reason Health checks failed).")}),
            json!({"message": "(service web) has started 1 tasks: (task 1a2b)."}),
            json!({"message": format!("(service web) registered 1 targets in (target-group {tg})")}),
        ];
        assert_eq!(failing_target_groups(&events), [tg]);
    }

    #[test]
    fn a_timeout_names_the_security_group_and_the_port_checked() {
        let check = Check {
            protocol: "HTTP".into(),
            path: Some("/health".into()),
            port: "traffic-port".into(),
            codes: Some("200".into()),
            timeout: Some(5),
            name: None,
        };
        let said = meaning("Target.Timeout", Some(&check), Some(8080));
        assert!(
            said.contains("security group") && said.contains("port 8080"),
            "{said}"
        );
        let said = meaning("Target.ResponseCodeMismatch", Some(&check), Some(8080));
        assert!(
            said.contains("/health on port 8080") && said.contains("wrong health-check path"),
            "{said}"
        );
        assert_eq!(
            check.words(),
            "HTTP GET /health on the traffic port, expecting 200"
        );
    }
}
