//! The wait engine: follow ECS rollouts until they end, and say why one
//! failed. ecs-wait is its command line; ecs-deploy --wait calls it on the
//! services it updated.
//!
//! [`wait`] takes the ECS client, a [`Clock`] and where progress lines go,
//! so tests run the whole poll schedule instantly against a scripted client
//! (aws-smithy-mocks). Each poll is [`fetch`], then [`resolve`] (first
//! sight: which source, which deployment), then the service deployments'
//! fetch (with the fallback for a missing permission), then [`judge_all`]
//! (pure rules in [`judge`]).

mod args;
mod clock;
pub mod health;
pub mod judge;
mod plan;
pub mod tasks;

use std::collections::HashSet;
use std::time::Duration;

use aws_sdk_ecs::Client;
use serde_json::{Value, json};

use crate::ecs::api::{self, name_of};
use crate::stream::Envelope;
use crate::{Error, Outcome, Result};

pub use args::{Until, WaitArgs};
pub use clock::{Clock, Schedule, SystemClock};
pub use judge::{Look, Source, Verdict};
pub use plan::{
    INTERVAL, MIN_INTERVAL, Plan, TIMEOUT, Target, check_deployment, deployment_parts,
    from_service, is_service_deployment, parse_duration, rollback_goal, show_duration,
    stopped_deployment,
};

/// How a wait ended: one report per target (the `wait` object), and the
/// error when it did not succeed (exit 1 failed, 3 time-out).
#[derive(Debug)]
pub struct Waited {
    pub reports: Vec<Value>,
    pub error: Option<Error>,
    pub several: bool,
    /// How many poll rounds were made, and when (time since the start).
    pub polls: Vec<Duration>,
}

impl Waited {
    /// The stdin object with `wait` (or `waits`) set, and the error if any.
    pub fn into_outcome(self, mut envelope: Envelope) -> Outcome {
        if self.several {
            envelope.insert("waits".to_string(), Value::Array(self.reports));
        } else if let Some(report) = self.reports.into_iter().next() {
            envelope.insert("wait".to_string(), report);
        }
        match self.error {
            Some(e) => Outcome::failed(envelope, e),
            None => Outcome::success(envelope),
        }
    }
}

/// One target while it is waited for.
struct Follow<'a> {
    target: &'a Target,
    source: Option<Source>,
    /// The service deployment ARN or the `ecs-svc/...` id followed.
    deployment: Option<String>,
    started_by: Option<String>,
    /// Whether `started_by` is the PRIMARY deployment seen at first sight
    /// (not given on stdin), which after a rollback is the rollback's.
    started_by_guessed: bool,
    /// Tasks started by this are the serving deployment's, not the failed
    /// one's: set when the wait began after ECS had already rolled back.
    not_started_by: Option<String>,
    /// When the PRIMARY deployment seen at first sight was created.
    primary_created: Option<f64>,
    service_arn: Option<String>,
    /// Events before this time (epoch seconds) are not this rollout's.
    since: Option<f64>,
    seen: HashSet<String>,
    events: Vec<Value>,
    said: HashSet<String>,
    look: Option<Look>,
    /// "deployed", "stable", "paused", "failed" or "timeout", and when.
    end: Option<(&'static str, Duration)>,
    stopped_tasks: Vec<Value>,
    /// Why the targets failed their health checks (`health`), when the
    /// events say they did.
    target_health: Vec<Value>,
    task_definition: Option<String>,
}

impl<'a> Follow<'a> {
    fn new(target: &'a Target) -> Self {
        Follow {
            target,
            source: None,
            deployment: target.deployment.clone(),
            started_by: target.tasks_started_by.clone(),
            started_by_guessed: false,
            not_started_by: None,
            primary_created: None,
            service_arn: None,
            since: None,
            seen: HashSet::new(),
            events: Vec::new(),
            said: HashSet::new(),
            look: None,
            end: None,
            stopped_tasks: Vec::new(),
            target_health: Vec::new(),
            task_definition: None,
        }
    }

    fn name(&self) -> &str {
        name_of(&self.target.service)
    }

    /// Says `line` once per wait, prefixed with the service's name.
    fn say_once(&mut self, say: &dyn Fn(&str), key: &str, line: &str) {
        if self.said.insert(format!("{key}\u{0}{line}")) {
            say(&format!("{}: {line}", self.name()));
        }
    }

