//! ecs-deploy: register an ECS task definition, losing no field, and roll
//! it out to one or many services.
//!
//! [`run`] goes Args -> [`Config`] (flags checked) -> [`input::read`] (the
//! definition read, cleaned and checked against the ECS API model: exit 2
//! with nothing sent) -> [`deploy`] (DescribeServices, register or reuse a
//! revision, UpdateService everywhere at once) -> the object that
//! `deploykit::cli::main` prints. [`deploy`] takes the ECS client, so unit
//! tests hand it a scripted one (aws-smithy-mocks) for what moto cannot do.

mod args;
mod config;
mod images;
mod input;
mod plan;
mod revisions;
mod rollback;
mod secrets;
mod section;
mod services;
mod steer;

use aws_sdk_ecs::Client;
use deploykit::aws;
use deploykit::ecs::api::{self, name_of};
use deploykit::ecs::region;
use deploykit::stream::{Envelope, Stdin};
use deploykit::{Error, Outcome, Result, cli};
use serde_json::{Value, json};

pub use args::{Args, PropagateTags, Verify};
pub use config::{Config, Source};
pub use deploykit::ecs::definition::Definition;

/// The whole tool: flags and stdin in, the JSON object out.
pub fn run(args: Args, stdin: Stdin) -> Result<Outcome> {
    let mut config = Config::from_args(args)?;
    let (envelope, definition) = input::read(&config, &stdin)?;
    config.aws.check()?;
    let arns = config.arns(&envelope);
    let mut aws_args = config.aws.clone();
    aws_args.follow_arns(arns)?;
    config.aws = aws_args;
    aws::runtime()?.block_on(async {
        let sdk = aws::load(&config.aws).await?;
        let region = sdk.region().map(ToString::to_string).unwrap_or_default();
        let client = Client::from_conf(
            aws_sdk_ecs::config::Builder::from(&sdk)
                .interceptor(aws::StallWatch)
                .build(),
        );
        let outcome = deploy(&config, &client, &region, envelope, definition).await?;
        let outcome = match &config.wait {
            Some(plan) => {
                let clock = deploykit::ecs::wait::SystemClock::start();
                wait_after(&config, plan, &client, &clock, outcome).await?
            }
            None => outcome,
        };
        let rolled_back = matches!(config.source, Source::Rollback(_));
        let steered = matches!(config.source, Source::Continue(_) | Source::Stop);
        Ok(section::attach(
            outcome,
            rolled_back,
            steered,
            config.wait.is_some(),
        ))
    })
}

/// `--wait`: once the update succeeded, ecs-wait's wait for each service
/// updated, its report added to the object. A deploy that failed is
/// returned as it is: there is no rollout to wait for.
pub async fn wait_after<C: deploykit::ecs::wait::Clock>(
    config: &Config,
    plan: &deploykit::ecs::wait::Plan,
    client: &Client,
    clock: &C,
    outcome: Outcome,
) -> Result<Outcome> {
    let (envelope, failure) = outcome.into_parts();
    let envelope = match (envelope, failure) {
        (Some(envelope), None) => envelope,
        (Some(envelope), Some(e)) => return Ok(Outcome::failed(envelope, e)),
        (None, Some(e)) => return Err(e),
        (None, None) => return Ok(Outcome::quiet()),
    };
    let services: Vec<&Value> = match (envelope.get("service"), envelope.get("services")) {
        (Some(one), _) => vec![one],
        (None, Some(Value::Array(list))) => list.iter().collect(),
        _ => Vec::new(),
    };
    let mut targets = Vec::new();
    for (i, service) in services.into_iter().enumerate() {
        match deploykit::ecs::wait::from_service(
            service,
            &format!("services[{i}]"),
            Some(&config.cluster),
        ) {
            Ok(mut target) => {
                target.rollback =
                    deploykit::ecs::wait::rollback_goal(&envelope, target.deployment.as_deref());
                targets.push(target);
            }
            Err(e) => return Ok(Outcome::failed(envelope, e)),
        }
    }
    let mut plan = plan.clone();
    plan.several = envelope.contains_key("services");
    plan.targets = targets;
    Ok(
        deploykit::ecs::wait::wait(client, clock, &plan, &|line| cli::note(line))
            .await
            .into_outcome(envelope),
    )
}

