//! A task definition from the stream: read from an object as taskdef-render
//! and describe-task-definition print it (tags beside adopted), cleaned with
//! the toolkit's one rule and checked against the ECS API model, then
//! registered, unless the revision it names (or another candidate, such as
//! what a service runs) says the same: ecs-deploy and ecs-run register the
//! same way.

use aws_sdk_ecs::Client;
use serde_json::{Map, Value};

use super::api::{self, name_of};
use super::clean::clean;
use super::compare;
use crate::cli;
use crate::error::{Error, Result};
use crate::stream::kind;

/// A definition ready to register.
#[derive(Debug, Clone)]
pub struct Definition {
    /// Cleaned and checked: the request body.
    pub td: Value,
    /// The `taskDefinitionArn` it carried (describe output, ecs-deploy's own
    /// output): if it equals that revision, that revision deploys.
    pub registered_as: Option<String>,
}

/// `{"taskDefinition": {...}, "tags": [...]}` to a definition ready to register.
pub fn from_doc(doc: &Map<String, Value>, origin: &str, allow_unknown: bool) -> Result<Definition> {
    let mut td = match doc.get("taskDefinition") {
        Some(Value::Object(td)) => td.clone(),
        Some(other) => {
            return Err(Error::usage(format!(
                "{origin}: \"taskDefinition\" is {}, expected an object",
                kind(other)
            )));
        }
        None => return Err(Error::usage(format!("{origin}: no \"taskDefinition\" key"))),
    };
    // describe-task-definition --include TAGS prints the tags beside the
    // definition; register takes them inside it.
    if let Some(tags) = doc
        .get("tags")
        .filter(|t| t.as_array().is_some_and(|a| !a.is_empty()))
        && td
            .get("tags")
            .is_none_or(|own| own.as_array().is_none_or(Vec::is_empty))
    {
        td.insert("tags".to_string(), tags.clone());
    }
    let registered_as = td
        .get("taskDefinitionArn")
        .and_then(Value::as_str)
        .map(str::to_string);
    let mut td = Value::Object(td);
    let report = clean(&mut td);
    for field in &report.read_only {
        cli::warn(format!(
            "removed the read-only field {field:?}: RegisterTaskDefinition refuses it"
        ));
    }
    for warning in report.warnings() {
        cli::warn(warning);
    }
    for warning in api::ready_to_register(&mut td, allow_unknown)? {
        cli::warn(warning);
    }
    Ok(Definition { td, registered_as })
}

/// The revision to run or deploy for `def`: the one it says it is, or one
/// of `candidates` (ARN, why), when it equals it; otherwise a new one,
/// registered. Said on stderr either way.
pub async fn registered_or_register(
    client: &Client,
    mut def: Definition,
    candidates: Vec<(String, &str)>,
) -> Result<Value> {
    // The revision the definition names, described once: for its tags and
    // for the comparison.
    let named = match def.registered_as.clone() {
        Some(arn) => {
            let answer = api::describe_task_definition(client, &arn).await;
            Some((arn, answer))
        }
        None => None,
    };
    // describe-task-definition prints no tags unless asked (--include
    // TAGS): a definition that says which revision it is, with no tags at
    // all, keeps that revision's tags rather than dropping them.
    if let Some((arn, Ok(answer))) = &named
        && def.td.get("tags").is_none()
        && let Some(tags) = api::with_tags(answer)
            .get("tags")
            .filter(|t| t.as_array().is_some_and(|a| !a.is_empty()))
        && let Some(map) = def.td.as_object_mut()
    {
        cli::note(format!(
            "the definition has no tags (describe-task-definition without --include TAGS?): those of {} are kept",
            name_of(arn)
        ));
        map.insert("tags".to_string(), tags.clone());
    }
    if let Some((arn, answer)) = named
        && let Some(existing) = same_as(&def, &arn, "it is already registered as", answer)
    {
        return Ok(existing);
    }
    for (arn, why) in candidates {
        let answer = api::describe_task_definition(client, &arn).await;
        if let Some(existing) = same_as(&def, &arn, why, answer) {
            return Ok(existing);
        }
    }
    let answer = api::register(client, &def.td).await?;
    let mut registered = api::with_tags(&answer);
    // The tags were sent and registered; an answer without them (moto's)
    // must not make the output look untagged.
    if registered.get("tags").is_none()
        && let (Some(map), Some(tags)) = (registered.as_object_mut(), def.td.get("tags"))
    {
        map.insert("tags".to_string(), tags.clone());
    }
    cli::note(format!(
        "registered {}",
        name_of(registered["taskDefinitionArn"].as_str().unwrap_or("?"))
    ));
    Ok(registered)
}

/// The revision `arn` (as described) when it is ACTIVE and says what `def`
/// says; a describe that failed is said, and a new revision follows.
fn same_as(def: &Definition, arn: &str, why: &str, answer: Result<Value>) -> Option<Value> {
    match answer {
        Ok(answer) => {
            let existing = api::with_tags(&answer);
            let active = existing["status"].as_str().is_none_or(|s| s == "ACTIVE");
            (active && compare::same(&def.td, &existing)).then(|| {
                cli::note(format!("nothing registered: {why} {}", name_of(arn)));
                existing
            })
        }
        Err(e) => {
            cli::warn(format!("{}; registering a new revision", e.message()));
            None
        }
    }
}

/// The ARN of the task definition stdin's object carries
/// (`taskDefinition.taskDefinitionArn`, as describe and register print it),
/// named for a message: its region is the calls' ([`crate::aws::AwsArgs::follow_arns`]).
pub fn arn_on_stdin(envelope: &crate::stream::Envelope) -> Option<(String, &str)> {
    envelope
        .get("taskDefinition")
        .and_then(|td| td.get("taskDefinitionArn"))
        .and_then(Value::as_str)
        .map(|arn| ("stdin's taskDefinition.taskDefinitionArn".to_string(), arn))
}