    fn report(&self, elapsed: Duration) -> Value {
        let look = self.look.as_ref();
        let status = self.end.map_or("timeout", |(s, _)| s);
        let took = self.end.map_or(elapsed, |(_, at)| at);
        let mut report = json!({
            "status": status,
            "service": self.service_arn.clone().unwrap_or_else(|| self.target.service.clone()),
            "deployment": self.deployment,
            "source": self.source.map(Source::as_str),
            "state": look.and_then(|l| l.state.clone()),
            "reason": look.and_then(|l| l.reason.clone()),
            "lifecycleStage": look.and_then(|l| l.lifecycle_stage.clone()),
            "circuitBreaker": look.map_or(Value::Null, |l| l.circuit_breaker.clone()),
            "alarms": look.map_or(Value::Null, |l| l.alarms.clone()),
            "servingRevision": look.and_then(|l| l.serving_revision.clone()),
            "elapsedSeconds": took.as_secs(),
            "events": self.events,
            "stoppedTasks": self.stopped_tasks,
        });
        if !self.target_health.is_empty() {
            report["targetHealth"] = json!(self.target_health);
        }
        report
    }

    /// New service events, oldest first, each said once.
    fn events(&mut self, service: &Value, say: &dyn Fn(&str)) {
        let mut new: Vec<&Value> = Vec::new();
        for e in service["events"].as_array().into_iter().flatten() {
            let id = e["id"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| e.to_string());
            let at = e["createdAt"].as_f64();
            let before = matches!((self.since, at), (Some(since), Some(at)) if at < since);
            if self.seen.insert(id) && !before {
                new.push(e);
            }
        }
        new.sort_by(|a, b| {
            a["createdAt"]
                .as_f64()
                .unwrap_or(0.0)
                .total_cmp(&b["createdAt"].as_f64().unwrap_or(0.0))
        });
        for e in new {
            let when = e["createdAt"].as_f64().map(iso8601).unwrap_or_default();
            let message = e["message"].as_str().unwrap_or("");
            say(&format!("{}: {when} {message}", self.name()));
            self.events
                .push(json!({"createdAt": e["createdAt"], "message": e["message"]}));
        }
    }
}

/// How long the reads that explain a failure (the crashed containers'
/// logs, the unhealthy targets) may take, each kind, after the wait has
/// ended (at most half the --timeout, so that a call's own time-out, the
/// --timeout, never comes first): an endpoint that never answers costs
/// this, not another --timeout a call.
pub const READS_AFTER: Duration = Duration::from_secs(20);

/// A wait gives up after this many polls in a row that ECS failed to
/// answer; one such poll is said and tried again at the next.
pub const MAX_UNANSWERED: u32 = 5;

