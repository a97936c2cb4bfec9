//! ecs-run: run a one-off ECS task (a database migration), stream its logs,
//! and pass or fail on its exit code.
//!
//! [`run`] goes Args -> [`Config`] (flags checked) -> the definition read
//! from stdin and made ready (exit 2 with nothing sent) -> [`execute`]: the
//! definition registered unless it already is (deploykit's one way),
//! placement from `--like-service` and the flags, RunTask, DescribeTasks
//! until STOPPED (CloudWatch Logs streamed on the way, [`logs`]), and the
//! `task` object out, with `error` when the container did not exit 0.
//! [`execute`] takes its clients, so tests hand it scripted ones.

mod args;
mod config;
pub mod logs;
mod placement;
mod section;

use std::time::Duration;

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{ContainerOverride, KeyValuePair, Tag, TaskOverride};
use deploykit::aws::{self, CaptureBody};
use deploykit::ecs::api::{self, name_of};
use deploykit::ecs::definition::{self, Definition};
use deploykit::ecs::logs::{Destination, Mask};
use deploykit::ecs::region;
use deploykit::stream::{Envelope, Stdin};
use deploykit::{Error, Outcome, Result, cli};
use serde_json::{Value, json};

pub use args::{Args, LaunchType};
pub use config::Config;

/// How long after the start the task is asked about every second.
const FAST_FOR: Duration = Duration::from_secs(15);

/// The whole tool: flags and stdin in, the JSON object out.
pub fn run(args: Args, stdin: Stdin) -> Result<Outcome> {
    let config = Config::from_args(args)?;
    let from_stdin = config
        .task_definition_file
        .as_deref()
        .is_some_and(deploykit::stream::is_stdin_path);
    // Stdin read as the file is no pipe object.
    let envelope = if from_stdin {
        Envelope::new()
    } else {
        stdin.envelope()?
    };
    let definition = match (
        &config.task_definition,
        &config.task_definition_file,
        envelope.get("taskDefinition"),
    ) {
        (Some(_), _, _) => None,
        (None, Some(path), _) => {
            let origin = if from_stdin { "stdin" } else { path.as_str() };
            let bytes = deploykit::stream::read_file(path, "task definition", &stdin)?;
            let mut doc = deploykit::stream::parse_envelope(&bytes, origin)?;
            if doc.is_empty() {
                return Err(Error::usage(format!(
                    "{origin}: empty, expected a task definition"
                )));
            }
            if !doc.contains_key("taskDefinition") {
                doc = Envelope::from_iter([("taskDefinition".to_string(), Value::Object(doc))]);
            }
            Some(definition::from_doc(
                &doc,
                origin,
                config.allow_unknown_fields,
            )?)
        }
        (None, None, Some(_)) => Some(definition::from_doc(
            &envelope,
            "stdin",
            config.allow_unknown_fields,
        )?),
        (None, None, None) => {
            return Err(Error::usage(
                "no task definition: give --family FAMILY[:REV] (or an ARN) or --task-definition FILE, or pipe in an object with a \"taskDefinition\" key (as taskdef-render and ecs-deploy print)",
            ));
        }
    };
    let mut aws_args = config.aws.clone();
    aws_args.check()?;
    let mut arns = vec![("--cluster".to_string(), config.cluster.as_str())];
    if let Some(arn) = &config.task_definition {
        arns.push(("--family".to_string(), arn.as_str()));
    }
    if let Some(arn) = &config.like_service {
        arns.push(("--like-service".to_string(), arn.as_str()));
    }
    arns.extend(definition::arn_on_stdin(&envelope));
    aws_args.follow_arns(arns)?;
    let config = Config {
        aws: aws_args,
        ..config
    };
    aws::runtime()?.block_on(async {
        let sdk = aws::load_within(&config.aws, config.timeout).await?;
        let ecs = Client::from_conf(
            aws_sdk_ecs::config::Builder::from(&sdk)
                .interceptor(aws::StallWatch)
                .build(),
        );
        let logs = logs::Logs::new(&sdk);
        execute(&config, &ecs, &logs, envelope, definition).await
    })
}

/// Everything after the input; `definition` is stdin's, made ready (none
/// with `--task-definition`).
pub async fn execute(
    config: &Config,
    client: &Client,
    logs: &logs::Logs,
    mut envelope: Envelope,
    definition: Option<Definition>,
) -> Result<Outcome> {
    // A failure with something to report (AWS refused, the task never
    // started, a registered revision written back) prints the object with
    // `error`, so the next tool passes it on; a usage error prints nothing.
    let started = std::time::Instant::now();
    let mut watched = None;
    let outcome = match attempt(
        config,
        client,
        logs,
        &mut envelope,
        definition,
        &mut watched,
    )
    .await
    {
        Ok(Some(failure)) => Outcome::failed(envelope, failure),
        Ok(None) => Outcome::success(envelope),
        Err(e) if e.exit().code() == 2 => return Err(e),
        Err(e) => Outcome::failed(envelope, e),
    };
    Ok(section::attach(
        outcome,
        &config.cluster,
        watched.as_deref(),
        started.elapsed(),
    ))
}

