//! Every example in `taskdef-render --help` runs, as written, in a directory
//! holding the files it names, and its output is checked against what the
//! example says it does, so the help cannot drift from the tool. An example
//! with no expectation below fails the test.
//! What comes into a pipe from another tool (`aws ecs describe-task-definition`,
//! `oci-push`) is played by what that tool prints.

mod common;

use common::{fixture, render};
use std::path::Path;

use deploy_tests::{moto_ecs, read_json};
use serde_json::{Value, json};

fn web(doc: &Value) -> &Value {
    doc["taskDefinition"]["containerDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "web")
        .expect("container web")
}

fn env(doc: &Value, name: &str) -> Option<String> {
    web(doc)["environment"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["name"] == name)
        .map(|e| e["value"].as_str().unwrap().to_string())
}

/// What each example must have done, found by a piece of its command line.
fn check(segment: &str, doc: &Value, dir: &Path) {
    if segment.contains("--image 123456789012.dkr.ecr.us-east-1.amazonaws.com/web:1.4.2") {
        assert_eq!(
            web(doc)["image"],
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:1.4.2"
        );
    } else if segment.contains("--family web") {
        assert_eq!(doc["taskDefinition"]["family"], "web");
        assert_eq!(env(doc, "NODE_ENV").as_deref(), Some("production"));
        assert_eq!(env(doc, "DEBUG"), None, "--unset-env DEBUG");
        assert_eq!(env(doc, "PORT").as_deref(), Some("8080"), "the rest kept");
    } else if segment.contains("--output-file td.json") {
        assert_eq!(web(doc)["image"], "registry.example/web:2");
        assert_eq!(read_json(dir.join("td.json")), doc["taskDefinition"]);
    } else if segment.contains("--argjson n 256") {
        for c in doc["taskDefinition"]["containerDefinitions"]
            .as_array()
            .unwrap()
        {
            assert_eq!(c["cpu"], 256, "{}", c["name"]);
        }
    } else if segment.contains("GIT_SHA=$GIT_SHA") {
        assert_eq!(
            web(doc)["image"],
            "r.example/web@sha256:0f",
            "image.uri from oci-push"
        );
        assert_eq!(env(doc, "GIT_SHA").as_deref(), Some("0f3a9c1"));
        assert_eq!(
            doc["image"]["digest"], "sha256:0f",
            "oci-push's key passes through"
        );
    } else {
        panic!("help example with no expectation in help_examples.rs: {segment}");
    }
}

#[test]
fn every_help_example_runs() {
    let help = render().args(["--help"]).run().stdout;

    let dir = tempfile::tempdir().unwrap();
    let described = read_json(fixture("describe-app.json"));
    let mut bare = described["taskDefinition"].clone();
    bare["containerDefinitions"] = json!([bare["containerDefinitions"][0].clone()]);
    bare["containerDefinitions"][0]
        .as_object_mut()
        .unwrap()
        .remove("dependsOn");
    std::fs::create_dir_all(dir.path().join("ecs")).unwrap();
    std::fs::write(
        dir.path().join("ecs/task-definition.json"),
        serde_json::to_vec(&described).unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("td.json"),
        serde_json::to_vec(&bare).unwrap(),
    )
    .unwrap();
    // The examples' `--family web`.
    let mut registered = bare.clone();
    registered["family"] = json!("web");
    moto_ecs("RegisterTaskDefinition", &registered);

    let mut ran = 0;
    for command in deploy_tests::help_examples(&help, "Input") {
        let segments: Vec<&str> = command.split(" | ").map(str::trim).collect();
        for (i, segment) in segments.iter().enumerate() {
            if !segment.starts_with("taskdef-render") {
                continue;
            }
            let segment = segment.split(" > ").next().unwrap();
            let written = segment.to_string();
            let segment = segment
                .replace("$IMAGE", "registry.example/web:2")
                .replace("$GIT_SHA", "0f3a9c1");
            let args = shlex::split(&segment).unwrap_or_else(|| panic!("cannot split {segment:?}"));
            let stdin = match i.checked_sub(1).map(|p| segments[p]) {
                Some(prev) if prev.starts_with("aws ecs describe-task-definition") => serde_json::to_vec(&described).unwrap(),
                Some(prev) if prev.starts_with("oci-push") => serde_json::to_vec(&json!({"image": {
                    "registry": "r.example", "repository": "web", "digest": "sha256:0f", "tags": ["0f3a9c1"], "uri": "r.example/web@sha256:0f"
                }}))
                .unwrap(),
                _ => Vec::new(),
            };
            let out = render()
                .aws()
                .current_dir(dir.path())
                .args(&args[1..])
                .stdin(stdin)
                .run();
            assert_eq!(
                out.code, 0,
                "help example failed: {segment}\n{}",
                out.stderr
            );
            check(&written, &out.success(), dir.path());
            ran += 1;
        }
    }
    assert_eq!(ran, 5, "every example command ran, none more or fewer");
}
