//! Every example in `taskdef-render --help` runs, as written, in a directory
//! holding the files it names, so the help cannot drift from the tool.
//! What comes into a pipe from another tool (`aws ecs describe-task-definition`,
//! `oci-push`) is played by what that tool prints.

mod common;

use common::{fixture, render};
use deploy_tests::{moto_ecs, read_json};
use serde_json::json;

#[test]
fn every_help_example_runs() {
    let help = render().args(["--help"]).run().stdout;
    let examples = help.split("Examples:").nth(1).expect("an Examples section");
    let examples = examples.split("\n\nInput").next().unwrap().to_string();

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
    for command in commands(&examples) {
        let segments: Vec<&str> = command.split(" | ").map(str::trim).collect();
        for (i, segment) in segments.iter().enumerate() {
            if !segment.starts_with("taskdef-render") {
                continue;
            }
            let segment = segment.split(" > ").next().unwrap();
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
            ran += 1;
        }
    }
    assert!(ran >= 5, "ran only {ran} example commands");
}

/// The example commands: comment lines dropped, `\` continuations joined.
fn commands(examples: &str) -> Vec<String> {
    let mut commands = Vec::new();
    let mut current = String::new();
    for line in examples.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(part) => current.push_str(part),
            None => {
                current.push_str(line);
                commands.push(std::mem::take(&mut current));
            }
        }
    }
    commands
}
