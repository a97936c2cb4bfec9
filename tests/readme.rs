//! The README's pipelines, run as written (the whole job at the top, and
//! the "What works today" section), through bash, against
//! the emulators, with the tools from this checkout first on PATH. Each
//! block has its expectation below; a block without one fails the test, so
//! a pipeline added to the README is a test added here.

use deploy_tests::{moto_ecs, read_json, root, workspace_bin};
use serde_json::{Value, json};

/// The ```sh blocks between `heading` and the next `## ` heading.
fn blocks(heading: &str) -> Vec<String> {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let start = readme
        .find(heading)
        .unwrap_or_else(|| panic!("README has no {heading:?}"));
    let section = &readme[start..];
    let end = section[heading.len()..]
        .find("\n## ")
        .map_or(section.len(), |i| i + heading.len());
    section[..end]
        .split("```sh\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap().to_string())
        .collect()
}

fn web(td: &Value) -> &Value {
    td["containerDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "web")
        .expect("container web")
}

fn has_env(c: &Value, name: &str, value: &str) -> bool {
    c["environment"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|e| e["name"] == name && e["value"] == value)
}

#[test]
fn readme_pipelines_that_work_today() {
    let blocks = blocks("What works today");
    assert_eq!(
        blocks.len(),
        4,
        "a README pipeline without an expectation here: {blocks:#?}"
    );

    // The family the README's commands name, as a previous deploy left it.
    let mut td = read_json(root().join("examples/task-definition.json"));
    td["family"] = json!("web");
    moto_ecs("RegisterTaskDefinition", &td);

    let bin = workspace_bin("taskdef-render");
    workspace_bin("ecr-login");
    workspace_bin("ecs-deploy");
    workspace_bin("ecs-wait");
    // The cluster and service the deploy block names (kept when a run
    // before this one made them: moto refuses a second CreateService).
    moto_ecs("CreateCluster", &json!({"clusterName": "prod"}));
    deploy_tests::moto_try_call(
        "ecs",
        "CreateService",
        &json!({"cluster": "prod", "serviceName": "web", "taskDefinition": "web", "desiredCount": 1}),
    );
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let image = "registry.example/web@sha256:0f3a";
    for (i, block) in blocks.iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let out = deploy_tests::tool("bash")
            .args(["-c", &format!("set -euo pipefail\n{block}")])
            .aws()
            .env("PATH", &path)
            .env("IMAGE", image)
            .env("GIT_SHA", "0f3a9c1")
            .current_dir(dir.path())
            .run();
        assert_eq!(
            out.code, 0,
            "README block {i} failed:\n{block}\n{}",
            out.stderr
        );
        match i {
            // describe | taskdef-render --output-file td.json, then register.
            0 => {
                let registered = out.success();
                let c = web(&registered["taskDefinition"]);
                assert_eq!(c["image"], image);
                assert!(has_env(c, "GIT_SHA", "0f3a9c1"), "{c}");
                assert_eq!(registered["taskDefinition"]["family"], "web");
            }
            // ecr-login | jq -r .registry.endpoint
            1 => {
                assert_eq!(out.stdout, "123456789012.dkr.ecr.us-east-1.amazonaws.com\n");
                assert!(!out.stderr.contains("auth-token"), "no password on stderr");
            }
            // taskdef-render --family | jq .taskDefinition > td.json
            2 => {
                let rendered = read_json(dir.path().join("td.json"));
                assert_eq!(web(&rendered)["image"], image);
                assert!(
                    rendered.get("taskDefinitionArn").is_none(),
                    "read-only fields removed"
                );
            }
            // describe | taskdef-render | ecs-deploy | ecs-wait
            3 => {
                let doc = out.success();
                assert_eq!(web(&doc["taskDefinition"])["image"], image);
                assert_eq!(
                    doc["service"]["taskDefinition"],
                    doc["taskDefinition"]["taskDefinitionArn"]
                );
                assert_eq!(doc["wait"]["status"], "deployed");
            }
            _ => unreachable!(),
        }
    }
}

/// The whole job at the top of the README, as written: every tool, with
/// pipes, on moto and the registry standing behind the ECR name.
#[test]
fn the_whole_pipeline_at_the_top_runs_as_written() {
    let block = blocks("## The pipeline")
        .into_iter()
        .next()
        .expect("the README's first pipeline");
    assert!(block.contains("ecs-wait"), "{block}");
    let dir = tempfile::tempdir().unwrap();
    deploy_tests::images::docker_save(
        &dir.path().join("image.tar"),
        &deploy_tests::images::Image::small("readme-top"),
        "web:1",
        deploy_tests::images::DockerSave::Classic,
    );
    std::fs::create_dir(dir.path().join("ecs")).unwrap();
    let mut td = read_json(root().join("examples/task-definition.json"));
    td["family"] = json!("web");
    std::fs::write(
        dir.path().join("ecs/task-definition.json"),
        serde_json::to_vec_pretty(&td).unwrap(),
    )
    .unwrap();
    moto_ecs("RegisterTaskDefinition", &td);
    moto_ecs("CreateCluster", &json!({"clusterName": "prod"}));
    deploy_tests::moto_try_call(
        "ecs",
        "CreateService",
        &json!({"cluster": "prod", "serviceName": "web", "taskDefinition": "web", "desiredCount": 1}),
    );
    deploy_tests::moto_try_call("ecr", "CreateRepository", &json!({"repositoryName": "web"}));
    let ecr = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
    std::fs::write(
        dir.path().join("registries.conf"),
        format!(
            "[[registry]]\nprefix = \"{ecr}\"\nlocation = \"{}\"\n",
            deploy_tests::emulators().registry_auth
        ),
    )
    .unwrap();
    let bin = workspace_bin("ecs-wait");
    for tool in ["ecr-login", "oci-push", "taskdef-render", "ecs-deploy"] {
        workspace_bin(tool);
    }
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = deploy_tests::tool("bash")
        .args(["-c", &format!("set -euo pipefail\n{block}")])
        .aws()
        .env("PATH", &path)
        .env("GIT_SHA", "0f3a9c1")
        .env(
            "CONTAINERS_REGISTRIES_CONF",
            dir.path().join("registries.conf"),
        )
        .current_dir(dir.path())
        .run();
    let doc = out.success();
    let digest = doc["image"]["digest"].as_str().unwrap();
    assert_eq!(
        web(&doc["taskDefinition"])["image"],
        format!("{ecr}/web@{digest}")
    );
    assert!(has_env(web(&doc["taskDefinition"]), "GIT_SHA", "0f3a9c1"));
    assert_eq!(
        doc["service"]["taskDefinition"],
        doc["taskDefinition"]["taskDefinitionArn"]
    );
    assert_eq!(doc["wait"]["status"], "deployed");
}

/// The stream contract's loop, as written: one render a line of the list,
/// none of them eating the rest of it (`-n`).
#[test]
fn the_stream_contracts_loop_runs_as_written() {
    let blocks = blocks("## The stream contract");
    assert_eq!(blocks.len(), 1, "{blocks:#?}");
    // The block is indented under its list item.
    let block: String = blocks[0]
        .lines()
        .map(|l| l.strip_prefix("  ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(block.contains("taskdef-render -n"), "{block}");
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("ecs")).unwrap();
    std::fs::create_dir(dir.path().join("out")).unwrap();
    std::fs::copy(
        root().join("examples/task-definition.json"),
        dir.path().join("ecs/task-definition.json"),
    )
    .unwrap();
    std::fs::write(dir.path().join("containers.txt"), "web\nmetrics\n").unwrap();
    let bin = workspace_bin("taskdef-render");
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = deploy_tests::tool("bash")
        .args(["-c", &format!("set -euo pipefail\n{block}")])
        .env("PATH", &path)
        .env("GIT_SHA", "0f3a9c1")
        .current_dir(dir.path())
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    for container in ["web", "metrics"] {
        let td = read_json(dir.path().join(format!("out/{container}.json")));
        let c = td["containerDefinitions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == container)
            .unwrap();
        assert!(has_env(c, "GIT_SHA", "0f3a9c1"), "{container}: {c}");
    }
}
