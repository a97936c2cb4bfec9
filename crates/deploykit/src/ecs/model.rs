//! The ECS API as the SDK was built from it, at run time: aws-sdk-ecs
//! exposes each shape's schema (`RegisterTaskDefinitionInput::SCHEMA`,
//! members, shape types, list members, map values), so a task definition
//! held as JSON is checked field by field against the model that the
//! request would be serialised with, and nothing needs vendoring: the check
//! follows the SDK version.
//!
//! [`check_task_definition`] walks a definition and returns what it found;
//! each tool decides what to do with it (ARCHITECTURE.md, "Shared pieces"):
//!
//! - a value of the wrong type that has one obvious reading is converted in
//!   place (`"containerPort": "3000"` → `3000`, `"memory": 512` → `"512"`,
//!   tags written as a map → `[{"key", "value"}]`): [`Found::Converted`];
//! - a field name the model does not know is kept as it is (it may be
//!   newer than this build): [`Found::Unknown`];
//! - anything else is [`Found::WrongType`], which no tool should send.
//!
//! Messages never repeat a value: an environment value may be a secret.

use aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionInput;
use aws_smithy_schema::{Schema, ShapeType};
use serde_json::{Map, Value};

use crate::path::{Path, Seg};
use crate::stream::kind;

/// What the check found at one place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// The value was `from` and is now `to`, as the model wants.
    Converted { from: String, to: String },
    /// A field the model does not have; left as it is.
    Unknown,
    /// A value of `found` where the model wants `wanted`.
    WrongType { found: String, wanted: String },
}

/// One finding, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub path: Path,
    pub found: Found,
}

impl Finding {
    /// One line for a person; `td` names the container in the path.
    pub fn message(&self, td: &Value) -> String {
        let at = self.path.describe(td);
        match &self.found {
            Found::Converted { from, to } => {
                format!("{at}: {from} converted to {to}, as the ECS API wants")
            }
            Found::Unknown => format!(
                "{at}: not a field of the ECS API that this build knows (aws-sdk-ecs model); kept as it is"
            ),
            Found::WrongType { found, wanted } => {
                format!("{at}: {found} where the ECS API wants {wanted}")
            }
        }
    }
}

/// Checks (and where unambiguous, converts) every field of a task
/// definition against RegisterTaskDefinition's input model.
pub fn check_task_definition(td: &mut Value) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut path = Path::default();
    match td {
        Value::Object(map) => walk_struct(
            map,
            RegisterTaskDefinitionInput::SCHEMA,
            &mut path,
            &mut findings,
        ),
        other => findings.push(Finding {
            path,
            found: Found::WrongType {
                found: kind(other).to_string(),
                wanted: "an object (RegisterTaskDefinitionInput)".to_string(),
            },
        }),
    }
    findings
}

fn walk_struct(
    map: &mut Map<String, Value>,
    schema: &Schema<'_>,
    path: &mut Path,
    out: &mut Vec<Finding>,
) {
    let owner = schema.shape_id().shape_name();
    for (key, value) in map.iter_mut() {
        path.0.push(Seg::Key(key.clone()));
        match schema.member_schema(key) {
            Some(member) => walk(value, member, owner, key, path, out),
            None => out.push(Finding {
                path: path.clone(),
                found: Found::Unknown,
            }),
        }
        path.0.pop();
    }
}

