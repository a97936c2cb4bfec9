//! The stopped tasks of a failed deployment, and why each stopped: ListTasks
//! (`desiredStatus=STOPPED`, paged) and DescribeTasks, kept to the
//! deployment's own tasks ([`Which`]: started by its `ecs-svc/...` id; when
//! the wait began after ECS rolled back, started by a deployment other than
//! the serving one since the rollout began; else running its task
//! definition), with each container's exit code and reason.

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::DesiredStatus;
use serde_json::{Value, json};

use crate::Result;
use crate::ecs::api::{call_error, describe_task_definition, describe_tasks, name_of};
use crate::ecs::logs::{self, Destination, LAST_LINES, Logs, Mask};

/// At most this many tasks are reported: one screen.
pub const MAX_REPORTED: usize = 10;

/// ListTasks pages read at most (100 tasks each).
const MAX_PAGES: usize = 5;

/// Which stopped tasks are the deployment's.
pub struct Which<'a> {
    /// Its `ecs-svc/...` id: the tasks it started.
    pub started_by: Option<&'a str>,
    /// Else, with ECS already rolled back: the serving (rollback)
    /// deployment's id; the service's tasks started by another, stopped
    /// since `stopped_since`, on another revision than `task_definition`
    /// (the one rolled back to, which the old deployment ran too).
    pub not_started_by: Option<&'a str>,
    pub stopped_since: Option<f64>,
    /// Else the tasks running this task definition.
    pub task_definition: Option<&'a str>,
}

impl Which<'_> {
    fn keeps(&self, task: &Value) -> bool {
        let started_by = task["startedBy"].as_str();
        if let Some(id) = self.started_by {
            return started_by == Some(id);
        }
        if let Some(serving) = self.not_started_by {
            let since = match (self.stopped_since, task["stoppedAt"].as_f64()) {
                (Some(since), Some(at)) => at >= since,
                _ => true,
            };
            let other_revision = self
                .task_definition
                .is_none_or(|td| task["taskDefinitionArn"].as_str() != Some(td));
            return since
                && other_revision
                && started_by.is_some_and(|s| s != serving && s.starts_with("ecs-svc/"));
        }
        match self.task_definition {
            Some(td) => task["taskDefinitionArn"].as_str() == Some(td),
            None => true,
        }
    }
}

/// The stopped tasks of the deployment (newest first), as the `wait`
/// object's `stoppedTasks` holds them.
pub async fn stopped(
    client: &Client,
    cluster: &str,
    service: &str,
    which: &Which<'_>,
) -> Result<Vec<Value>> {
    // ECS keeps stopped tasks for about an hour: a service that kept
    // failing may have hundreds, listed 100 a page in no useful order.
    let mut arns: Vec<String> = Vec::new();
    let mut pages = client
        .list_tasks()
        .cluster(cluster)
        .service_name(name_of(service))
        .desired_status(DesiredStatus::Stopped)
        .max_results(100)
        .into_paginator()
        .send();
    for _ in 0..MAX_PAGES {
        let Some(listed) = pages.next().await else {
            break;
        };
        let listed = listed.map_err(|e| {
            call_error(
                "ListTasks",
                format!("listing stopped tasks of service {:?}", name_of(service)),
                e,
            )
        })?;
        arns.extend(listed.task_arns().iter().cloned());
    }
    let answer = describe_tasks(client, cluster, &arns, "describing the stopped tasks").await?;
    let mut tasks: Vec<&Value> = answer["tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| which.keeps(t))
        .collect();
    tasks.sort_by(|a, b| {
        b["stoppedAt"]
            .as_f64()
            .unwrap_or(0.0)
            .total_cmp(&a["stoppedAt"].as_f64().unwrap_or(0.0))
    });
    Ok(tasks.into_iter().take(MAX_REPORTED).map(summary).collect())
}

/// A task as `stoppedTasks` holds it.
fn summary(task: &Value) -> Value {
    let containers: Vec<Value> = task["containers"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .map(|c| json!({"name": c["name"], "exitCode": c["exitCode"], "reason": c["reason"]}))
                .collect()
        })
        .unwrap_or_default();
    json!({
        "taskArn": task["taskArn"],
        "taskDefinitionArn": task["taskDefinitionArn"],
        "stoppedReason": task["stoppedReason"],
        "stopCode": task["stopCode"],
        "stoppedAt": task["stoppedAt"],
        "containers": containers,
    })
}