/// Everything after the input: `definition` is what [`input::read`] made
/// ready (none for `--family` and `--rollback`).
pub async fn deploy(
    config: &Config,
    client: &Client,
    region: &str,
    mut envelope: Envelope,
    definition: Option<Definition>,
) -> Result<Outcome> {
    match &config.source {
        Source::Rollback(to_revision) => {
            return rollback::run(config, client, region, envelope, *to_revision).await;
        }
        Source::Continue(hook) => {
            return steer::run(
                config,
                client,
                envelope,
                steer::Steer::Continue(hook.as_deref()),
            )
            .await;
        }
        Source::Stop => return steer::run(config, client, envelope, steer::Steer::Stop).await,
        _ => {}
    }
    if config.plan {
        return plan::run(config, client, envelope, definition).await;
    }
    // An earlier rollback's report is not this deploy's: left in, ecs-wait
    // would take this rollout for that rollback.
    if envelope.remove("rollback").is_some() {
        cli::note("dropped the earlier step's \"rollback\" from the object: this is a new deploy");
    }
    let targets = if config.services.is_empty() {
        Vec::new()
    } else {
        let td = definition.as_ref().map(|d| &d.td);
        services::check(client, &config.cluster, &config.services, td).await?
    };
    // Handed a plan's object: what was approved is what gets deployed.
    if let Some(plan) = envelope.get("plan") {
        let services: Vec<(String, Value)> = targets
            .iter()
            .filter_map(|t| t.state.as_ref().ok().map(|s| (t.name.clone(), s.clone())))
            .collect();
        plan::drift(plan, &config.cluster, &services)?;
        // Approved and checked: left in, a later deploy in the same pipe
        // would be held to a plan that was not its own.
        envelope.remove("plan");
    }
    if !targets.is_empty() && targets.iter().all(|t| t.state.is_err()) {
        let reasons: Vec<&str> = targets
            .iter()
            .filter_map(|t| t.state.as_ref().err().map(String::as_str))
            .collect();
        return Err(Error::failed(format!(
            "nothing registered or updated: {}",
            reasons.join("; ")
        )));
    }

    if config.verify != Verify::Off {
        let services: Vec<(String, Value)> = targets
            .iter()
            .filter_map(|t| t.state.as_ref().ok().map(|s| (t.name.clone(), s.clone())))
            .collect();
        if let Some(failure) = verify(
            config,
            client,
            &mut envelope,
            definition.as_ref(),
            &services,
        )
        .await?
        {
            return Ok(Outcome::failed(envelope, failure));
        }
    }
    let registered = match (&config.source, definition) {
        (Source::Arn(name), _) => {
            api::with_tags(&api::describe_task_definition(client, name).await?)
        }
        (_, Some(def)) => registered_or_register(config, client, &targets, def).await?,
        (_, None) => return Err(Error::usage("no task definition to deploy")),
    };
    let arn = registered["taskDefinitionArn"]
        .as_str()
        .ok_or_else(|| Error::failed("ECS answered without a taskDefinitionArn"))?
        .to_string();
    if targets.is_empty() {
        envelope.insert("taskDefinition".to_string(), registered);
        return Ok(Outcome::success(envelope));
    }
    for warning in region::cross_region_pulls(&registered, region) {
        cli::warn(warning);
    }
    envelope.insert("taskDefinition".to_string(), registered);

    let mut updated = services::update_all(client, config, &targets, &arn).await;
    let mut results = Vec::new();
    let mut failed = Vec::new();
    for target in &targets {
        let result = match &target.state {
            Err(reason) => Err(reason.clone()),
            Ok(_) => {
                let at = updated.iter().position(|(name, _)| name == &target.name);
                match at.map(|i| updated.remove(i).1) {
                    Some(Ok(service)) => Ok(service),
                    Some(Err(e)) => Err(e.message().to_string()),
                    None => Err("not updated".to_string()),
                }
            }
        };
        match &result {
            Ok(_) => cli::note(format!(
                "service {:?} updated to {}: deployments at {}",
                target.name,
                name_of(&arn),
                api::console_url(region, name_of(&config.cluster), name_of(&target.name))
            )),
            Err(reason) => failed.push(reason.clone()),
        }
        results.push((target.name.clone(), result));
    }

    if failed.is_empty()
        && let Some(keep) = config.keep_revisions
    {
        let protected: Vec<String> = results
            .iter()
            .filter_map(|(_, r)| r.as_ref().ok())
            .flat_map(revisions::in_use)
            .chain(std::iter::once(arn.clone()))
            .collect();
        if let Some((family, _)) = revisions::family_and_revision(&arn) {
            let gone = revisions::keep_newest(client, family, keep, &protected).await?;
            if !gone.is_empty() {
                let names: Vec<&str> = gone.iter().map(|a| name_of(a)).collect();
                cli::note(format!(
                    "deregistered {} (keeping the newest {keep})",
                    names.join(", ")
                ));
            }
        }
    } else if config.keep_revisions.is_some() {
        cli::warn("--keep-revisions: nothing deregistered, since a service was not updated");
    }

    // A service that failed: its name and DESIGN's error shape.
    let entry = |name: &str, result: &std::result::Result<Value, String>| match result {
        Ok(service) => service.clone(),
        Err(reason) => json!({"serviceName": name, "error": {
            "tool": cli::tool(), "message": reason, "exitCode": 1}}),
    };
    if let [(name, result)] = results.as_slice() {
        // Still printed when it failed: the revision was registered, and
        // the object says so downstream (ecs-wait passes it on untouched).
        envelope.insert("service".to_string(), entry(name, result));
        return Ok(match result {
            Ok(_) => Outcome::success(envelope),
            Err(reason) => Outcome::failed(
                envelope,
                Error::failed(format!(
                    "{reason} ({} registered; nothing deployed)",
                    name_of(&arn)
                )),
            ),
        });
    }
    let list: Vec<Value> = results
        .iter()
        .map(|(name, result)| entry(name, result))
        .collect();
    envelope.insert("services".to_string(), Value::Array(list));
    if failed.is_empty() {
        Ok(Outcome::success(envelope))
    } else {
        let message = format!(
            "{} of {} services not updated: {}",
            failed.len(),
            results.len(),
            failed.join("; ")
        );
        Ok(Outcome::failed(envelope, Error::failed(message)))
    }
}