/// `member` is the schema of the member (or list element, or map value)
/// that `value` sits in; `owner` the structure that declares it, for
/// finding a structure's own schema in [`TARGETS`], and `name` the
/// member's name there (a list element's schema is named `member`).
fn walk(
    value: &mut Value,
    member: &Schema<'_>,
    owner: &str,
    name: &str,
    path: &mut Path,
    out: &mut Vec<Finding>,
) {
    let mut wrong = |value: &Value, out: &mut Vec<Finding>| {
        out.push(Finding {
            path: path.clone(),
            found: Found::WrongType {
                found: kind(value).to_string(),
                wanted: describe(member, owner, name),
            },
        })
    };
    match member.shape_type() {
        ShapeType::Structure | ShapeType::Union => match (value, target(owner, name)) {
            (Value::Object(map), Some(schema)) => walk_struct(map, schema, path, out),
            // A structure this build cannot resolve: nothing to check it against.
            (Value::Object(_), None) => {}
            (value, _) => wrong(value, out),
        },
        ShapeType::List => {
            let Some(element) = member.member() else {
                return;
            };
            if let Value::Object(map) = value
                && let Some(list) = pairs_as_list(map, element, owner, name)
            {
                let from = "an object".to_string();
                let to = format!("a list of {}", plural(&describe(element, owner, name)));
                *value = Value::Array(list);
                out.push(Finding {
                    path: path.clone(),
                    found: Found::Converted { from, to },
                });
            }
            match value {
                Value::Array(items) => {
                    for (i, item) in items.iter_mut().enumerate() {
                        path.0.push(Seg::Index(i));
                        walk(item, element, owner, name, path, out);
                        path.0.pop();
                    }
                }
                value => wrong(value, out),
            }
        }
        ShapeType::Map => match value {
            Value::Object(map) => {
                let Some(element) = member.member() else {
                    return;
                };
                for (key, item) in map.iter_mut() {
                    path.0.push(Seg::Key(key.clone()));
                    walk(item, element, owner, name, path, out);
                    path.0.pop();
                }
            }
            value => wrong(value, out),
        },
        ShapeType::String | ShapeType::Blob => {
            let text = match value {
                Value::String(_) => return,
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                value => return wrong(value, out),
            };
            let from = kind(value).to_string();
            *value = Value::String(text);
            out.push(Finding {
                path: path.clone(),
                found: Found::Converted {
                    from,
                    to: "a string".into(),
                },
            });
        }
        ShapeType::Byte
        | ShapeType::Short
        | ShapeType::Integer
        | ShapeType::Long
        | ShapeType::BigInteger => {
            let bits = match member.shape_type() {
                ShapeType::Byte => 8,
                ShapeType::Short => 16,
                ShapeType::Integer => 32,
                _ => 64,
            };
            let fits = |n: i64| bits == 64 || (n >= -(1 << (bits - 1)) && n < (1 << (bits - 1)));
            if let Value::Number(n) = value
                && (n.is_i64() || n.is_u64())
                && !n.as_i64().is_some_and(fits)
            {
                out.push(Finding {
                    path: path.clone(),
                    found: Found::WrongType {
                        found: "an integer out of range".to_string(),
                        wanted: format!("a {bits}-bit integer"),
                    },
                });
                return;
            }
            let number = match value {
                Value::Number(n) if n.is_i64() || n.is_u64() => return,
                Value::Number(n) => n
                    .as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                    .map(|f| Value::from(f as i64)),
                Value::String(s) => s.trim().parse::<i64>().ok().map(Value::from),
                _ => None,
            };
            convert(value, number, "an integer", path, out, &mut wrong);
        }
        ShapeType::Float | ShapeType::Double | ShapeType::BigDecimal => {
            let number = match value {
                Value::Number(_) => return,
                Value::String(s) => s
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite())
                    .and_then(serde_json::Number::from_f64)
                    .map(Value::Number),
                _ => None,
            };
            convert(value, number, "a number", path, out, &mut wrong);
        }
        ShapeType::Boolean => {
            let boolean = match value {
                Value::Bool(_) => return,
                Value::String(s) if s == "true" || s == "false" => Some(Value::Bool(s == "true")),
                _ => None,
            };
            convert(value, boolean, "a boolean", path, out, &mut wrong);
        }
        // Timestamps, documents and anything newer: not ours to judge.
        _ => {}
    }
}

fn convert(
    value: &mut Value,
    new: Option<Value>,
    to: &str,
    path: &Path,
    out: &mut Vec<Finding>,
    wrong: &mut impl FnMut(&Value, &mut Vec<Finding>),
) {
    match new {
        Some(new) => {
            let from = kind(value).to_string();
            *value = new;
            out.push(Finding {
                path: path.clone(),
                found: Found::Converted {
                    from,
                    to: to.to_string(),
                },
            });
        }
        None => wrong(value, out),
    }
}

