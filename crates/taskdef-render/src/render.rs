//! The render itself: find the task definition, fill its `${VAR}`s
//! (`--expand-env`, on the template as read, so that a value given on the
//! command line arrives verbatim), apply the edits in a fixed order (flags,
//! then `--jq`), clean it into RegisterTaskDefinition input, check its
//! fields' names and types against the ECS API model, and check it (a
//! Fargate definition's task size too: `fargate.rs`).
//!
//! The definition is a `serde_json::Value` throughout: a field this code has
//! never heard of passes through in value and order.

use deploykit::stream::{Envelope, kind};
use deploykit::{Error, Result, cli};
use serde_json::{Map, Value, json};

use deploykit::ecs::Found;

use crate::config::{Config, Source};
use crate::expand::expand;
use deploykit::ecs::check::check;
use deploykit::ecs::clean::clean;

/// Fetches `describe-task-definition` output (`{"taskDefinition": ..., "tags": [...]}`) for a family.
pub type Fetch<'a> = &'a dyn Fn(&str) -> Result<Value>;

/// The definition to edit, and the tags that came beside it.
struct Input {
    td: Map<String, Value>,
    tags: Option<Value>,
    origin: String,
}

/// Renders `envelope` (the stdin object) into the output object.
/// `file` is the content of `--task-definition`, already read.
pub fn render(
    config: &Config,
    mut envelope: Envelope,
    file: Option<Vec<u8>>,
    fetch: Fetch<'_>,
) -> Result<Envelope> {
    let Input {
        mut td,
        tags,
        origin,
    } = input(config, &mut envelope, file, fetch)?;
    adopt_tags(&mut td, tags, &origin);
    if config.expand_env {
        let mut value = Value::Object(std::mem::take(&mut td));
        expand(&mut value, |name| std::env::var(name).ok())?;
        if let Value::Object(map) = value {
            td = map;
        }
    }

    let image = match &config.image {
        Some(image) => Some(image.clone()),
        None => image_from_stdin(&envelope)?,
    };
    // A named container is looked up even with nothing to edit in it, so
    // that a name that is not there is still reported.
    if image.is_some() || config.edits_container() || config.container.is_some() {
        let container = container(&mut td, config.container.as_deref())?;
        edit_container(container, config, image.as_deref())?;
    }
    for (field, value) in &config.task_fields {
        td.insert((*field).to_string(), Value::String(value.clone()));
    }

    let mut td = Value::Object(td);
    if let Some(filter) = &config.jq {
        td = run_jq(filter, &td)?;
    }
    // Read-only fields go silently: removing them is what a render is for.
    for warning in clean(&mut td).warnings() {
        cli::warn(warning);
    }
    let mut wrong = Vec::new();
    for finding in deploykit::ecs::check_task_definition(&mut td) {
        match finding.found {
            Found::WrongType { .. } => wrong.push(finding.message(&td)),
            _ => cli::warn(finding.message(&td)),
        }
    }
    check(&td, config.placeholders.as_deref(), wrong)?;
    crate::fargate::check(&td)?;

    envelope.insert("taskDefinition".to_string(), td);
    Ok(envelope)
}

fn input(
    config: &Config,
    envelope: &mut Envelope,
    file: Option<Vec<u8>>,
    fetch: Fetch<'_>,
) -> Result<Input> {
    match &config.source {
        Source::File(path) => {
            let origin = if deploykit::stream::is_stdin_path(path) {
                "stdin".to_string()
            } else {
                path.clone()
            };
            let bytes = file.unwrap_or_default();
            let doc = deploykit::stream::parse_envelope(&bytes, &origin)?;
            if doc.is_empty() {
                return Err(Error::usage(format!(
                    "{origin}: empty, expected a task definition"
                )));
            }
            if doc.contains_key("taskDefinition") {
                if deploykit::stream::is_stdin_path(path) {
                    // The describe output came on stdin: it is the stream's object too.
                    *envelope = doc;
                    return from_wrapper(envelope, &origin);
                }
                return from_wrapper(&doc, &origin);
            }
            Ok(Input {
                td: doc,
                tags: None,
                origin,
            })
        }
        Source::Stdin { family } => {
            if envelope.contains_key("taskDefinition") {
                if family.is_some() {
                    cli::warn(
                        "--family is ignored: the task definition comes from the taskDefinition key on stdin",
                    );
                }
                // The envelope keeps its own tags key; the definition gets a copy.
                return from_wrapper(envelope, "stdin");
            }
            match family {
                Some(family) => {
                    let doc = match fetch(family)? {
                        Value::Object(doc) => doc,
                        other => {
                            return Err(Error::failed(format!(
                                "DescribeTaskDefinition returned {}",
                                kind(&other)
                            )));
                        }
                    };
                    from_wrapper(&doc, &format!("task definition {family:?} in ECS"))
                }
                None => Err(Error::usage(
                    "no task definition: give --task-definition FILE, --family NAME, or pipe in an object with a \"taskDefinition\" key (as aws ecs describe-task-definition prints)",
                )),
            }
        }
    }
}

