//! The reports of ECS runs as summary Markdown, shared by the tools that
//! give them: a rollout's (`wait`/`waits`: ecs-wait, ecs-deploy --wait) and
//! a stopped task's containers and last log lines (ecs-wait's
//! `stoppedTasks`, ecs-run's `task`). Only the named fields are read.

use serde_json::Value;

use super::{Inline, Markdown, duration};
use crate::ecs::api::{console_url, name_of};
use crate::stream::Envelope;

/// `name` linking to the console page of its deployments when `service`
/// is a service ARN (`arn:aws:ecs:REGION:ACCOUNT:service/CLUSTER/NAME`);
/// the name alone otherwise.
pub fn service_link(service: &str) -> Inline {
    let name = name_of(service);
    let parts: Vec<&str> = service.splitn(6, ':').collect();
    if let [arn, _, ecs, region, _, resource] = parts.as_slice()
        && *arn == "arn"
        && *ecs == "ecs"
        && !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && let Some((cluster, service)) = resource
            .strip_prefix("service/")
            .and_then(|r| r.split_once('/'))
    {
        return Inline::link(name, &console_url(region, cluster, service));
    }
    Inline::text(name)
}

/// The rollout reports in `doc`: `waits` (several services), else `wait`.
pub fn wait_reports(doc: &Envelope) -> Vec<&Value> {
    match (doc.get("waits"), doc.get("wait")) {
        (Some(Value::Array(list)), _) => list.iter().collect(),
        (_, Some(one @ Value::Object(_))) => vec![one],
        _ => Vec::new(),
    }
}

/// The status for later steps: the first rollout's that did not end
/// well, else the first one's; none without a rollout.
pub fn overall_status<'a>(reports: &[&'a Value]) -> Option<&'a str> {
    reports
        .iter()
        .find(|r| !succeeded(r))
        .or(reports.first())
        .and_then(|r| r["status"].as_str())
}

/// Whether a rollout report ended well.
pub fn succeeded(report: &Value) -> bool {
    matches!(report["status"].as_str(), Some("deployed" | "stable"))
}

/// How the rollouts ended, a row a service (service with its console link,
/// status, deployment, how long, reason); then the stopped tasks of those
/// that did not end well, a row a container, and the log lines they have,
/// each in a collapsed block.
pub fn rollout(md: &mut Markdown, reports: &[&Value]) {
    let rows: Vec<Vec<Inline>> = reports
        .iter()
        .map(|r| {
            vec![
                service_link(str(&r["service"])),
                status(r),
                Inline::code(name_of(str(&r["deployment"]))),
                r["elapsedSeconds"]
                    .as_u64()
                    .map(|s| Inline::text(&duration(s)))
                    .unwrap_or_default(),
                reason(r),
            ]
        })
        .collect();
    md.table(
        &["Service", "Status", "Deployment", "Took", "Reason"],
        &rows,
    );
    let mut stopped = Vec::new();
    let mut logs = Markdown::new();
    for r in reports {
        let service = name_of(str(&r["service"]));
        for task in r["stoppedTasks"].as_array().into_iter().flatten() {
            stopped.extend(container_rows(task, Some(service)));
            container_logs(&mut logs, task, Some(service));
        }
    }
    md.table(
        &["Service", "Task", "Container", "Exit code", "Reason"],
        &stopped,
    );
    md.table(
        &[
            "Service",
            "Target group",
            "Target",
            "State",
            "Reason",
            "Most often",
        ],
        &target_rows(reports),
    );
    md.append(&logs);
}

/// The targets that failed their load balancer's health checks
/// (`targetHealth`), a row each.
fn target_rows(reports: &[&Value]) -> Vec<Vec<Inline>> {
    let mut rows = Vec::new();
    for r in reports {
        let service = name_of(str(&r["service"]));
        for group in r["targetHealth"].as_array().into_iter().flatten() {
            let name = str(&group["targetGroupArn"])
                .rsplit('/')
                .nth(1)
                .unwrap_or_default();
            for t in group["targets"].as_array().into_iter().flatten() {
                let target = match t["port"].as_i64() {
                    Some(port) => format!("{}:{port}", str(&t["id"])),
                    None => str(&t["id"]).to_string(),
                };
                rows.push(vec![
                    Inline::text(service),
                    Inline::text(name),
                    Inline::code(&target),
                    Inline::text(str(&t["state"])),
                    Inline::code(str(&t["reason"])),
                    Inline::text(str(&t["meaning"])),
                ]);
            }
        }
    }
    rows
}