/// The revision to deploy for a definition: the one it says it is, or the
/// one the first service runs (`--skip-unchanged`), when it equals it;
/// otherwise a new one, registered.
async fn registered_or_register(
    config: &Config,
    client: &Client,
    targets: &[services::Target],
    def: Definition,
) -> Result<Value> {
    let mut candidates = Vec::new();
    if config.skip_unchanged
        && let Some(Ok(service)) = targets.first().map(|t| &t.state)
        && let Some(running) = service["taskDefinition"].as_str()
    {
        candidates.push((running.to_string(), "unchanged: the service runs"));
    }
    deploykit::ecs::definition::registered_or_register(client, def, candidates).await
}

/// `--verify error|warn`: the plan's checks of the definition about to be
/// registered, for `services`, before anything is registered. The checks
/// go in the object as `verify: {mode, checks}`; with `error`, a failed
/// one is the error returned (nothing registered or updated), with `warn`
/// one warning line and the deploy goes on.
async fn verify(
    config: &Config,
    client: &Client,
    envelope: &mut Envelope,
    definition: Option<&Definition>,
    services: &[(String, Value)],
) -> Result<Option<Error>> {
    let mut td = match (&config.source, definition) {
        (Source::Arn(name), _) => {
            api::with_tags(&api::describe_task_definition(client, name).await?)
        }
        (_, Some(def)) => def.td.clone(),
        (_, None) => return Err(Error::usage("no task definition to deploy")),
    };
    deploykit::ecs::clean::clean(&mut td);
    let checks = plan::checks(&td, services).await?;
    plan::report(&checks, "verify");
    let failure = plan::verdict(&checks, Vec::new(), "the definition");
    let mode = if config.verify == Verify::Error {
        "error"
    } else {
        "warn"
    };
    envelope.insert(
        "verify".to_string(),
        json!({"mode": mode, "checks": checks}),
    );
    Ok(match failure {
        Some(e) if config.verify == Verify::Error => Some(e.reworded(|m| {
            format!(
                "{m}; nothing registered or updated (--verify error; --verify warn deploys anyway)"
            )
        })),
        Some(_) => {
            let failed: Vec<&str> = checks_failed(envelope);
            cli::warn(format!(
                "--verify warn: deploying though {} check{} failed: {}",
                failed.len(),
                if failed.len() == 1 { "" } else { "s" },
                failed.join("; ")
            ));
            None
        }
        None => None,
    })
}

/// The whole command, `argv` as a process gets it: the `ecs-deploy` binary
/// passes its own, the multicall `deploykit` binary the one it was given.
pub fn main(argv: Vec<std::ffi::OsString>) -> std::process::ExitCode {
    deploykit::cli::main_with_summary_from("ecs-deploy", argv, run)
}

/// The details of the failed checks in the object's `verify`.
fn checks_failed(envelope: &Envelope) -> Vec<&str> {
    envelope
        .get("verify")
        .and_then(|v| v["checks"].as_array())
        .into_iter()
        .flatten()
        .filter(|c| c["status"] == "failed")
        .filter_map(|c| c["detail"].as_str())
        .collect()
}