/// Waits for every target of `plan`: polls on `clock`'s schedule, says
/// progress through `say` (stderr in the tool), and reports each target.
pub async fn wait<C: Clock>(client: &Client, clock: &C, plan: &Plan, say: &dyn Fn(&str)) -> Waited {
    let mut follows: Vec<Follow> = plan.targets.iter().map(Follow::new).collect();
    // One DescribeServices call a cluster and ten of its services.
    let mut per_cluster: Vec<(&str, usize)> = Vec::new();
    for t in &plan.targets {
        match per_cluster.iter_mut().find(|(c, _)| *c == t.cluster) {
            Some((_, n)) => *n += 1,
            None => per_cluster.push((&t.cluster, 1)),
        }
    }
    let calls = per_cluster.iter().map(|(_, n)| n.div_ceil(10)).sum();
    let mut schedule = Schedule::new(plan.interval).calls(calls);
    let mut polls = Vec::new();
    let start = clock.now();
    let mut call_error: Option<Error> = None;
    // Polls in a row that ECS failed to answer (throttling, 5xx, time-out,
    // a dropped connection, after the SDK's own retries).
    let mut unanswered = 0;
    let mut last_unanswered: Option<String> = None;
    loop {
        let now = clock.now() - start;
        polls.push(now);
        schedule.polled(now);
        // A poll that ECS does not answer ends at --timeout, not later
        // (the SDK's own time-outs are longer than a short wait).
        let left = plan.timeout.saturating_sub(now).max(Duration::from_secs(1));
        match tokio::time::timeout(left, poll(client, plan, &mut follows, now, say)).await {
            Ok(Ok(())) => {
                unanswered = 0;
                last_unanswered = None;
            }
            Ok(Err(e)) if e.is_transient() && unanswered + 1 < MAX_UNANSWERED => {
                unanswered += 1;
                say(&format!(
                    "{e}: trying again at the next poll ({unanswered} of {MAX_UNANSWERED} in a row)"
                ));
                last_unanswered = Some(e.message().to_string());
            }
            Ok(Err(e)) => {
                call_error = Some(if e.is_transient() {
                    e.context(format!("{MAX_UNANSWERED} polls in a row unanswered"))
                } else {
                    e
                });
                break;
            }
            Err(_) => {
                say(&format!(
                    "ECS did not answer within the --timeout ({})",
                    show_duration(plan.timeout)
                ));
                break;
            }
        }
        if follows.iter().all(|f| f.end.is_some()) || now >= plan.timeout {
            break;
        }
        let mut next = schedule.next(now);
        // ECS throttles or fails: the next poll waits a whole --interval
        // (the SDK's attempts made this one several calls).
        if unanswered > 0 {
            next = next.max(now + plan.interval);
        }
        let next = next.min(plan.timeout);
        let elapsed = clock.now() - start;
        clock.sleep(next.saturating_sub(elapsed)).await;
    }
    let elapsed = clock.now() - start;
    // ECS refused a poll (after the SDK's retries): the services not yet
    // done failed with it, and their report says so rather than "timeout".
    if let Some(e) = &call_error {
        for f in follows.iter_mut().filter(|f| f.end.is_none()) {
            f.end = Some(("failed", elapsed));
            let mut look = f.look.clone().unwrap_or_else(unreachable_look);
            look.reason = Some(e.message().to_string());
            look.verdict = Verdict::Failed(e.message().to_string());
            f.look = Some(look);
        }
    }

    // The stopped tasks of a failed rollout; a service that is gone has
    // none to list.
    let gone = |f: &Follow| f.look.as_ref().is_some_and(|l| l.missing);
    for f in follows
        .iter_mut()
        .filter(|f| call_error.is_none() && f.end.is_some_and(|(s, _)| s == "failed"))
        .filter(|f| !gone(f))
    {
        match tasks::stopped(
            client,
            &f.target.cluster,
            &f.target.service,
            &tasks::Which {
                started_by: f.started_by.as_deref(),
                not_started_by: f.not_started_by.as_deref(),
                stopped_since: f.since,
                task_definition: f.task_definition.as_deref(),
            },
        )
        .await
        {
            Ok(mut stopped) => {
                // The failed containers' last words, with the clients of
                // the configuration the tool loaded (none in unit tests).
                let notes = match crate::aws::loaded() {
                    Some(sdk) => {
                        let logs = crate::ecs::logs::Logs::new(&sdk);
                        let read = tasks::last_words(client, &logs, &mut stopped, say);
                        match tokio::time::timeout(READS_AFTER.min(plan.timeout / 2), read).await {
                            Ok(notes) => notes,
                            Err(_) => {
                                say(&format!(
                                    "{}: the crashed containers' logs were not all read within {}: CloudWatch Logs did not answer",
                                    name_of(&f.target.service),
                                    show_duration(READS_AFTER.min(plan.timeout / 2))
                                ));
                                Vec::new()
                            }
                        }
                    }
                    None => Vec::new(),
                };
                for (i, task) in stopped.iter().enumerate() {
                    let notes = notes.get(i).into_iter().flatten().cloned();
                    for line in tasks::lines(task).into_iter().chain(notes) {
                        say(&format!("{}: {line}", name_of(&f.target.service)));
                    }
                }
                f.stopped_tasks = stopped;
            }
            Err(e) => say(&format!(
                "{}: could not list the stopped tasks: {e}",
                name_of(&f.target.service)
            )),
        }
        // Tasks that failed the load balancer's health checks: why.
        let groups = health::failing_target_groups(&f.events);
        if let (false, Some(sdk)) = (groups.is_empty(), crate::aws::loaded()) {
            let elb = aws_sdk_elasticloadbalancingv2::Client::from_conf(
                aws_sdk_elasticloadbalancingv2::config::Builder::from(&sdk)
                    .interceptor(crate::aws::StallWatch)
                    .build(),
            );
            let service = name_of(&f.target.service).to_string();
            let say_for = |line: &str| say(&format!("{service}: {line}"));
            let asked = health::explain(&elb, &groups, &say_for);
            match tokio::time::timeout(READS_AFTER.min(plan.timeout / 2), asked).await {
                Ok(reports) => f.target_health = reports,
                Err(_) => say_for(&format!(
                    "why the targets are unhealthy was not read within {}: Elastic Load Balancing did not answer",
                    show_duration(READS_AFTER.min(plan.timeout / 2))
                )),
            }
        }
    }

    let reports: Vec<Value> = follows.iter().map(|f| f.report(elapsed)).collect();
    let failed: Vec<String> = follows
        .iter()
        .filter(|f| f.end.is_some_and(|(s, _)| s == "failed"))
        .map(|f| {
            let why = match f.look.as_ref().map(|l| &l.verdict) {
                Some(Verdict::Failed(why)) => why.clone(),
                _ => "failed".to_string(),
            };
            format!("service {:?}: {why}", f.name())
        })
        .collect();
    let late: Vec<String> = follows
        .iter()
        .filter(|f| f.end.is_none())
        .map(|f| {
            let state = f
                .look
                .as_ref()
                .and_then(|l| l.state.clone())
                .unwrap_or_else(|| "not finished".to_string());
            format!("service {:?}: still {state}", f.name())
        })
        .collect();
    let error = if let Some(e) = call_error {
        Some(e)
    } else if !failed.is_empty() {
        Some(Error::failed(failed.join("; ")))
    } else if !late.is_empty() {
        let unanswered = last_unanswered
            .map(|e| format!("; the last poll unanswered: {e}"))
            .unwrap_or_default();
        Some(Error::timeout(format!(
            "{} after {} (--timeout){unanswered}",
            late.join("; "),
            show_duration(plan.timeout)
        )))
    } else {
        None
    };
    Waited {
        reports,
        error,
        several: plan.several,
        polls,
    }
}