/// `{"taskDefinition": {...}, "tags": [...]}`: takes the definition out.
fn from_wrapper(doc: &Map<String, Value>, origin: &str) -> Result<Input> {
    match doc.get("taskDefinition") {
        Some(Value::Object(td)) => Ok(Input {
            td: td.clone(),
            tags: doc.get("tags").cloned(),
            origin: origin.to_string(),
        }),
        Some(other) => Err(Error::usage(format!(
            "{origin}: \"taskDefinition\" is {}, expected an object",
            kind(other)
        ))),
        None => Err(Error::usage(format!("{origin}: no \"taskDefinition\" key"))),
    }
}

/// describe-task-definition prints the tags beside the definition; register
/// takes them inside it. Carry them in, so re-registering keeps them.
fn adopt_tags(td: &mut Map<String, Value>, tags: Option<Value>, origin: &str) {
    let Some(tags) = tags.filter(|t| t.as_array().is_some_and(|a| !a.is_empty())) else {
        return;
    };
    match td.get("tags") {
        Some(own) if own.as_array().is_some_and(|a| !a.is_empty()) => {
            if own != &tags {
                cli::warn(format!(
                    "{origin}: the tags beside the task definition differ from its own \"tags\"; keeping its own"
                ));
            }
        }
        _ => {
            td.insert("tags".to_string(), tags);
        }
    }
}

/// `image.uri` of the stdin object, as oci-push writes it.
fn image_from_stdin(envelope: &Envelope) -> Result<Option<String>> {
    let Some(image) = envelope.get("image") else {
        return Ok(None);
    };
    match image.get("uri") {
        Some(Value::String(uri)) if !uri.is_empty() => Ok(Some(uri.clone())),
        Some(Value::String(_)) => Err(Error::usage(
            "stdin: \"image.uri\" is empty, expected the image URI; pass --image to choose the image",
        )),
        Some(other) => Err(Error::usage(format!(
            "stdin: \"image.uri\" is {}, expected the image URI as a string",
            kind(other)
        ))),
        None => Err(Error::usage(
            "stdin: \"image\" has no \"uri\" (oci-push writes {\"image\": {\"uri\": ...}}); pass --image to choose the image",
        )),
    }
}

/// The container to edit, by name, or the only one.
fn container<'a>(
    td: &'a mut Map<String, Value>,
    name: Option<&str>,
) -> Result<&'a mut Map<String, Value>> {
    let family = td
        .get("family")
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_string();
    let containers = match td.get_mut("containerDefinitions") {
        Some(Value::Array(list)) => list,
        Some(other) => {
            return Err(Error::usage(format!(
                "task definition {family:?}: \"containerDefinitions\" is {}, expected an array",
                kind(other)
            )));
        }
        None => {
            return Err(Error::usage(format!(
                "task definition {family:?} has no \"containerDefinitions\""
            )));
        }
    };
    let names: Vec<String> = containers
        .iter()
        .map(|c| c["name"].as_str().unwrap_or("(unnamed)").to_string())
        .collect();
    let index = match name {
        Some(name) => names.iter().position(|n| n == name).ok_or_else(|| {
            Error::usage(format!(
                "container {name:?} not found in task definition {family:?} (containers: {})",
                names.join(", ")
            ))
        })?,
        None if names.len() == 1 => 0,
        None if names.is_empty() => {
            return Err(Error::usage(format!(
                "task definition {family:?} has no containers"
            )));
        }
        None => {
            return Err(Error::usage(format!(
                "task definition {family:?} has {} containers ({}): choose one with --container",
                names.len(),
                names.join(", ")
            )));
        }
    };
    match &mut containers[index] {
        Value::Object(c) => Ok(c),
        other => Err(Error::usage(format!(
            "task definition {family:?}: containerDefinitions[{index}] is {}, expected an object",
            kind(other)
        ))),
    }
}

