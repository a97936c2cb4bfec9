//! The definition to register, read and made ready before any call: from
//! `--task-definition FILE|-` or stdin's `taskDefinition` (bare or as
//! describe-task-definition prints it, tags beside), cleaned with the
//! toolkit's one rule, and checked against the ECS API model.

use deploykit::ecs::{api, clean::clean};
use deploykit::stream::{self, Envelope, Stdin, kind};
use deploykit::{Error, Result, cli};
use serde_json::{Map, Value};

use crate::config::{Config, Source};

/// A definition ready to register.
#[derive(Debug, Clone)]
pub struct Definition {
    /// Cleaned and checked: the request body.
    pub td: Value,
    /// The `taskDefinitionArn` it carried (describe output, ecs-deploy's own
    /// output): if it equals that revision, that revision deploys.
    pub registered_as: Option<String>,
}

/// The stdin object, and the definition when the source is one to read.
pub fn read(config: &Config, stdin: &Stdin) -> Result<(Envelope, Option<Definition>)> {
    match &config.source {
        Source::Arn(_) | Source::Rollback(_) => Ok((stdin.envelope()?, None)),
        Source::Stdin => {
            let envelope = stdin.envelope()?;
            let def = match envelope.get("taskDefinition") {
                Some(_) => definition(&envelope, "stdin", config.allow_unknown_fields)?,
                None => {
                    return Err(Error::usage(
                        "no task definition: give --task-definition FILE or --task-definition-arn ARN, or pipe in an object with a \"taskDefinition\" key (as taskdef-render and aws ecs describe-task-definition print)",
                    ));
                }
            };
            Ok((envelope, Some(def)))
        }
        Source::File(path) => {
            let origin = if path == "-" { "stdin" } else { path.as_str() };
            let bytes = stream::read_file(path, "task definition", stdin)?;
            let doc = stream::parse_envelope(&bytes, origin)?;
            if doc.is_empty() {
                return Err(Error::usage(format!(
                    "{origin}: empty, expected a task definition"
                )));
            }
            let wrapped = doc.contains_key("taskDefinition");
            let def = if wrapped {
                definition(&doc, origin, config.allow_unknown_fields)?
            } else {
                let mut bare = Map::new();
                bare.insert("taskDefinition".to_string(), Value::Object(doc.clone()));
                definition(&bare, origin, config.allow_unknown_fields)?
            };
            // A describe output that came on stdin is the stream's object too;
            // a file's is not.
            let envelope = match (path == "-", wrapped) {
                (true, true) => doc,
                (true, false) => Envelope::new(),
                (false, _) => stdin.envelope()?,
            };
            Ok((envelope, Some(def)))
        }
    }
}

/// `{"taskDefinition": {...}, "tags": [...]}` to a definition ready to register.
fn definition(doc: &Map<String, Value>, origin: &str, allow_unknown: bool) -> Result<Definition> {
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