/// `{"Project": "x"}` where a list of `{key, value}` (or `{name, value}`)
/// structures is wanted: the one reading is one entry per map key. An
/// object that is itself one entry (`{"key": "team", "value": "x"}`) is a
/// list of that one entry, not two.
fn pairs_as_list(
    map: &Map<String, Value>,
    element: &Schema<'_>,
    owner: &str,
    name: &str,
) -> Option<Vec<Value>> {
    let schema = target(owner, name).filter(|_| element.shape_type() == ShapeType::Structure)?;
    let names: Vec<&str> = schema
        .members()
        .iter()
        .filter_map(|m| m.member_name())
        .collect();
    let key = match names.as_slice() {
        ["key", "value"] | ["value", "key"] => "key",
        ["name", "value"] | ["value", "name"] => "name",
        _ => return None,
    };
    let is_one_entry = map.len() == 2 && map.contains_key(key) && map.contains_key("value");
    if is_one_entry {
        return Some(vec![Value::Object(map.clone())]);
    }
    Some(
        map.iter()
            .map(|(k, v)| {
                let mut entry = Map::new();
                entry.insert(key.to_string(), Value::String(k.clone()));
                entry.insert("value".to_string(), v.clone());
                Value::Object(entry)
            })
            .collect(),
    )
}

fn describe(schema: &Schema<'_>, owner: &str, name: &str) -> String {
    match schema.shape_type() {
        ShapeType::String | ShapeType::Blob => "a string".into(),
        ShapeType::Boolean => "a boolean".into(),
        ShapeType::Byte
        | ShapeType::Short
        | ShapeType::Integer
        | ShapeType::Long
        | ShapeType::BigInteger => "an integer".into(),
        ShapeType::Float | ShapeType::Double | ShapeType::BigDecimal => "a number".into(),
        ShapeType::List => match schema.member() {
            Some(element) => format!("a list of {}", plural(&describe(element, owner, name))),
            None => "a list".into(),
        },
        ShapeType::Map => match schema.member() {
            Some(value) => format!("an object of {}", plural(&describe(value, owner, name))),
            None => "an object".into(),
        },
        ShapeType::Structure | ShapeType::Union => match target(owner, name) {
            Some(target) => format!("an object ({})", target.shape_id().shape_name()),
            None => "an object".into(),
        },
        _ => "another type".into(),
    }
}

/// `a string` → `strings`, `an object (Tag)` → `objects (Tag)`.
fn plural(one: &str) -> String {
    let bare = one
        .strip_prefix("an ")
        .or_else(|| one.strip_prefix("a "))
        .unwrap_or(one);
    match bare.split_once(' ') {
        Some((head, rest)) => format!("{head}s {rest}"),
        None => format!("{bare}s"),
    }
}

/// The structure a member holds (or, for a list or map, each element of
/// it). A member schema names only its own shape, not the structure it
/// targets, so this table says it; a test walks the whole model and fails
/// when a structure member is missing from it (an SDK update that adds one).
fn target(owner: &str, member: &str) -> Option<&'static Schema<'static>> {
    TARGETS
        .iter()
        .find(|(o, m, _)| *o == owner && *m == member)
        .map(|(_, _, schema)| *schema)
}

#[allow(deprecated)] // InferenceAccelerator: still a member of the input model
use aws_sdk_ecs::types::{
    ContainerDefinition, ContainerDependency, ContainerRestartPolicy, Device,
    DockerVolumeConfiguration, EfsAuthorizationConfig, EfsVolumeConfiguration, EnvironmentFile,
    EphemeralStorage, FSxWindowsFileServerAuthorizationConfig,
    FSxWindowsFileServerVolumeConfiguration, FirelensConfiguration, HealthCheck, HostEntry,
    HostVolumeProperties, InferenceAccelerator, KernelCapabilities, KeyValuePair, LinuxParameters,
    LogConfiguration, MountPoint, NvidiaMpsAllocation, PortMapping, ProxyConfiguration,
    RepositoryCredentials, ResourceRequirement, RuntimePlatform, S3FilesVolumeConfiguration,
    Secret, SharingStrategy, SystemControl, Tag, TaskDefinitionPlacementConstraint, Tmpfs, Ulimit,
    Volume, VolumeFrom,
};