/// The run; `Ok(Some(e))`: it ran and failed (`e` says how). `watched`
/// gets the name of the container whose exit code decides, once known.
async fn attempt(
    config: &Config,
    client: &Client,
    logs: &logs::Logs,
    envelope: &mut Envelope,
    definition: Option<Definition>,
    watched: &mut Option<String>,
) -> Result<Option<Error>> {
    // Everything that can be exit 2 comes before the register: the
    // container (in stdin's definition), the placement (read only).
    if let Some(def) = &definition {
        watched_container(
            &def.td,
            config.container.as_deref(),
            "stdin's taskDefinition",
        )?;
    }
    let placement = match placement::placement(client, config).await {
        Ok(placement) => placement,
        Err(e) => {
            let td = definition.as_ref().map(|d| &d.td);
            return Err(cluster_hint(e, client, &config.cluster, td).await);
        }
    };
    let td = match (&config.task_definition, definition) {
        (Some(name), _) => api::with_tags(&api::describe_task_definition(client, name).await?),
        (None, Some(def)) => {
            let registered = definition::registered_or_register(client, def, Vec::new()).await?;
            // Written back: the ecs-deploy after this registers nothing.
            envelope.insert("taskDefinition".to_string(), registered.clone());
            registered
        }
        (None, None) => return Err(Error::usage("no task definition to run")),
    };
    let arn = td["taskDefinitionArn"]
        .as_str()
        .ok_or_else(|| Error::failed("ECS answered without a taskDefinitionArn"))?
        .to_string();
    let container = watched_container(&td, config.container.as_deref(), &arn)?;
    *watched = Some(container.name.clone());

    let mut overrides = ContainerOverride::builder().name(&container.name);
    if let Some(command) = &config.command {
        overrides = overrides.set_command(Some(command.clone()));
    }
    for (key, value) in &config.env {
        overrides = overrides.environment(KeyValuePair::builder().name(key).value(value).build());
    }
    let capture = CaptureBody::default();
    let mut request = client
        .run_task()
        .cluster(&config.cluster)
        .task_definition(&arn)
        .count(1)
        .started_by(&config.started_by)
        .overrides(
            TaskOverride::builder()
                .container_overrides(overrides.build())
                .build(),
        );
    for (key, value) in &config.tags {
        request = request.tags(Tag::builder().key(key).value(value).build());
    }
    let request = placement.apply(request);
    let sent = request
        .customize()
        .interceptor(capture.clone())
        .send()
        .await;
    if let Err(e) = sent {
        let e = api::call_error(
            "RunTask",
            format!("running {} in cluster {:?}", name_of(&arn), config.cluster),
            e,
        );
        return Err(cluster_hint(e, client, &config.cluster, Some(&td)).await);
    }
    let answer = capture.json("RunTask")?;
    let Some(task_arn) = answer["tasks"][0]["taskArn"].as_str().map(str::to_string) else {
        let reasons: Vec<String> = answer["failures"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|f| {
                format!(
                    "{}{}",
                    f["reason"].as_str().unwrap_or("no reason given"),
                    f["detail"]
                        .as_str()
                        .map(|d| format!(" ({d})"))
                        .unwrap_or_default()
                )
            })
            .collect();
        let reasons = if reasons.is_empty() {
            "ECS gave no reason".to_string()
        } else {
            reasons.join("; ")
        };
        envelope.insert(
            "task".to_string(),
            json!({"failures": answer["failures"].clone()}),
        );
        return Err(Error::failed(format!(
            "RunTask started no task of {} in cluster {:?}: {reasons}",
            name_of(&arn),
            config.cluster
        )));
    };
    cli::note(format!(
        "started task {} of {} in cluster {:?} (container {:?}); waiting for it to stop",
        name_of(&task_arn),
        name_of(&arn),
        config.cluster,
        container.name
    ));

    let mut stream = match (&container.log, config.logs) {
        (Destination::Awslogs(log), true) => Some(logs::Stream::new(
            log,
            &container.name,
            name_of(&task_arn),
            // The definition's environment, and --env's values on top.
            Mask::of(&td).with(config.env.iter().map(|(_, value)| value.as_str())),
        )),
        (_, false) => None,
        (elsewhere, true) => {
            cli::note(format!(
                "container {:?} logs to {}: its logs are not shown here",
                container.name,
                where_logs_go(elsewhere)
            ));
            None
        }
    };
    let started = tokio::time::Instant::now();
    let mut last_status = String::new();
    let mut last_seen = json!({"taskArn": task_arn});
    let task = loop {
        // A poll that ECS leaves unanswered ends at --timeout, as the wait
        // does: the time-out's report, its StopTask, exit 3. One that fails
        // for a while (throttling, a 5xx) is tried at the next poll.
        let left = config.timeout.saturating_sub(started.elapsed());
        let asked = tokio::time::timeout(
            left.max(Duration::from_millis(100)),
            describe_task(client, &config.cluster, &task_arn),
        )
        .await;
        let task = match asked {
            Ok(Ok(task)) => task,
            Ok(Err(e)) if e.is_transient() && started.elapsed() < config.timeout => {
                cli::warn(format!("{e}; asking again at the next poll"));
                tokio::time::sleep(config.interval.min(left).max(Duration::from_millis(10))).await;
                continue;
            }
            Ok(Err(e)) if !e.is_transient() => return Err(e),
            Ok(Err(_)) | Err(_) => {
                cli::warn(format!(
                    "task {}: ECS did not answer before --timeout",
                    name_of(&task_arn)
                ));
                return Ok(Some(
                    timed_out(config, client, envelope, &task_arn, last_seen).await,
                ));
            }
        };
        last_seen = task.clone();
        let status = task["lastStatus"].as_str().unwrap_or_default().to_string();
        if status != last_status {
            cli::note(format!("task {}: {status}", name_of(&task_arn)));
            last_status = status.clone();
        }
        if let Some(stream) = &mut stream {
            stream.poll(logs, false).await;
        }
        if status == "STOPPED" {
            if let Some(stream) = &mut stream {
                stream.poll(logs, true).await;
            }
            break task;
        }
        if started.elapsed() >= config.timeout {
            if let Some(stream) = &mut stream {
                stream.poll(logs, true).await;
            }
            return Ok(Some(
                timed_out(config, client, envelope, &task_arn, task).await,
            ));
        }
        // Every second at first (a quick task ends quickly), then --interval.
        let pause = if started.elapsed() < FAST_FOR {
            config.interval.min(Duration::from_secs(1))
        } else {
            config.interval
        };
        let left = config.timeout.saturating_sub(started.elapsed());
        tokio::time::sleep(pause.min(left).max(Duration::from_millis(10))).await;
    };

    let mut report = task_report(&task);
    // The watched container's last words, when it failed.
    if let Some(stream) = &stream
        && let Some(c) = report["containers"]
            .as_array_mut()
            .into_iter()
            .flatten()
            .find(|c| c["name"] == container.name.as_str())
        && c["exitCode"].as_i64() != Some(0)
    {
        c["lastLogLines"] = json!(stream.last_lines());
    }
    envelope.insert("task".to_string(), report.clone());
    say_stopped(&report);
    let watched = report["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["name"] == container.name.as_str());
    Ok(match watched.and_then(|c| c["exitCode"].as_i64()) {
        Some(0) => None,
        Some(code) => Some(Error::failed(format!(
            "task {}: container {:?} exited with {code}",
            name_of(&task_arn),
            container.name
        ))),
        None => Some(Error::failed(format!(
            "task {}: container {:?} never ran to an exit code: {}",
            name_of(&task_arn),
            container.name,
            report["stoppedReason"]
                .as_str()
                .filter(|r| !r.is_empty())
                .unwrap_or("ECS gave no reason")
        ))),
    })
}

/// A cluster ECS did not find, with the hint of one look-up in the region
/// the definition's images come from, when it is there.
async fn cluster_hint(e: Error, client: &Client, cluster: &str, td: Option<&Value>) -> Error {
    if !e.message().contains("ClusterNotFoundException") {
        return e;
    }
    match region::cluster_elsewhere(client, td, cluster).await {
        Some(hint) => e.reworded(|m| format!("{m}; {hint}")),
        None => e,
    }
}

/// The container to watch, and where its logs go.
struct Watched {
    name: String,
    log: Destination,
}

/// Where logs go that are not CloudWatch Logs', in words.
fn where_logs_go(destination: &Destination) -> String {
    match destination {
        Destination::Awslogs(source) => format!("CloudWatch Logs group {}", source.group),
        Destination::Elsewhere(driver) => driver.clone(),
        Destination::Nowhere => "nowhere (no logConfiguration)".to_string(),
    }
}

/// `--container`, else the only container, else the first essential one.
fn watched_container(td: &Value, wanted: Option<&str>, arn: &str) -> Result<Watched> {
    let containers = td["containerDefinitions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let names: Vec<&str> = containers
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    let chosen = match wanted {
        Some(name) => containers
            .iter()
            .find(|c| c["name"] == name)
            .ok_or_else(|| {
                Error::usage(format!(
                    "--container {name}: {} has no such container (it has: {})",
                    name_of(arn),
                    names.join(", ")
                ))
            })?,
        None if containers.len() == 1 => &containers[0],
        None => containers
            .iter()
            .find(|c| c["essential"].as_bool().unwrap_or(true))
            .or(containers.first())
            .ok_or_else(|| Error::failed(format!("{} has no containers", name_of(arn))))?,
    };
    Ok(Watched {
        name: chosen["name"].as_str().unwrap_or_default().to_string(),
        log: logs::destination(chosen),
    })
}

/// DescribeTasks for one task, as ECS sent it.
async fn describe_task(client: &Client, cluster: &str, task: &str) -> Result<Value> {
    let doing = format!("describing task {}", name_of(task));
    let answer = api::describe_tasks(client, cluster, &[task.to_string()], &doing).await?;
    match answer["tasks"].get(0) {
        Some(task) => Ok(task.clone()),
        None => Err(Error::failed(format!(
            "task {} is gone: ECS no longer describes it ({})",
            name_of(task),
            answer["failures"][0]["reason"]
                .as_str()
                .unwrap_or("no reason given")
        ))),
    }
}

/// The output's `task`: what a pipeline needs to know of how it ended.
fn task_report(task: &Value) -> Value {
    let containers: Vec<Value> = task["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| json!({"name": c["name"], "exitCode": c["exitCode"], "reason": c["reason"]}))
        .collect();
    json!({
        "taskArn": task["taskArn"],
        "lastStatus": task["lastStatus"],
        "stoppedReason": task["stoppedReason"],
        "stopCode": task["stopCode"],
        "containers": containers,
    })
}

/// On stderr: why the task stopped, and each container's exit code and reason.
fn say_stopped(report: &Value) {
    let task = name_of(report["taskArn"].as_str().unwrap_or_default()).to_string();
    let mut lines = vec![format!(
        "task {task} stopped: {} ({})",
        report["stoppedReason"]
            .as_str()
            .filter(|r| !r.is_empty())
            .unwrap_or("no reason given"),
        report["stopCode"]
            .as_str()
            .filter(|c| !c.is_empty())
            .unwrap_or("no stop code")
    )];
    if let Some(why) = report["stoppedReason"]
        .as_str()
        .and_then(deploykit::ecs::wait::tasks::why_stopped)
    {
        lines.push(format!("  that is: {why}"));
    }
    for c in report["containers"].as_array().into_iter().flatten() {
        lines.push(format!(
            "  container {}: exit code {}{}",
            c["name"].as_str().unwrap_or("?"),
            c["exitCode"]
                .as_i64()
                .map_or("none".to_string(), |n| n.to_string()),
            c["reason"]
                .as_str()
                .map(|r| format!(", {r}"))
                .unwrap_or_default()
        ));
    }
    for line in lines {
        cli::note(line);
    }
}

/// `--timeout` reached: StopTask first with `--stop-on-timeout` (a StopTask
/// that fails is said, the outcome stays the time-out); exit 3 with the
/// object printed.
async fn timed_out(
    config: &Config,
    client: &Client,
    envelope: &mut Envelope,
    task_arn: &str,
    task: Value,
) -> Error {
    let mut what = format!(
        "task {} still {} after --timeout {}s",
        name_of(task_arn),
        task["lastStatus"].as_str().unwrap_or("running"),
        config.timeout.as_secs()
    );
    if config.stop_on_timeout {
        let stopped = client
            .stop_task()
            .cluster(&config.cluster)
            .task(task_arn)
            .reason("ecs-run: --timeout reached (--stop-on-timeout)")
            .send()
            .await;
        match stopped {
            Ok(_) => what.push_str("; stopped (--stop-on-timeout)"),
            Err(e) => {
                let e = api::call_error(
                    "StopTask",
                    format!("stopping task {}", name_of(task_arn)),
                    e,
                );
                what.push_str(&format!("; not stopped: {}", e.message()));
            }
        }
    } else {
        what.push_str("; left running (--stop-on-timeout stops it)");
    }
    envelope.insert("task".to_string(), task_report(&task));
    Error::timeout(what)
}

/// The whole command, `argv` as a process gets it: the `ecs-run` binary
/// passes its own, the multicall `deploykit` binary the one it was given.
pub fn main(argv: Vec<std::ffi::OsString>) -> std::process::ExitCode {
    deploykit::cli::main_with_summary_from("ecs-run", argv, run)
}