/// What a task's stop reason most often means, when it is one the
/// troubleshooting guides list: an image that cannot be pulled (not
/// pushed, no repository, no way to the registry, a role that may not
/// pull) or a secret that cannot be read. `None` for any other.
pub fn why_stopped(reason: &str) -> Option<&'static str> {
    let r = reason.to_ascii_lowercase();
    let pull = r.contains("cannotpullcontainer") || r.contains("pull image");
    if pull && (r.contains("repository does not exist") || r.contains("name unknown")) {
        return Some(
            "the image's repository does not exist in that registry: create it (oci-push --create-repository, or aws ecr create-repository), or fix the image name",
        );
    }
    if pull && (r.contains(": not found") || r.contains("manifest unknown")) {
        return Some(
            "the image's tag or digest is not in its repository: it was never pushed there (deploy the digest oci-push printed), or the region or account differs",
        );
    }
    if (pull || r.contains("resourceinitializationerror"))
        && (r.contains("i/o timeout")
            || r.contains("context deadline exceeded")
            || r.contains("dial tcp"))
    {
        return Some(
            "the task could not reach the registry or Secrets Manager: a private subnet needs a NAT gateway or VPC endpoints (ecr.api, ecr.dkr, S3, and secretsmanager or ssm for secrets), or assignPublicIp ENABLED in a public one",
        );
    }
    if (pull || r.contains("resourceinitializationerror"))
        && (r.contains("accessdenied") || r.contains("not authorized"))
    {
        return Some(
            "the task's execution role may not pull the image or read its secrets: it needs ecr:GetAuthorizationToken, ecr:BatchGetImage, ecr:GetDownloadUrlForLayer (AmazonECSTaskExecutionRolePolicy), and secretsmanager:GetSecretValue or ssm:GetParameters for secrets",
        );
    }
    None
}

/// Stopped tasks whose failed containers' logs are read, at most.
pub const WITH_LOGS: usize = 3;

/// The last words of the containers that made each of the first
/// [`WITH_LOGS`] stopped tasks stop (failed and essential, else the first
/// that failed): their last [`LAST_LINES`] log lines, from
/// the awslogs settings of the task's definition (DescribeTaskDefinition),
/// masked and escaped, put in each container's `lastLogLines`. Returns, per
/// task, a line for each container whose lines could not be had (another
/// log driver, no stream). Both calls are optional: a refusal is said once
/// through `say`, and the report goes on without the lines.
pub async fn last_words(
    client: &Client,
    logs: &Logs,
    stopped: &mut [Value],
    say: &dyn Fn(&str),
) -> Vec<Vec<String>> {
    let mut notes = vec![Vec::new(); stopped.len()];
    let mut definitions: Vec<(String, Value)> = Vec::new();
    'tasks: for (task, notes) in stopped.iter_mut().zip(notes.iter_mut()).take(WITH_LOGS) {
        let id = task["taskArn"].as_str().map_or("?", name_of).to_string();
        let Some(arn) = task["taskDefinitionArn"].as_str().map(str::to_string) else {
            continue;
        };
        let td = match definitions.iter().find(|(a, _)| *a == arn) {
            Some((_, td)) => td.clone(),
            None => match describe_task_definition(client, &arn).await {
                Ok(answer) => {
                    let td = answer["taskDefinition"].clone();
                    definitions.push((arn.clone(), td.clone()));
                    td
                }
                Err(e) => {
                    say(&format!(
                        "{e}; the failed containers' last log lines are not shown"
                    ));
                    break 'tasks;
                }
            },
        };
        let mask = Mask::of(&td);
        let culprits = culprits(task, &td);
        for c in task["containers"].as_array_mut().into_iter().flatten() {
            let name = c["name"].as_str().unwrap_or_default().to_string();
            if !culprits.contains(&name) {
                continue;
            }
            let definition = td["containerDefinitions"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|d| d["name"] == name.as_str());
            let source = match definition.map(logs::destination) {
                Some(Destination::Awslogs(source)) => source,
                Some(Destination::Elsewhere(driver)) => {
                    notes.push(format!(
                        "  container {name}: logs to {driver}: its last lines are there"
                    ));
                    continue;
                }
                Some(Destination::Nowhere) => {
                    notes.push(format!(
                        "  container {name}: no logConfiguration: its output was not kept"
                    ));
                    continue;
                }
                None => continue,
            };
            let Some(stream) = source.stream(&name, &id) else {
                notes.push(format!(
                    "  container {name}: its log group {} has no awslogs-stream-prefix, so its stream cannot be named",
                    source.group
                ));
                continue;
            };
            match logs::last_lines(logs, &source, &stream, LAST_LINES, &mask).await {
                Ok(Some(lines)) => c["lastLogLines"] = json!(lines),
                Ok(None) => notes.push(format!(
                    "  container {name}: no log stream {}/{stream} (the container may never have started)",
                    source.group
                )),
                Err(e) if e.is_denied() => {
                    say(&format!(
                        "{e}; the failed containers' last log lines are not shown"
                    ));
                    break 'tasks;
                }
                Err(e) => notes.push(format!("  container {name}: {e}")),
            }
        }
    }
    notes
}