fn edit_container(c: &mut Map<String, Value>, config: &Config, image: Option<&str>) -> Result<()> {
    let name = c
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_string();
    if let Some(image) = image {
        c.insert("image".to_string(), Value::String(image.to_string()));
    }
    for (key, value) in &config.env {
        set_named(c, "environment", "value", key, value, &name)?;
    }
    for key in &config.unset_env {
        let removed = remove_named(c, "environment", key, &name)?;
        if !removed {
            cli::warn(format!(
                "--unset-env {key}: container {name:?} has no such variable"
            ));
        }
    }
    for (key, value_from) in &config.secrets {
        set_named(c, "secrets", "valueFrom", key, value_from, &name)?;
    }
    if config.log_driver.is_some() || !config.log_options.is_empty() {
        edit_log(c, config, &name)?;
    }
    if !config.docker_labels.is_empty() {
        let labels = object_field(c, "dockerLabels", &name)?;
        for (key, value) in &config.docker_labels {
            labels.insert(key.clone(), Value::String(value.clone()));
        }
    }
    if let Some(command) = &config.command {
        c.insert("command".to_string(), json!(command));
    }
    Ok(())
}

fn edit_log(c: &mut Map<String, Value>, config: &Config, name: &str) -> Result<()> {
    let log = object_field(c, "logConfiguration", name)?;
    if let Some(driver) = &config.log_driver {
        let old = log
            .get("logDriver")
            .and_then(Value::as_str)
            .map(str::to_string);
        let has_options = log
            .get("options")
            .and_then(Value::as_object)
            .is_some_and(|o| !o.is_empty());
        if let Some(old) = old.filter(|old| old != driver && has_options) {
            cli::warn(format!(
                "container {name:?}: log driver changed from {old} to {driver}; its options are kept, check that {driver} takes them"
            ));
        }
        log.insert("logDriver".to_string(), Value::String(driver.clone()));
    } else if !log.contains_key("logDriver") {
        return Err(Error::usage(format!(
            "--log-option: container {name:?} has no log driver to take options; add --log-driver (awslogs, for example)"
        )));
    }
    if !config.log_options.is_empty() {
        let options = object_field(log, "options", name)?;
        for (key, value) in &config.log_options {
            options.insert(key.clone(), Value::String(value.clone()));
        }
    }
    Ok(())
}

/// The object under `key`, made when missing.
fn object_field<'a>(
    map: &'a mut Map<String, Value>,
    key: &str,
    container: &str,
) -> Result<&'a mut Map<String, Value>> {
    let slot = map.entry(key.to_string()).or_insert_with(|| json!({}));
    if slot.is_null() {
        *slot = json!({});
    }
    match slot {
        Value::Object(o) => Ok(o),
        other => Err(Error::usage(format!(
            "container {container:?}: \"{key}\" is {}, expected an object",
            kind(other)
        ))),
    }
}

/// The array under `key`, made when missing.
fn array_field<'a>(
    map: &'a mut Map<String, Value>,
    key: &str,
    container: &str,
) -> Result<&'a mut Vec<Value>> {
    let slot = map.entry(key.to_string()).or_insert_with(|| json!([]));
    if slot.is_null() {
        *slot = json!([]);
    }
    match slot {
        Value::Array(a) => Ok(a),
        other => Err(Error::usage(format!(
            "container {container:?}: \"{key}\" is {}, expected an array",
            kind(other)
        ))),
    }
}

/// Sets `{name, <field>: value}` in the list `key`: the first entry with that
/// name is updated in place (its other fields kept), else one is appended.
fn set_named(
    c: &mut Map<String, Value>,
    key: &str,
    field: &str,
    name: &str,
    value: &str,
    container: &str,
) -> Result<()> {
    let list = array_field(c, key, container)?;
    match list.iter_mut().find(|e| e["name"] == name) {
        Some(Value::Object(entry)) => {
            entry.insert(field.to_string(), Value::String(value.to_string()));
        }
        _ => list.push(json!({"name": name, field: value})),
    }
    Ok(())
}

/// Removes every entry named `name` from the list `key`; false when none was there.
fn remove_named(
    c: &mut Map<String, Value>,
    key: &str,
    name: &str,
    container: &str,
) -> Result<bool> {
    if !c.contains_key(key) {
        return Ok(false);
    }
    let list = array_field(c, key, container)?;
    let before = list.len();
    list.retain(|e| e["name"] != name);
    Ok(list.len() != before)
}

fn run_jq(filter: &deploykit::jq::Filter, td: &Value) -> Result<Value> {
    let mut outputs = filter.run(td)?;
    match outputs.len() {
        1 => match outputs.pop() {
            Some(Value::Object(map)) => Ok(Value::Object(map)),
            Some(other) => Err(Error::usage(format!(
                "--jq: the filter produced {}, but it must produce the edited task definition (an object)",
                kind(&other)
            ))),
            None => unreachable!(),
        },
        0 => Err(Error::usage(
            "--jq: the filter produced nothing; it must produce the edited task definition (one object)",
        )),
        n => Err(Error::usage(format!(
            "--jq: the filter produced {n} values; it must produce exactly one object (to edit every container, use `.containerDefinitions[] |= ...` or `.containerDefinitions[].field = ...`)"
        ))),
    }
}