type Target = (&'static str, &'static str, &'static Schema<'static>);

#[allow(deprecated)]
static TARGETS: &[Target] = &[
    (
        "ContainerDefinition",
        "dependsOn",
        ContainerDependency::SCHEMA,
    ),
    ("ContainerDefinition", "environment", KeyValuePair::SCHEMA),
    (
        "ContainerDefinition",
        "environmentFiles",
        EnvironmentFile::SCHEMA,
    ),
    ("ContainerDefinition", "extraHosts", HostEntry::SCHEMA),
    (
        "ContainerDefinition",
        "firelensConfiguration",
        FirelensConfiguration::SCHEMA,
    ),
    ("ContainerDefinition", "healthCheck", HealthCheck::SCHEMA),
    (
        "ContainerDefinition",
        "linuxParameters",
        LinuxParameters::SCHEMA,
    ),
    (
        "ContainerDefinition",
        "logConfiguration",
        LogConfiguration::SCHEMA,
    ),
    ("ContainerDefinition", "mountPoints", MountPoint::SCHEMA),
    ("ContainerDefinition", "portMappings", PortMapping::SCHEMA),
    (
        "ContainerDefinition",
        "repositoryCredentials",
        RepositoryCredentials::SCHEMA,
    ),
    (
        "ContainerDefinition",
        "resourceRequirements",
        ResourceRequirement::SCHEMA,
    ),
    (
        "ContainerDefinition",
        "restartPolicy",
        ContainerRestartPolicy::SCHEMA,
    ),
    ("ContainerDefinition", "secrets", Secret::SCHEMA),
    (
        "ContainerDefinition",
        "systemControls",
        SystemControl::SCHEMA,
    ),
    ("ContainerDefinition", "ulimits", Ulimit::SCHEMA),
    ("ContainerDefinition", "volumesFrom", VolumeFrom::SCHEMA),
    (
        "EFSVolumeConfiguration",
        "authorizationConfig",
        EfsAuthorizationConfig::SCHEMA,
    ),
    (
        "FSxWindowsFileServerVolumeConfiguration",
        "authorizationConfig",
        FSxWindowsFileServerAuthorizationConfig::SCHEMA,
    ),
    (
        "LinuxParameters",
        "capabilities",
        KernelCapabilities::SCHEMA,
    ),
    ("LinuxParameters", "devices", Device::SCHEMA),
    ("LinuxParameters", "tmpfs", Tmpfs::SCHEMA),
    ("LogConfiguration", "secretOptions", Secret::SCHEMA),
    ("ProxyConfiguration", "properties", KeyValuePair::SCHEMA),
    (
        "ResourceRequirement",
        "sharingStrategy",
        SharingStrategy::SCHEMA,
    ),
    ("SharingStrategy", "nvidiaMps", NvidiaMpsAllocation::SCHEMA),
    (
        "RegisterTaskDefinitionInput",
        "containerDefinitions",
        ContainerDefinition::SCHEMA,
    ),
    (
        "RegisterTaskDefinitionInput",
        "ephemeralStorage",
        EphemeralStorage::SCHEMA,
    ),
    (
        "RegisterTaskDefinitionInput",
        "inferenceAccelerators",
        InferenceAccelerator::SCHEMA,
    ),
    (
        "RegisterTaskDefinitionInput",
        "placementConstraints",
        TaskDefinitionPlacementConstraint::SCHEMA,
    ),
    (
        "RegisterTaskDefinitionInput",
        "proxyConfiguration",
        ProxyConfiguration::SCHEMA,
    ),
    (
        "RegisterTaskDefinitionInput",
        "runtimePlatform",
        RuntimePlatform::SCHEMA,
    ),
    ("RegisterTaskDefinitionInput", "tags", Tag::SCHEMA),
    ("RegisterTaskDefinitionInput", "volumes", Volume::SCHEMA),
    (
        "Volume",
        "dockerVolumeConfiguration",
        DockerVolumeConfiguration::SCHEMA,
    ),
    (
        "Volume",
        "efsVolumeConfiguration",
        EfsVolumeConfiguration::SCHEMA,
    ),
    (
        "Volume",
        "fsxWindowsFileServerVolumeConfiguration",
        FSxWindowsFileServerVolumeConfiguration::SCHEMA,
    ),
    ("Volume", "host", HostVolumeProperties::SCHEMA),
    (
        "Volume",
        "s3filesVolumeConfiguration",
        S3FilesVolumeConfiguration::SCHEMA,
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(mut td: Value) -> (Value, Vec<String>) {
        let findings = check_task_definition(&mut td);
        let messages = findings.iter().map(|f| f.message(&td)).collect();
        (td, messages)
    }

    /// Every structure reachable from RegisterTaskDefinitionInput resolves
    /// through [`TARGETS`]: an SDK update that adds one fails here.
    #[test]
    fn every_structure_in_the_model_resolves() {
        fn go(schema: &Schema<'_>, missing: &mut Vec<String>, depth: usize) {
            assert!(depth < 12, "the model is deeper than expected");
            let owner = schema.shape_id().shape_name();
            for member in schema.members() {
                let name = member.member_name().unwrap_or("");
                let element = match member.shape_type() {
                    ShapeType::List | ShapeType::Map => member.member().map(|e| e.shape_type()),
                    other => Some(other),
                };
                if matches!(element, Some(ShapeType::Structure | ShapeType::Union)) {
                    match target(owner, name) {
                        Some(t) => go(t, missing, depth + 1),
                        None => missing.push(format!("{owner}.{name}")),
                    }
                }
            }
        }
        let mut missing = Vec::new();
        go(RegisterTaskDefinitionInput::SCHEMA, &mut missing, 0);
        assert!(missing.is_empty(), "add to TARGETS: {missing:?}");
    }

    /// Every row of [`TARGETS`] names a member its owner really has.
    #[test]
    fn every_target_row_names_a_real_member() {
        let mut owners: Vec<&Schema<'static>> = vec![RegisterTaskDefinitionInput::SCHEMA];
        owners.extend(TARGETS.iter().map(|(_, _, s)| *s));
        for (owner, member, _) in TARGETS.iter() {
            let schema = owners.iter().find(|s| s.shape_id().shape_name() == *owner);
            let schema = schema.unwrap_or_else(|| panic!("no schema for {owner}"));
            assert!(
                schema.member_schema(member).is_some(),
                "{owner} has no member {member}"
            );
        }
    }

    #[test]
    fn a_valid_definition_has_no_findings() {
        let (_, found) = check(json!({
            "family": "web", "cpu": "256", "memory": "512", "requiresCompatibilities": ["FARGATE"],
            "tags": [{"key": "a", "value": "b"}],
            "containerDefinitions": [{"name": "web", "image": "i", "essential": true, "cpu": 0,
                "portMappings": [{"containerPort": 80, "protocol": "tcp"}],
                "environment": [{"name": "A", "value": ""}],
                "dockerLabels": {"a": "b"},
                "healthCheck": {"command": ["CMD", "true"], "interval": 30},
                "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "g"}}}],
            "volumes": [{"name": "v", "efsVolumeConfiguration": {"fileSystemId": "fs", "authorizationConfig": {"iam": "ENABLED"}}}]
        }));
        assert_eq!(found, Vec::<String>::new());
    }

    #[test]
    fn a_port_as_a_string_becomes_an_integer() {
        let (td, found) = check(
            json!({"containerDefinitions": [{"name": "web", "portMappings": [{"containerPort": "3000"}]}]}),
        );
        assert_eq!(
            td["containerDefinitions"][0]["portMappings"][0]["containerPort"],
            json!(3000)
        );
        assert_eq!(
            found,
            [
                r#"containerDefinitions[0].portMappings[0].containerPort (container "web"): a string converted to an integer, as the ECS API wants"#
            ]
        );
    }

    #[test]
    fn task_memory_as_a_number_becomes_a_string() {
        let (td, found) = check(json!({"family": "f", "memory": 512}));
        assert_eq!(td["memory"], json!("512"));
        assert_eq!(
            found,
            ["memory: a number converted to a string, as the ECS API wants"]
        );
    }

    #[test]
    fn a_boolean_as_a_string_becomes_a_boolean() {
        let (td, _) = check(json!({"containerDefinitions": [{"essential": "true"}]}));
        assert_eq!(td["containerDefinitions"][0]["essential"], json!(true));
    }

    #[test]
    fn tags_as_a_map_become_a_list_of_key_value() {
        let (td, found) = check(json!({"tags": {"Project": "x", "Team": "y"}}));
        assert_eq!(
            td["tags"],
            json!([{"key": "Project", "value": "x"}, {"key": "Team", "value": "y"}])
        );
        assert_eq!(
            found,
            ["tags: an object converted to a list of objects (Tag), as the ECS API wants"]
        );
    }

    #[test]
    fn one_tag_written_as_an_object_becomes_a_list_of_it() {
        let (td, _) = check(json!({"tags": {"key": "team", "value": "x"}}));
        assert_eq!(td["tags"], json!([{"key": "team", "value": "x"}]));
    }

    #[test]
    fn a_port_beyond_32_bits_is_refused() {
        let (_, found) = check(
            json!({"containerDefinitions": [{"name": "w", "portMappings": [{"containerPort": 99999999999u64}]}]}),
        );
        assert_eq!(
            found,
            [
                r#"containerDefinitions[0].portMappings[0].containerPort (container "w"): an integer out of range where the ECS API wants a 32-bit integer"#
            ]
        );
    }

    #[test]
    fn environment_as_a_map_becomes_a_list_of_name_value() {
        let (td, _) = check(json!({"containerDefinitions": [{"environment": {"A": "1"}}]}));
        assert_eq!(
            td["containerDefinitions"][0]["environment"],
            json!([{"name": "A", "value": "1"}])
        );
    }

    #[test]
    fn a_string_that_is_no_integer_is_refused() {
        let (_, found) = check(
            json!({"containerDefinitions": [{"name": "web", "portMappings": [{"containerPort": "http"}]}]}),
        );
        assert_eq!(
            found,
            [
                r#"containerDefinitions[0].portMappings[0].containerPort (container "web"): a string where the ECS API wants an integer"#
            ]
        );
    }

    #[test]
    fn a_command_as_one_string_is_refused() {
        let (_, found) =
            check(json!({"containerDefinitions": [{"name": "web", "command": "npm start"}]}));
        assert_eq!(
            found,
            [
                r#"containerDefinitions[0].command (container "web"): a string where the ECS API wants a list of strings"#
            ]
        );
    }

    #[test]
    fn a_structure_as_a_list_is_refused() {
        let (_, found) =
            check(json!({"containerDefinitions": [{"name": "w", "logConfiguration": []}]}));
        assert_eq!(
            found,
            [
                r#"containerDefinitions[0].logConfiguration (container "w"): an array where the ECS API wants an object (LogConfiguration)"#
            ]
        );
    }

    #[test]
    fn unknown_fields_are_kept_and_named() {
        let (td, found) = check(
            json!({"containerDefinitions": [{"name": "w", "healthCheck": {"startPeriodSecs": 5}}]}),
        );
        assert_eq!(
            td["containerDefinitions"][0]["healthCheck"]["startPeriodSecs"],
            5
        );
        assert_eq!(found.len(), 1);
        assert!(found[0].starts_with(r#"containerDefinitions[0].healthCheck.startPeriodSecs (container "w"): not a field"#), "{found:?}");
    }

    #[test]
    fn messages_never_repeat_a_value() {
        let (_, found) = check(
            json!({"containerDefinitions": [{"environment": [{"name": "PIN", "value": 987654}]}], "cpu": ["s3cr3t"]}),
        );
        let text = found.join("\n");
        assert!(
            !text.contains("987654") && !text.contains("s3cr3t"),
            "{text}"
        );
        assert_eq!(found.len(), 2, "{text}");
    }
}
