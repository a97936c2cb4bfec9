//! `make demo`, the README's first command, as a new user runs it: its
//! script (scripts/demo.sh) with its own emulators, on this run's build
//! (DEMO_BUILD=0 and DEMO_BIN: the test run built the tools; workspace_bin
//! checks they are fresh), its files in a temporary DEMO_DIR.

use std::time::Duration;

use deploy_tests::{read_json, root, workspace_bin};

#[test]
fn make_demo_pushes_the_layout_and_the_service_runs_its_digest() {
    let mut bin = None;
    for tool in [
        "ecr-login",
        "oci-push",
        "taskdef-render",
        "ecs-deploy",
        "ecs-wait",
    ] {
        bin = workspace_bin(tool)
            .parent()
            .map(std::path::Path::to_path_buf);
    }
    // A directory with a space: the demo and the emulators' env file quote it.
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().join("demo dir");
    let out = deploy_tests::tool("bash")
        .args(["scripts/demo.sh"])
        .current_dir(root())
        .env("DEMO_DIR", &dir)
        .env("DEMO_BUILD", "0")
        .env("DEMO_BIN", bin.unwrap())
        .env_remove("EMULATORS_DIR")
        .timeout(Duration::from_secs(240))
        .run();
    let doc = out.success();
    // The image is the OCI layout the demo made, pushed as it is.
    let index = read_json(dir.join("image/index.json"));
    let digest = &index["manifests"][0]["digest"];
    assert_eq!(&doc["image"]["digest"], digest, "{}", out.stderr);
    let uri = format!(
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/web@{}",
        digest.as_str().unwrap()
    );
    assert_eq!(doc["image"]["uri"], uri);
    assert_eq!(doc["image"]["tags"].as_array().unwrap().len(), 2);
    // Registered as demo-web:2 with that image; the service updated to it
    // and its deployment followed to the end.
    let td = &doc["taskDefinition"];
    assert!(
        td["taskDefinitionArn"]
            .as_str()
            .unwrap()
            .ends_with(":task-definition/demo-web:2"),
        "{td}"
    );
    assert_eq!(td["containerDefinitions"][0]["image"], uri);
    assert_eq!(doc["service"]["taskDefinition"], td["taskDefinitionArn"]);
    assert_eq!(doc["wait"]["status"], "deployed");
    assert_eq!(doc["wait"]["servingRevision"], td["taskDefinitionArn"]);
    // What the demo shows afterwards, from moto, and that it stopped its
    // emulators.
    assert!(
        out.stderr.contains("task-definition/demo-web:2\""),
        "describe-services after the pipeline: {}",
        out.stderr
    );
    // Act 2, a failure shown: the crashed container's last lines, its
    // password masked, and the job summary with them.
    for line in [
        "ecs-wait: web:   container web: its last 4 log lines:",
        "ecs-wait: web:     | connecting to ***",
        "ecs-wait: web:     | Error: connect ECONNREFUSED 10.0.3.7:5432",
        "ecs-wait exited 1: the rollout failed, as this act meant it to",
        "   | ### ecs-wait: failed",
    ] {
        assert!(out.stderr.contains(line), "{line:?} not in: {}", out.stderr);
    }
    assert!(!out.stderr.contains("demo-s3cret"), "{}", out.stderr);
    let failed = read_json(dir.join("failed-rollout.json"));
    assert_eq!(failed["wait"]["status"], "failed", "{failed}");
    assert_eq!(
        failed["wait"]["stoppedTasks"][0]["containers"][0]["lastLogLines"][1],
        "connecting to ***"
    );
    assert!(
        out.stderr.trim_end().ends_with("emulators: stopped"),
        "{}",
        out.stderr
    );
}