/// `failed (ROLLBACK_SUCCESSFUL)`: the status, and the state it was read
/// from when that says more.
fn status(report: &Value) -> Inline {
    let status = str(&report["status"]);
    let state = str(&report["state"]);
    let text = if state.is_empty() || state.eq_ignore_ascii_case(status) {
        status.to_string()
    } else {
        format!("{status} ({state})")
    };
    if succeeded(report) {
        Inline::text(&text)
    } else {
        Inline::strong(Inline::text(&text))
    }
}

/// The report's reason (the circuit breaker's count and the alarms are in
/// it when they count).
fn reason(report: &Value) -> Inline {
    Inline::text(report["reason"].as_str().unwrap_or_default())
}

/// A stopped task's containers, a row each (`[service,] task, container,
/// exit code, reason`): the container's reason, else the task's.
pub fn container_rows(task: &Value, service: Option<&str>) -> Vec<Vec<Inline>> {
    let id = name_of(str(&task["taskArn"]));
    let task_reason = match (
        task["stoppedReason"].as_str().filter(|r| !r.is_empty()),
        task["stopCode"].as_str().filter(|c| !c.is_empty()),
    ) {
        (Some(r), Some(c)) => format!("{r} ({c})"),
        (Some(r), None) => r.to_string(),
        (None, Some(c)) => c.to_string(),
        (None, None) => String::new(),
    };
    let row = |container: &str, exit: String, reason: &str| {
        let mut row = Vec::new();
        if let Some(service) = service {
            row.push(Inline::text(service));
        }
        row.extend([
            Inline::code(id),
            Inline::text(container),
            Inline::text(&exit),
            Inline::text(reason),
        ]);
        row
    };
    let containers = task["containers"].as_array().cloned().unwrap_or_default();
    if containers.is_empty() {
        return vec![row("", String::new(), &task_reason)];
    }
    containers
        .iter()
        .map(|c| {
            let exit = match &c["exitCode"] {
                Value::Null => "none".to_string(),
                code => code.to_string(),
            };
            let reason = c["reason"]
                .as_str()
                .filter(|r| !r.is_empty())
                .unwrap_or(&task_reason);
            row(str(&c["name"]), exit, reason)
        })
        .collect()
}

