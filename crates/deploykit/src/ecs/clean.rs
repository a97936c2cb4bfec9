//! Makes a described task definition valid RegisterTaskDefinition input:
//! drops the read-only fields that describe-task-definition adds, and drops
//! null, `""`, empty arrays and empty objects recursively, as
//! amazon-ecs-deploy-task-definition does, so what AWS printed can be sent
//! back. `0` and `false` stay, and so does `"value": ""` in an environment
//! entry: an empty variable is a real setting; and so does `""` inside a
//! list (`"entryPoint": [""]` clears the image's entrypoint in Docker).
//!
//! An environment or secrets entry without a name is dropped whole, as
//! amazon-ecs-deploy-task-definition drops it: RegisterTaskDefinition
//! refuses it, and there is nothing to set.
//!
//! One rule for the whole toolkit (taskdef-render before it writes,
//! ecs-deploy and ecs-run before they register): [`clean`] prints nothing
//! and returns a [`Cleaned`] report of what it removed; each tool decides
//! how to show it.

use serde_json::{Map, Value};

use crate::path::{Path, Seg};

/// Fields of describe-task-definition output that RegisterTaskDefinition rejects.
pub const READ_ONLY: [&str; 9] = [
    "taskDefinitionArn",
    "revision",
    "status",
    "requiresAttributes",
    "compatibilities",
    "registeredAt",
    "registeredBy",
    "deregisteredAt",
    "deleteRequestedAt",
];

/// What [`clean`] removed, in the order it found it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cleaned {
    /// Read-only fields of describe output (`taskDefinitionArn`, ...).
    pub read_only: Vec<&'static str>,
    /// `environment`/`secrets` entries without a name, as one line each
    /// (`containerDefinitions[0].environment[2] (container "web")`).
    pub nameless: Vec<String>,
    /// Empty strings dropped, with where they were. Nulls and empty
    /// collections are what AWS prints for unset, and are not listed.
    pub empty_strings: Vec<String>,
}

impl Cleaned {
    /// One warning line for each nameless entry and empty string: what a
    /// person may have meant to set. Read-only fields are left to the tool.
    pub fn warnings(&self) -> Vec<String> {
        let nameless = self.nameless.iter().map(|at| {
            format!("dropped {at}: an entry without a name, which RegisterTaskDefinition refuses")
        });
        let empty = self.empty_strings.iter().map(|at| {
            format!(
                "dropped the empty string at {at}: RegisterTaskDefinition input carries no empty values"
            )
        });
        nameless.chain(empty).collect()
    }
}

/// Removes the read-only fields and the empty values, and says what went.
///
/// Empty strings are the one kind of empty value a person may have meant
/// (a Docker label or log option set to `""`), so each one dropped is in the
/// report; nulls and empty collections are what AWS prints for unset.
pub fn clean(td: &mut Value) -> Cleaned {
    let mut report = Cleaned::default();
    let Some(map) = td.as_object_mut() else {
        return report;
    };
    for field in READ_ONLY {
        if map.shift_remove(field).is_some() {
            report.read_only.push(field);
        }
    }
    report.nameless = drop_nameless_entries(map);
    let mut dropped = Vec::new();
    prune_map(map, Place::Root, &mut Path::default(), &mut dropped);
    report.empty_strings = dropped.iter().map(|path| path.describe(td)).collect();
    report
}

/// Removes `environment` and `secrets` entries whose name is missing or empty.
fn drop_nameless_entries(td: &mut Map<String, Value>) -> Vec<String> {
    let mut dropped = Vec::new();
    let Some(Value::Array(containers)) = td.get_mut("containerDefinitions") else {
        return dropped;
    };
    for (i, container) in containers.iter_mut().enumerate() {
        let label = match container.get("name").and_then(Value::as_str) {
            Some(name) => format!(" (container {name:?})"),
            None => String::new(),
        };
        for field in ["environment", "secrets"] {
            let Some(Value::Array(entries)) = container.get_mut(field) else {
                continue;
            };
            let mut index = 0;
            entries.retain(|entry| {
                let at = index;
                index += 1;
                let named = entry
                    .get("name")
                    .and_then(Value::as_str)
                    .is_some_and(|n| !n.is_empty());
                if !named && entry.is_object() {
                    dropped.push(format!("containerDefinitions[{i}].{field}[{at}]{label}"));
                }
                named || !entry.is_object()
            });
        }
    }
    dropped
}

