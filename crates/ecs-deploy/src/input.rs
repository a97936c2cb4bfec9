//! The definition to register, read and made ready before any call: from
//! `--task-definition FILE|-` or stdin's `taskDefinition` (bare or as
//! describe-task-definition prints it, tags beside), cleaned with the
//! toolkit's one rule, and checked against the ECS API model.

use deploykit::ecs::definition::{Definition, from_doc};
use deploykit::stream::{self, Envelope, Stdin};
use deploykit::{Error, Result};
use serde_json::{Map, Value};

use crate::config::{Config, Source};

/// The stdin object, and the definition when the source is one to read.
pub fn read(config: &Config, stdin: &Stdin) -> Result<(Envelope, Option<Definition>)> {
    match &config.source {
        Source::Arn(_) | Source::Rollback(_) | Source::Continue(_) | Source::Stop => {
            Ok((stdin.envelope()?, None))
        }
        Source::Stdin => {
            let envelope = stdin.envelope()?;
            let def = match envelope.get("taskDefinition") {
                Some(_) => from_doc(&envelope, "stdin", config.allow_unknown_fields)?,
                None => {
                    return Err(Error::usage(
                        "no task definition: give --task-definition FILE or --family FAMILY[:REV] (or an ARN), or pipe in an object with a \"taskDefinition\" key (as taskdef-render and aws ecs describe-task-definition print)",
                    ));
                }
            };
            Ok((envelope, Some(def)))
        }
        Source::File(path) => {
            let from_stdin = stream::is_stdin_path(path);
            let origin = if from_stdin { "stdin" } else { path.as_str() };
            let bytes = stream::read_file(path, "task definition", stdin)?;
            let doc = stream::parse_envelope(&bytes, origin)?;
            if doc.is_empty() {
                return Err(Error::usage(format!(
                    "{origin}: empty, expected a task definition"
                )));
            }
            let wrapped = doc.contains_key("taskDefinition");
            let def = if wrapped {
                from_doc(&doc, origin, config.allow_unknown_fields)?
            } else {
                let mut bare = Map::new();
                bare.insert("taskDefinition".to_string(), Value::Object(doc.clone()));
                from_doc(&bare, origin, config.allow_unknown_fields)?
            };
            // A describe output that came on stdin is the stream's object too;
            // a file's is not.
            let envelope = match (from_stdin, wrapped) {
                (true, true) => doc,
                (true, false) => Envelope::new(),
                (false, _) => stdin.envelope()?,
            };
            Ok((envelope, Some(def)))
        }
    }
}