/// Each container's `lastLogLines` in a collapsed block, titled with the
/// container, the task and the service.
pub fn container_logs(md: &mut Markdown, task: &Value, service: Option<&str>) {
    let id = name_of(str(&task["taskArn"]));
    for c in task["containers"].as_array().into_iter().flatten() {
        let lines: Vec<String> = match &c["lastLogLines"] {
            Value::Array(lines) => lines
                .iter()
                .map(|l| match l {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect(),
            Value::String(one) => vec![one.clone()],
            _ => continue,
        };
        if lines.is_empty() {
            continue;
        }
        let n = lines.len();
        let what = if n == 1 {
            "its last log line".to_string()
        } else {
            format!("its last {n} log lines")
        };
        let within = match service {
            Some(s) => format!("task {id} of service {s}"),
            None => format!("task {id}"),
        };
        md.details(
            &format!("container {} in {within}: {what}", str(&c["name"])),
            &lines,
        );
    }
}

/// A string field, or `""`.
fn str(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::parsed::{Block, blocks};
    use serde_json::json;

    fn row(cells: &[&str]) -> Vec<String> {
        cells.iter().map(|c| c.to_string()).collect()
    }

    /// A failed rollout as ecs-wait reports it, with the log lines that
    /// `stoppedTasks[].containers[].lastLogLines` carries: the rollout
    /// table, the stopped tasks a row a container, and each container's
    /// lines in a collapsed code block.
    #[test]
    fn a_failed_rollout_with_log_lines() {
        let report = json!({
        "status": "failed", "state": "ROLLBACK_SUCCESSFUL",
        "service": "arn:aws:ecs:eu-west-1:123456789012:service/prod/web",
        "deployment": "arn:aws:ecs:eu-west-1:123456789012:service-deployment/prod/web/sd-2",
        "reason": "tasks failed to start", "elapsedSeconds": 95,
        "stoppedTasks": [{
            "taskArn": "arn:aws:ecs:eu-west-1:123456789012:task/prod/t1",
            "stoppedReason": "Essential container in task exited",
            "stopCode": "EssentialContainerExited",
            "containers": [
                {"name": "web", "exitCode": 1, "reason": null,
                 "lastLogLines": ["listening on :8080", "Error: DATABASE_URL | unset <br>"]},
                {"name": "envoy", "exitCode": null, "reason": "stopped"}
            ]}]});
        let mut md = Markdown::new();
        rollout(&mut md, &[&report]);
        assert_eq!(
            blocks(md.as_str()),
            vec![
                Block::Table(vec![
                    row(&["Service", "Status", "Deployment", "Took", "Reason"]),
                    row(&[
                        "<link https://eu-west-1.console.aws.amazon.com/ecs/v2/clusters/prod/services/web/deployments?region=eu-west-1>web",
                        "failed (ROLLBACK_SUCCESSFUL)",
                        "sd-2",
                        "1m 35s",
                        "tasks failed to start"
                    ]),
                ]),
                Block::Table(vec![
                    row(&["Service", "Task", "Container", "Exit code", "Reason"]),
                    row(&[
                        "web",
                        "t1",
                        "web",
                        "1",
                        "Essential container in task exited (EssentialContainerExited)"
                    ]),
                    row(&["web", "t1", "envoy", "none", "stopped"]),
                ]),
                Block::Html(
                    "<details><summary>container web in task t1 of service web: its last 2 log lines</summary>"
                        .into()
                ),
                Block::Code(
                    "text".into(),
                    "listening on :8080\nError: DATABASE_URL | unset <br>\n".into()
                ),
                Block::Html("</details>".into()),
            ],
            "{}",
            md.as_str()
        );
    }

    /// Targets that failed the health checks: a row each, with the reason
    /// code and what it most often means.
    #[test]
    fn unhealthy_targets_are_a_table() {
        let report = json!({
            "status": "failed", "service": "arn:aws:ecs:us-east-1:123456789012:service/prod/web",
            "targetHealth": [{
                "targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-tg/6d0e",
                "targets": [{"id": "10.0.1.23", "port": 8080, "state": "unhealthy",
                    "reason": "Target.Timeout", "meaning": "no answer on port 8080"}]}]});
        let mut md = Markdown::new();
        rollout(&mut md, &[&report]);
        let tables: Vec<Block> = blocks(md.as_str())
            .into_iter()
            .filter(|b| matches!(b, Block::Table(t) if t[0][1] == "Target group"))
            .collect();
        assert_eq!(
            tables,
            vec![Block::Table(vec![
                row(&[
                    "Service",
                    "Target group",
                    "Target",
                    "State",
                    "Reason",
                    "Most often"
                ]),
                row(&[
                    "web",
                    "web-tg",
                    "10.0.1.23:8080",
                    "unhealthy",
                    "Target.Timeout",
                    "no answer on port 8080"
                ]),
            ])],
            "{}",
            md.as_str()
        );
    }

    #[test]
    fn a_rollout_that_ended_well_is_one_row_and_no_stopped_tasks() {
        let report = json!({"status": "deployed", "state": "COMPLETED", "service": "web",
            "deployment": "ecs-svc/123", "elapsedSeconds": 42, "reason": null,
            "stoppedTasks": []});
        let mut md = Markdown::new();
        rollout(&mut md, &[&report]);
        assert_eq!(
            blocks(md.as_str()),
            vec![Block::Table(vec![
                row(&["Service", "Status", "Deployment", "Took", "Reason"]),
                row(&["web", "deployed (COMPLETED)", "ecs-svc/123", "42s", ""]),
            ])]
        );
        assert_eq!(overall_status(&[&report]), Some("deployed"));
    }

    #[test]
    fn the_status_for_later_steps_is_the_first_that_did_not_end_well() {
        let ok = json!({"status": "deployed"});
        let bad = json!({"status": "timeout"});
        assert_eq!(overall_status(&[&ok, &bad]), Some("timeout"));
        assert_eq!(overall_status(&[]), None);
    }
}