/// Where in the task definition a map sits, for the one exception.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    Root,
    Container,
    EnvEntry,
    EnvMap,
    Other,
}

/// Prunes `map` in place; true when nothing is left of it.
fn prune_map(
    map: &mut Map<String, Value>,
    place: Place,
    path: &mut Path,
    dropped: &mut Vec<Path>,
) -> bool {
    map.retain(|key, value| {
        path.0.push(Seg::Key(key.clone()));
        let empty_value_kept =
            (place == Place::EnvEntry && key == "value") || place == Place::EnvMap;
        let keep = if empty_value_kept && value == "" {
            true
        } else {
            let child = match (place, key.as_str()) {
                (Place::Root, "containerDefinitions") => Place::Container,
                // The map form (`{"FLAG": ""}`), which the type check turns
                // into entries afterwards: its empty values are settings too.
                (Place::Container, "environment") if value.is_object() => Place::EnvMap,
                (Place::Container, "environment") => Place::EnvEntry,
                _ => Place::Other,
            };
            !prune(value, child, path, dropped)
        };
        path.0.pop();
        keep
    });
    map.is_empty()
}

/// Prunes `value`; true when it is empty and should go. `child` is the place
/// of the maps directly inside an array (or of the map itself).
fn prune(value: &mut Value, child: Place, path: &mut Path, dropped: &mut Vec<Path>) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) if s.is_empty() => {
            dropped.push(path.clone());
            true
        }
        Value::Array(items) => {
            let mut i = 0;
            items.retain_mut(|item| {
                // `""` in a list is a value: `"entryPoint": [""]` means something.
                if item.as_str() == Some("") {
                    i += 1;
                    return true;
                }
                path.0.push(Seg::Index(i));
                i += 1;
                let place = if child == Place::Container || child == Place::EnvEntry {
                    child
                } else {
                    Place::Other
                };
                let empty = prune(item, place, path, dropped);
                path.0.pop();
                !empty
            });
            items.is_empty()
        }
        Value::Object(map) => prune_map(map, child, path, dropped),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn drops_read_only_and_empty_values_keeps_zero_false_and_empty_env() {
        let mut td = json!({
            "taskDefinitionArn": "arn:x", "revision": 3, "status": "ACTIVE", "family": "app",
            "compatibilities": ["EC2"], "registeredAt": 1.7e9, "registeredBy": "me",
            "requiresAttributes": [{"name": "x"}], "deregisteredAt": null,
            "volumes": [], "placementConstraints": [], "cpu": "256",
            "containerDefinitions": [{
                "name": "web", "image": "i", "cpu": 0, "essential": false,
                "portMappings": [{}], "mountPoints": [], "command": null,
                "environment": [{"name": "EMPTY", "value": ""}, {"name": "A", "value": "1"}],
                "linuxParameters": {"capabilities": {"add": [], "drop": []}, "initProcessEnabled": false},
                "dockerLabels": {}
            }]
        });
        clean(&mut td);
        assert_eq!(
            td,
            json!({
                "family": "app", "cpu": "256",
                "containerDefinitions": [{
                    "name": "web", "image": "i", "cpu": 0, "essential": false,
                    "environment": [{"name": "EMPTY", "value": ""}, {"name": "A", "value": "1"}],
                    "linuxParameters": {"initProcessEnabled": false}
                }]
            })
        );
    }

    /// The read-only fields are exactly what describe's `TaskDefinition` has
    /// and RegisterTaskDefinition's input has not, in the SDK's own model:
    /// a field ECS adds to describe output fails this test.
    #[test]
    fn read_only_is_describe_minus_register_in_the_model() {
        use aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionInput;
        use aws_sdk_ecs::types::TaskDefinition;
        let input: Vec<&str> = RegisterTaskDefinitionInput::SCHEMA
            .members()
            .iter()
            .filter_map(|m| m.member_name())
            .collect();
        let mut described: Vec<&str> = TaskDefinition::SCHEMA
            .members()
            .iter()
            .filter_map(|m| m.member_name())
            .filter(|name| !input.contains(name))
            .collect();
        described.sort_unstable();
        let mut ours = READ_ONLY.to_vec();
        ours.sort_unstable();
        assert_eq!(described, ours);
    }

    #[test]
    fn the_report_names_what_went_and_prints_nothing() {
        let mut td = json!({"taskDefinitionArn": "arn:x", "revision": 3, "family": "f",
            "containerDefinitions": [{"name": "w", "dockerLabels": {"a": ""},
                "environment": [{"value": "x"}], "command": null}]});
        let report = clean(&mut td);
        assert_eq!(report.read_only, ["taskDefinitionArn", "revision"]);
        assert_eq!(
            report.nameless,
            [r#"containerDefinitions[0].environment[0] (container "w")"#]
        );
        assert_eq!(
            report.empty_strings,
            [r#"containerDefinitions[0].dockerLabels.a (container "w")"#]
        );
        assert_eq!(
            report.warnings().len(),
            2,
            "read-only fields are the tool's to show"
        );
    }

    #[test]
    fn empty_strings_in_maps_go() {
        let mut td = json!({"family": "f", "containerDefinitions": [{"name": "w", "dockerLabels": {"a": ""}}]});
        clean(&mut td);
        assert_eq!(
            td,
            json!({"family": "f", "containerDefinitions": [{"name": "w"}]})
        );
    }

    /// The secret loses its empty valueFrom here; check() then refuses it,
    /// naming it, instead of printing `{"name": "S"}` for ECS to refuse.
    #[test]
    fn a_secret_with_an_empty_value_from_keeps_its_name_for_check_to_refuse() {
        let mut td = json!({"family": "f", "containerDefinitions": [{"name": "w", "secrets": [{"name": "S", "valueFrom": ""}]}]});
        clean(&mut td);
        assert_eq!(
            td["containerDefinitions"][0]["secrets"],
            json!([{"name": "S"}])
        );
    }

    #[test]
    fn an_environment_entry_without_a_name_is_dropped_whole() {
        let mut td = json!({"containerDefinitions": [{"name": "w", "environment": [{"name": "", "value": ""}, {"name": "A", "value": ""}, {"value": "x"}]}]});
        clean(&mut td);
        assert_eq!(
            td["containerDefinitions"][0]["environment"],
            json!([{"name": "A", "value": ""}])
        );
    }

    #[test]
    fn a_secret_without_a_name_is_dropped_whole() {
        let mut td = json!({"containerDefinitions": [{"name": "w", "secrets": [{"name": "", "valueFrom": "arn:x"}]}]});
        clean(&mut td);
        assert!(
            td["containerDefinitions"][0].get("secrets").is_none(),
            "{td}"
        );
    }

    #[test]
    fn an_empty_variable_in_the_map_form_of_environment_is_kept() {
        let mut td =
            json!({"containerDefinitions": [{"name": "w", "environment": {"FLAG": "", "A": "1"}}]});
        clean(&mut td);
        assert_eq!(
            td["containerDefinitions"][0]["environment"],
            json!({"FLAG": "", "A": "1"})
        );
    }

    #[test]
    fn an_empty_string_inside_a_list_is_kept() {
        let mut td = json!({"containerDefinitions": [{"name": "w", "entryPoint": [""], "command": ["sh", "", "x"]}]});
        clean(&mut td);
        assert_eq!(td["containerDefinitions"][0]["entryPoint"], json!([""]));
        assert_eq!(
            td["containerDefinitions"][0]["command"],
            json!(["sh", "", "x"])
        );
    }
}
