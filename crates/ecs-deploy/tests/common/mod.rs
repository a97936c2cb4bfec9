//! What ecs-deploy's test files share: the binary pointed at moto, state
//! set up in moto under unique names (tests run in parallel against one
//! server), and the fixtures.

#![allow(dead_code)] // each test file uses its own part of this

use std::path::PathBuf;

use deploy_tests::{Tool, moto_ecs, read_json, unique};
use serde_json::{Value, json};

/// A run of the real binary, pointed at moto.
pub fn deploy() -> Tool {
    deploy_tests::tool(env!("CARGO_BIN_EXE_ecs-deploy")).aws()
}

/// A file in `tests/fixtures/`.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The definition with recent fields (`fixtures/recent.json`) under a
/// fresh family name.
pub fn definition() -> Value {
    let mut td = read_json(fixture("recent.json"));
    td["family"] = json!(unique("web"));
    td
}

/// The fixture `name`, with `FAMILY` replaced by `family` wherever it is.
pub fn fixture_with_family(name: &str, family: &str) -> Value {
    let text = std::fs::read_to_string(fixture(name)).unwrap();
    serde_json::from_str(&text.replace("FAMILY", family)).unwrap()
}

/// Registers `td` in moto directly; its ARN.
pub fn register(td: &Value) -> String {
    moto_ecs("RegisterTaskDefinition", td)["taskDefinition"]["taskDefinitionArn"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A cluster of its own.
pub fn cluster() -> String {
    let name = unique("cluster");
    moto_ecs("CreateCluster", &json!({"clusterName": name}));
    name
}

/// A service running `task_definition` in `cluster`.
pub fn service(cluster: &str, name: &str, task_definition: &str) {
    moto_ecs(
        "CreateService",
        &json!({"cluster": cluster, "serviceName": name, "taskDefinition": task_definition, "desiredCount": 1}),
    );
}

/// A cluster with one service `web` running a fresh family's revision 1:
/// (cluster, family, the definition registered). Without
/// `enableFaultInjection`, which moto does not store: a definition with it
/// never equals what moto gives back.
pub fn deployed() -> (String, String, Value) {
    let mut td = definition();
    td.as_object_mut().unwrap().remove("enableFaultInjection");
    let arn = register(&td);
    let cluster = cluster();
    service(&cluster, "web", &arn);
    (cluster, td["family"].as_str().unwrap().to_string(), td)
}

/// The family's revisions with `status` (ACTIVE or INACTIVE), as `family:N`, oldest first.
pub fn revisions(family: &str, status: &str) -> Vec<String> {
    let answer = moto_ecs(
        "ListTaskDefinitions",
        &json!({"familyPrefix": family, "status": status, "sort": "ASC"}),
    );
    answer["taskDefinitionArns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().rsplit('/').next().unwrap().to_string())
        .filter(|n| n.rsplit_once(':').is_some_and(|(f, _)| f == family))
        .collect()
}

/// The service as moto describes it now.
pub fn described(cluster: &str, name: &str) -> Value {
    moto_ecs(
        "DescribeServices",
        &json!({"cluster": cluster, "services": [name]}),
    )["services"][0]
        .clone()
}

/// `family:N` of an ARN.
pub fn short(arn: &Value) -> String {
    arn.as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string()
}
