//! Pipelines that run the real binaries together, through real pipes,
//! against the emulators: the way CI scripts will use them.

use deploy_tests::{moto_ecs, read_json, root, unique, workspace_bin};
use serde_json::json;

#[test]
fn fetch_render_and_render_again_through_a_pipe() {
    let family = register_example("pipeline");

    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("td.json");
    let render = workspace_bin("taskdef-render");
    // Two steps in one shell pipeline, as a Makefile would write it; the
    // second keeps the first one's edits and adds its own.
    let script = format!(
        "set -o pipefail; echo '{{\"image\": {{\"uri\": \"r.example/web@sha256:0f\"}}, \"run\": 42}}' \
         | {r} --family {family} --container web --env NODE_ENV=production \
         | {r} --container web --env GIT_SHA=abc123 --output-file {out}",
        r = render.display(),
        out = out_file.display()
    );
    let out = deploy_tests::tool("bash").args(["-c", &script]).aws().run();
    let doc = out.success();

    let keys: Vec<_> = doc.as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        keys,
        ["image", "run", "taskDefinition"],
        "keys pass through, in order"
    );
    let web = &doc["taskDefinition"]["containerDefinitions"][0];
    assert_eq!(
        web["image"], "r.example/web@sha256:0f",
        "image.uri from upstream became the image"
    );
    assert_eq!(
        web["environment"],
        json!([
            {"name": "NODE_ENV", "value": "production"},
            {"name": "LOG_LEVEL", "value": "info"},
            {"name": "GIT_SHA", "value": "abc123"}
        ])
    );
    assert_eq!(
        doc["taskDefinition"]["tags"],
        json!([{"key": "app", "value": "demo"}])
    );
    assert_eq!(read_json(&out_file), doc["taskDefinition"]);
}

#[test]
fn a_failing_step_stops_the_pipeline_with_its_exit_code() {
    let render = workspace_bin("taskdef-render");
    let script = format!(
        "set -o pipefail; echo '{{\"taskDefinition\": {{\"family\": \"f\", \"containerDefinitions\": [{{\"name\": \"a\", \"image\": \"i\"}}, {{\"name\": \"b\", \"image\": \"i\"}}]}}}}' \
         | {r} --image x:1 | {r}",
        r = render.display()
    );
    let out = deploy_tests::tool("bash").args(["-c", &script]).run();
    let err = out.failure(2);
    assert!(
        err.contains("has 2 containers (a, b): choose one with --container"),
        "{err}"
    );
}

/// Registers examples/task-definition.json in moto under a fresh family name.
fn register_example(prefix: &str) -> String {
    let family = unique(prefix);
    let mut td = read_json(root().join("examples/task-definition.json"));
    td["family"] = json!(family);
    moto_ecs("RegisterTaskDefinition", &td);
    family
}

/// The aws CLI on both sides: its describe output piped in, and our output
/// accepted by `register-task-definition --cli-input-json`, which checks
/// every field name and type against the ECS model that botocore carries.
#[test]
fn the_aws_cli_in_and_out() {
    let family = register_example("cli");

    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("td.json");
    let script = format!(
        "set -euo pipefail
         aws ecs describe-task-definition --task-definition {family} --include TAGS \
           | {r} --container web --image r.example/web:2 --output-file {out} >/dev/null
         aws ecs register-task-definition --cli-input-json file://{out} >/dev/null
         aws ecs describe-task-definition --task-definition {family}:2 --include TAGS",
        r = workspace_bin("taskdef-render").display(),
        out = out_file.display()
    );
    let out = deploy_tests::tool("bash").args(["-c", &script]).aws().run();
    // Revision 2 is ours, as the aws CLI registered it.
    let registered = out.success();
    assert_eq!(registered["taskDefinition"]["revision"], 2);
    assert_eq!(
        registered["taskDefinition"]["containerDefinitions"][0]["image"],
        "r.example/web:2"
    );
    assert_eq!(
        registered["tags"],
        json!([{"key": "app", "value": "demo"}]),
        "tags survived the round trip"
    );
}