/// One round: DescribeServices for every cluster's unfinished services,
/// DescribeServiceDeployments for those followed that way, each judged.
async fn poll(
    client: &Client,
    plan: &Plan,
    follows: &mut [Follow<'_>],
    now: Duration,
    say: &dyn Fn(&str),
) -> Result<()> {
    let answers = fetch(client, follows).await?;
    resolve(follows, &answers);
    let deployments = fetch_deployments(client, follows, &answers, say).await?;
    judge_all(plan, follows, &answers, &deployments, now, say);
    Ok(())
}

/// DescribeServices, one call a cluster (and ten of its services), for the
/// services not yet done: `(cluster, answer)` pairs.
async fn fetch(client: &Client, follows: &[Follow<'_>]) -> Result<Vec<(String, Value)>> {
    let mut clusters: Vec<&str> = Vec::new();
    for f in follows.iter().filter(|f| f.end.is_none()) {
        if !clusters.contains(&f.target.cluster.as_str()) {
            clusters.push(&f.target.cluster);
        }
    }
    let mut answers: Vec<(String, Value)> = Vec::new();
    for cluster in clusters {
        let names: Vec<String> = follows
            .iter()
            .filter(|f| f.end.is_none() && f.target.cluster == cluster)
            .map(|f| f.target.service.clone())
            .collect();
        let answer = api::describe_services(client, cluster, &names).await?;
        answers.push((cluster.to_string(), answer));
    }
    Ok(answers)
}

/// First sight of each service: which source (its service deployment, or
/// its PRIMARY deployment's rolloutState), which deployment, whose tasks.
fn resolve(follows: &mut [Follow<'_>], answers: &[(String, Value)]) {
    for f in follows.iter_mut().filter(|f| f.end.is_none()) {
        let Some(service) = find(answers, f.target) else {
            continue;
        };
        f.service_arn = service["serviceArn"].as_str().map(str::to_string);
        if f.source.is_some() {
            continue;
        }
        let current = service["currentServiceDeployment"].as_str();
        let by_sd = match f.deployment.as_deref() {
            Some(d) => is_service_deployment(d),
            None => current.is_some(),
        };
        let primary = judge::primary(service).cloned();
        let primary_id = primary
            .as_ref()
            .and_then(|p| p["id"].as_str())
            .map(str::to_string);
        if f.deployment.is_none() {
            f.deployment = if by_sd {
                current.map(str::to_string)
            } else {
                primary_id.clone()
            };
        }
        if f.started_by.is_none() {
            f.started_by_guessed = true;
            f.started_by = primary_id;
        }
        f.task_definition = primary
            .as_ref()
            .and_then(|p| p["taskDefinition"].as_str())
            .map(str::to_string);
        f.primary_created = primary.as_ref().and_then(|p| p["createdAt"].as_f64());
        if !by_sd {
            let followed = service["deployments"].as_array().and_then(|ds| {
                ds.iter()
                    .find(|d| Some(d["id"].as_str().unwrap_or("")) == f.deployment.as_deref())
            });
            f.since = followed.and_then(|d| d["createdAt"].as_f64());
        }
        f.source = Some(if by_sd {
            Source::ServiceDeployment
        } else {
            Source::RolloutState
        });
    }
}

/// DescribeServiceDeployments for the services followed that way:
/// `{serviceDeployments, failures}`. A CI role written for the classic
/// waiter may lack the permission: then every such service follows its
/// PRIMARY deployment instead, said once.
async fn fetch_deployments(
    client: &Client,
    follows: &mut [Follow<'_>],
    answers: &[(String, Value)],
    say: &dyn Fn(&str),
) -> Result<Value> {
    let arns: Vec<String> = follows
        .iter()
        .filter(|f| f.end.is_none() && f.source == Some(Source::ServiceDeployment))
        .filter_map(|f| f.deployment.clone())
        .collect();
    if arns.is_empty() {
        return Ok(json!({"serviceDeployments": [], "failures": []}));
    }
    match api::describe_service_deployments(client, &arns).await {
        Ok(answer) => Ok(answer),
        Err(e) if e.is_denied() => {
            say(&format!(
                "{e}; following each service's PRIMARY deployment (DescribeServices' rolloutState) instead, which does not see blue/green, linear or canary stages"
            ));
            for f in follows
                .iter_mut()
                .filter(|f| f.end.is_none() && f.source == Some(Source::ServiceDeployment))
            {
                let primary = find(answers, f.target).and_then(judge::primary);
                f.source = Some(Source::RolloutState);
                f.deployment = primary
                    .as_ref()
                    .and_then(|p| p["id"].as_str())
                    .map(str::to_string);
                f.since = primary.as_ref().and_then(|p| p["createdAt"].as_f64());
            }
            Ok(json!({"serviceDeployments": [], "failures": []}))
        }
        Err(e) => Err(e),
    }
}

/// Judges each unfinished service on this poll's answers, says what
/// changed, and ends those that are done or failed.
fn judge_all(
    plan: &Plan,
    follows: &mut [Follow<'_>],
    answers: &[(String, Value)],
    deployments: &Value,
    now: Duration,
    say: &dyn Fn(&str),
) {
    for f in follows.iter_mut().filter(|f| f.end.is_none()) {
        let rules = judge::Rules {
            until: plan.until,
            max_failed_tasks: plan.max_failed_tasks,
            rollback: f.target.rollback.as_deref(),
        };
        let service = find(answers, f.target);
        let look = match (service, f.source) {
            (None, _) | (_, None) => {
                let reason = answers
                    .iter()
                    .filter(|(c, _)| c == &f.target.cluster)
                    .flat_map(|(_, a)| a["failures"].as_array().cloned().unwrap_or_default())
                    .find(|x| x["arn"].as_str().is_some_and(|a| name_of(a) == f.name()))
                    .and_then(|x| x["reason"].as_str().map(str::to_string));
                judge::gone(None, reason.as_deref()).unwrap_or_else(unreachable_look)
            }
            (Some(service), Some(Source::RolloutState)) => {
                f.events(service, say);
                match f.deployment.clone() {
                    Some(id) => judge::by_rollout_state(service, &id, rules),
                    None => judge::gone(Some(service), None).unwrap_or_else(|| {
                        let reason = "the service has no PRIMARY deployment to follow".to_string();
                        let mut l = judge::by_rollout_state(service, "", rules);
                        l.verdict = Verdict::Failed(reason);
                        l
                    }),
                }
            }
            (Some(service), Some(Source::ServiceDeployment)) => {
                let arn = f.deployment.clone().unwrap_or_default();
                let sd = deployments["serviceDeployments"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|d| d["serviceDeploymentArn"].as_str() == Some(arn.as_str()));
                match sd {
                    Some(sd) => {
                        if f.since.is_none() {
                            f.first_look(sd);
                        }
                        f.events(service, say);
                        judge::by_service_deployment(service, sd, rules)
                    }
                    None => {
                        f.events(service, say);
                        let why = deployments["failures"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .find(|x| x["arn"].as_str() == Some(arn.as_str()))
                            .and_then(|x| x["reason"].as_str())
                            .unwrap_or("MISSING");
                        let mut l = judge::gone(None, None).unwrap_or_else(unreachable_look);
                        let reason = format!("service deployment {arn} not found ({why})");
                        l.reason = Some(reason.clone());
                        l.verdict = Verdict::Failed(reason);
                        l
                    }
                }
            }
        };
        f.say_look(&look, say);
        match &look.verdict {
            Verdict::Waiting => {}
            Verdict::Done(status) => {
                f.end = Some((status, now));
                f.say_once(say, "end", &format!("{status} after {}s", now.as_secs()));
            }
            Verdict::Failed(why) => {
                f.end = Some(("failed", now));
                f.say_once(say, "end", &format!("failed: {why}"));
            }
        }
        f.look = Some(look);
    }
}

impl Follow<'_> {
    /// The first look at the followed service deployment. When ECS already
    /// rolls back (not just asked to: then PRIMARY is still the failed
    /// deployment), the PRIMARY seen at first sight is the rollback's, so
    /// the failed tasks are those started by another deployment on another
    /// revision than the one rolled back to.
    fn first_look(&mut self, sd: &Value) {
        self.since = sd["createdAt"].as_f64();
        let rolling_back = matches!(
            sd["status"].as_str(),
            Some("ROLLBACK_IN_PROGRESS" | "ROLLBACK_SUCCESSFUL" | "ROLLBACK_FAILED")
        );
        let primary_is_rollback = match (self.primary_created, sd["rollback"]["startedAt"].as_f64())
        {
            (Some(created), Some(started)) => created >= started,
            _ => true,
        };
        if rolling_back
            && primary_is_rollback
            && self.started_by_guessed
            && self.target.rollback.is_none()
        {
            self.not_started_by = self.started_by.take();
        }
    }

    /// Counts, stage, traffic and a pause, each said once per wait.
    fn say_look(&mut self, look: &Look, say: &dyn Fn(&str)) {
        if let Some(counts) = &look.counts {
            self.say_once(say, "counts", counts);
        }
        if let Some(stage) = &look.lifecycle_stage {
            self.say_once(say, "stage", &format!("stage {stage}"));
        }
        if let Some(traffic) = &look.traffic {
            self.say_once(say, "traffic", traffic);
        }
        if let Some(hook) = &look.paused {
            let line = format!(
                "paused at {}: hook {} awaits action until {}, then {}; resume: ecs-deploy --continue --cluster {} --service {} (or aws ecs continue-service-deployment --service-deployment-arn {} --hook-id {}); stop where it is: ecs-deploy --stop",
                look.lifecycle_stage.as_deref().unwrap_or("?"),
                hook["hookId"].as_str().unwrap_or("?"),
                hook["expiresAt"]
                    .as_f64()
                    .map(iso8601)
                    .unwrap_or_else(|| "?".into()),
                hook["timeoutAction"].as_str().unwrap_or("?"),
                name_of(&self.target.cluster),
                self.name(),
                self.deployment.as_deref().unwrap_or("?"),
                hook["hookId"].as_str().unwrap_or("?"),
            );
            self.say_once(say, "pause", &line);
        }
    }
}

fn unreachable_look() -> Look {
    judge::gone(None, None).expect("a missing service is always gone")
}

/// The service object of `target` in DescribeServices' answers.
fn find<'v>(answers: &'v [(String, Value)], target: &Target) -> Option<&'v Value> {
    answers
        .iter()
        .filter(|(c, _)| c == &target.cluster)
        .flat_map(|(_, a)| a["services"].as_array().into_iter().flatten())
        .find(|s| {
            s["serviceArn"].as_str() == Some(target.service.as_str())
                || s["serviceName"].as_str() == Some(name_of(&target.service))
        })
}

/// Epoch seconds as `2026-11-25T13:05:05Z` (whole seconds, UTC).
pub fn iso8601(secs: f64) -> String {
    use aws_smithy_types::date_time::{DateTime, Format};
    DateTime::from_secs(secs.floor() as i64)
        .fmt(Format::DateTime)
        .unwrap_or_else(|_| format!("{secs}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_times_in_utc() {
        assert_eq!(iso8601(0.0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(1_764_075_905.5), "2025-11-25T13:05:05Z");
    }
}