/// The containers whose logs say why `task` stopped: those that failed
/// (exit code not 0) and are essential in `td` (the default), else the
/// first that failed. A sidecar killed with the task is not one.
fn culprits(task: &Value, td: &Value) -> Vec<String> {
    let failed: Vec<&str> = task["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["exitCode"].as_i64() != Some(0))
        .filter_map(|c| c["name"].as_str())
        .collect();
    let essential = |name: &str| {
        td["containerDefinitions"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|d| d["name"] == name)
            .is_none_or(|d| d["essential"].as_bool().unwrap_or(true))
    };
    let mut names: Vec<String> = failed
        .iter()
        .filter(|n| essential(n))
        .map(|n| n.to_string())
        .collect();
    if names.is_empty() {
        names.extend(failed.first().map(|n| n.to_string()));
    }
    names
}

/// The lines stderr shows for one stopped task: why it stopped, each
/// container's exit, its last log lines under it, then `notes`.
pub fn lines(task: &Value) -> Vec<String> {
    let id = task["taskArn"].as_str().map_or("?", name_of);
    let td = task["taskDefinitionArn"].as_str().map_or("?", name_of);
    let mut out = vec![format!(
        "stopped task {id} ({td}): {}{}",
        task["stoppedReason"].as_str().unwrap_or("no reason given"),
        task["stopCode"]
            .as_str()
            .map(|c| format!(" [{c}]"))
            .unwrap_or_default()
    )];
    if let Some(why) = task["stoppedReason"].as_str().and_then(why_stopped) {
        out.push(format!("  that is: {why}"));
    }
    for c in task["containers"].as_array().into_iter().flatten() {
        let exit = match c["exitCode"].as_i64() {
            Some(code) => format!("exit {code}"),
            None => "no exit code".to_string(),
        };
        let reason = c["reason"]
            .as_str()
            .map(|r| format!(": {r}"))
            .unwrap_or_default();
        out.push(format!(
            "  container {}: {exit}{reason}",
            c["name"].as_str().unwrap_or("?")
        ));
        if let Some(lines) = c["lastLogLines"].as_array() {
            let last = match lines.len() {
                1 => "its last log line".to_string(),
                n => format!("its last {n} log lines"),
            };
            out.push(format!(
                "  container {}: {last}:",
                c["name"].as_str().unwrap_or("?")
            ));
            out.extend(
                lines
                    .iter()
                    .map(|l| format!("    | {}", l.as_str().unwrap_or_default())),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_never_pushed_is_said_so() {
        let reason = "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref 123456789012.dkr.ecr.us-east-1.amazonaws.com/web:0f3a9c1: 123456789012.dkr.ecr.us-east-1.amazonaws.com/web:0f3a9c1: not found";
        assert!(why_stopped(reason).unwrap().contains("never pushed"));
    }

    #[test]
    fn a_missing_repository_is_said_so() {
        let reason = "CannotPullContainerError: Error response from daemon: repository 123456789012.dkr.ecr.us-east-1.amazonaws.com/web not found: name unknown: The repository with name 'web' does not exist in the registry with id '123456789012'";
        assert!(
            why_stopped(reason)
                .unwrap()
                .contains("repository does not exist")
        );
    }

    #[test]
    fn no_way_to_the_registry_names_the_endpoints() {
        let reason = "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve ecr registry auth: service call has been retried 3 time(s): RequestError: send request failed caused by: Post \"https://api.ecr.us-east-1.amazonaws.com/\": dial tcp 10.0.0.1:443: i/o timeout";
        assert!(why_stopped(reason).unwrap().contains("VPC endpoints"));
    }

    #[test]
    fn an_execution_role_refused_names_its_actions() {
        let reason = "ResourceInitializationError: unable to pull secrets or registry auth: AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/exec/abc is not authorized to perform: secretsmanager:GetSecretValue";
        assert!(why_stopped(reason).unwrap().contains("execution role"));
    }

    #[test]
    fn an_application_exit_gets_no_guess() {
        assert_eq!(why_stopped("Essential container in task exited"), None);
    }
}
