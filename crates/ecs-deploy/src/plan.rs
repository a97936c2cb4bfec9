//! `--plan`: what a deploy would change, changing nothing. For each
//! `--service`, the definition about to be registered against the one the
//! service runs now (both cleaned with the one rule, made canonical, every
//! environment value and secret `valueFrom` replaced before the comparison:
//! `deploykit::ecs::diff`), and the service settings the flags would
//! change. The plan records what each service runs (task definition,
//! current deployment): a deploy handed the plan's object refuses when a
//! service moved since ([`drift`]): what was approved is what is deployed.
//! The checks of the plan (images, roles, secrets, log groups, fit) are not
//! built yet: `checks` is empty.

use aws_sdk_ecs::Client;
use deploykit::ecs::api::{self, name_of};
use deploykit::ecs::{clean, diff};
use deploykit::stream::Envelope;
use deploykit::{Error, Outcome, Result, cli};
use serde_json::{Value, json};

use crate::config::{Config, Source};
use crate::services;
use deploykit::ecs::definition::Definition;

pub async fn run(
    config: &Config,
    client: &Client,
    mut envelope: Envelope,
    definition: Option<Definition>,
) -> Result<Outcome> {
    let new = match (&config.source, definition) {
        (Source::Arn(name), _) => {
            api::with_tags(&api::describe_task_definition(client, name).await?)
        }
        (_, Some(def)) => def.td,
        (_, None) => return Err(Error::usage("no task definition to plan")),
    };
    let mut new_clean = new.clone();
    clean::clean(&mut new_clean);
    let targets = services::check(client, &config.cluster, &config.services, Some(&new)).await?;
    let mut changes = Vec::new();
    let mut refused = Vec::new();
    for target in targets {
        let service = match target.state {
            Ok(service) => service,
            Err(reason) => {
                refused.push(reason.clone());
                changes.push(json!({"service": target.name, "error": reason}));
                continue;
            }
        };
        let running_arn = service["taskDefinition"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let mut running =
            api::with_tags(&api::describe_task_definition(client, &running_arn).await?);
        clean::clean(&mut running);
        let (old, planned) = diff::prepared(&running, &new_clean);
        let paths = diff::changed_paths(&old, &planned);
        let unified = diff::unified(&old, &planned, name_of(&running_arn), "to register");
        let settings = settings(config, &service);
        cli::note(format!(
            "plan: service {:?} runs {} (deployment {}): {} of its definition change{}",
            target.name,
            name_of(&running_arn),
            deployment(&service).unwrap_or("none"),
            match paths.len() {
                0 => "nothing".to_string(),
                1 => "1 path".to_string(),
                n => format!("{n} paths"),
            },
            if settings.is_empty() {
                String::new()
            } else {
                format!(
                    ", and {} service setting{}",
                    settings.len(),
                    if settings.len() == 1 { "" } else { "s" }
                )
            }
        ));
        for line in unified.lines() {
            cli::foreign_line(&format!("  {line}"));
        }
        for s in &settings {
            cli::note(format!(
                "  {}: {} -> {}",
                s["setting"].as_str().unwrap_or("?"),
                s["old"],
                s["new"]
            ));
        }
        changes.push(json!({
            "service": target.name,
            "serviceArn": service["serviceArn"],
            "running": {"taskDefinition": running_arn, "deployment": deployment(&service)},
            "taskDefinition": {"paths": paths, "diff": unified},
            "settings": settings,
        }));
    }
    envelope.insert(
        "plan".to_string(),
        json!({"cluster": config.cluster, "changes": changes, "checks": []}),
    );
    if refused.is_empty() {
        Ok(Outcome::success(envelope))
    } else {
        Ok(Outcome::failed(
            envelope,
            Error::failed(format!(
                "the plan cannot be deployed: {}",
                refused.join("; ")
            )),
        ))
    }
}

/// The service settings the flags would change: `{setting, old, new}`.
fn settings(config: &Config, service: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    if let Some(n) = config.desired_count
        && service["desiredCount"].as_i64() != Some(i64::from(n))
    {
        out.push(json!({"setting": "desiredCount", "old": service["desiredCount"], "new": n}));
    }
    if config.force_new_deployment {
        out.push(json!({"setting": "forceNewDeployment", "old": false, "new": true}));
    }
    if let Some(p) = &config.propagate_tags {
        let new = p.as_api();
        if service["propagateTags"].as_str() != Some(new) {
            out.push(
                json!({"setting": "propagateTags", "old": service["propagateTags"], "new": new}),
            );
        }
    }
    if config.enable_ecs_managed_tags && service["enableECSManagedTags"] != true {
        out.push(json!({"setting": "enableECSManagedTags", "old": service["enableECSManagedTags"], "new": true}));
    }
    out
}

/// The deployment a service is on: its current service deployment, else
/// its PRIMARY deployment's id.
fn deployment(service: &Value) -> Option<&str> {
    service["currentServiceDeployment"].as_str().or_else(|| {
        service["deployments"]
            .as_array()?
            .iter()
            .find(|d| d["status"] == "PRIMARY")?["id"]
            .as_str()
    })
}

/// A deploy handed a plan's object: each service must still run what the
/// plan saw, and be one the plan covered. `services`: DescribeServices'
/// answers for the services about to be updated.
pub fn drift(plan: &Value, cluster: &str, services: &[(String, Value)]) -> Result<()> {
    let planned = plan["changes"].as_array().cloned().unwrap_or_default();
    if plan["cluster"].as_str().is_some_and(|c| c != cluster) {
        return Err(Error::failed(format!(
            "the plan on stdin is for cluster {}, not {cluster:?}: make a plan for this deploy",
            plan["cluster"]
        )));
    }
    for (name, service) in services {
        let Some(seen) = planned.iter().find(|c| c["service"] == name.as_str()) else {
            return Err(Error::failed(format!(
                "service {name:?} is not in the plan on stdin: make a plan that covers it"
            )));
        };
        let was = (
            seen["running"]["taskDefinition"].as_str(),
            seen["running"]["deployment"].as_str(),
        );
        let now = (service["taskDefinition"].as_str(), deployment(service));
        if was != now {
            return Err(Error::failed(format!(
                "service {name:?} moved since the plan: the plan saw {} (deployment {}), it runs {} (deployment {}) now; nothing deployed: make a new plan",
                was.0.map_or("?", name_of),
                was.1.unwrap_or("none"),
                now.0.map_or("?", name_of),
                now.1.unwrap_or("none"),
            )));
        }
    }
    Ok(())
}
