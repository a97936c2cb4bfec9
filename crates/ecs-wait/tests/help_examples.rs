//! Every command in `ecs-wait --help` runs, as written (pipes included,
//! with ecs-deploy and the aws CLI), against moto, and does what its
//! example says; an example with no expectation below fails the test. Only
//! the names change: the cluster `prod` becomes a unique one.

use deploy_tests::{moto_ecs, read_json, root, unique, workspace_bin};
use serde_json::{Value, json};

fn check(command: &str, doc: &Value) {
    let names = |d: &Value| -> Vec<String> {
        d["waits"]
            .as_array()
            .unwrap_or_else(|| panic!("{command}: no waits in {d}"))
            .iter()
            .map(|w| {
                w["service"]
                    .as_str()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    if command.contains("--service web --service worker") {
        assert_eq!(names(doc), ["web", "worker"], "{command}");
    } else if command.contains("--until stable") {
        assert_eq!(doc["wait"]["status"], "stable", "{command}: {doc}");
    } else if command.starts_with("ecs-deploy") || command.starts_with("aws ecs update-service") {
        assert_eq!(doc["wait"]["status"], "deployed", "{command}: {doc}");
        assert_eq!(
            doc["wait"]["deployment"], doc["service"]["deployments"][0]["id"],
            "{command}: the deployment on stdin is followed"
        );
    } else {
        panic!("help example with no expectation in help_examples.rs: {command}");
    }
}

#[test]
fn every_help_example_runs() {
    let wait = env!("CARGO_BIN_EXE_ecs-wait");
    let deploy = workspace_bin("ecs-deploy");
    let help = deploy_tests::tool(wait).args(["--help"]).run().stdout;

    let cluster = unique("help-prod");
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("ecs")).unwrap();
    let mut definition = read_json(root().join("examples/task-definition.json"));
    definition["family"] = json!(unique("help-wait"));
    std::fs::write(
        dir.path().join("ecs/task-definition.json"),
        serde_json::to_vec_pretty(&definition).unwrap(),
    )
    .unwrap();
    moto_ecs("RegisterTaskDefinition", &definition);
    moto_ecs("CreateCluster", &json!({"clusterName": cluster}));
    for name in ["web", "worker"] {
        moto_ecs(
            "CreateService",
            &json!({"cluster": cluster, "serviceName": name, "taskDefinition": definition["family"], "desiredCount": 1}),
        );
    }
    // ecs-wait first on PATH, ecs-deploy beside it.
    let wait_dir = std::path::Path::new(wait)
        .parent()
        .unwrap()
        .display()
        .to_string();
    let deploy_dir = deploy.parent().unwrap().display().to_string();
    let path = format!(
        "{wait_dir}:{deploy_dir}:{}",
        std::env::var("PATH").unwrap_or_default()
    );

    let mut ran = 0;
    for example in deploy_tests::help_examples(&help, "What it follows:") {
        let command = example.replace("--cluster prod", &format!("--cluster {cluster}"));
        assert!(
            command.contains("ecs-wait"),
            "an example without ecs-wait: {example}"
        );
        let out = deploy_tests::tool("bash")
            .args(["-c", &format!("set -o pipefail; {command}")])
            .env("PATH", &path)
            .current_dir(dir.path())
            .aws()
            .run();
        assert_eq!(
            out.code, 0,
            "help example failed: {example}\n{}",
            out.stderr
        );
        let doc: Value = serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("{example}: not JSON ({e}): {}", out.stdout));
        check(&example, &doc);
        ran += 1;
    }
    assert_eq!(ran, 4, "every example ran");
}
