//! Every command in `ecs-run --help` runs, as written (pipes included, with
//! taskdef-render and ecs-deploy), against moto, and does what its example
//! says; an example with no expectation below fails the test. Only names
//! change: the cluster `prod` and the family `web` become unique ones, the
//! revision `web:12` the one registered here, and `subnet-0abc`/`sg-0abc`
//! moto's default VPC's.

use deploy_tests::{moto_ecs, unique, workspace_bin};
use serde_json::{Value, json};

/// Where the examples run: (cluster, subnet, security group).
struct Place<'a> {
    cluster: &'a str,
    subnet: &'a str,
    group: &'a str,
}

fn check(example: &str, doc: &Value, stderr: &str, place: &Place<'_>) {
    let task = &doc["task"];
    assert_eq!(task["lastStatus"], "STOPPED", "{example}: {doc}");
    let containers: Vec<&str> = task["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    if example.contains("--service web") {
        // Migrated, then deployed: the service runs what was registered.
        assert_eq!(
            doc["service"]["taskDefinition"], doc["taskDefinition"]["taskDefinitionArn"],
            "{example}"
        );
    } else if example.contains("-c worker") {
        assert!(containers.contains(&"worker"), "{example}: {doc}");
        assert!(
            stderr.contains("(container \"worker\")"),
            "{example}: {stderr}"
        );
    } else if example.contains("--launch-type FARGATE") {
        assert!(task["taskArn"].is_string(), "{example}: {doc}");
        // What was asked of ECS: Fargate, in that subnet and group, the
        // command overridden (moto would place a task with none of it).
        let sent: Vec<Value> = deploy_tests::moto_calls("ecs", "RunTask")
            .into_iter()
            .filter(|b| {
                b["cluster"] == place.cluster
                    && b["overrides"]["containerOverrides"][0]["command"]
                        == json!(["./manage.py", "migrate"])
            })
            .collect();
        assert_eq!(sent.len(), 1, "{example}: {sent:?}");
        assert_eq!(sent[0]["launchType"], "FARGATE", "{example}");
        assert_eq!(
            sent[0]["networkConfiguration"],
            json!({"awsvpcConfiguration": {"subnets": [place.subnet], "securityGroups": [place.group]}}),
            "{example}"
        );
    } else {
        panic!("help example with no expectation in help_examples.rs: {example}");
    }
}

#[test]
fn every_help_example_runs() {
    let run = workspace_bin("ecs-run");
    let help = deploy_tests::tool(&run).args(["--help"]).run().stdout;
    let cluster = unique("help-run-prod");
    let family = unique("help-run-web");
    let (subnet, group) = deploy_tests::default_network();
    let definition = json!({
        "family": family, "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
        "cpu": "256", "memory": "512",
        "containerDefinitions": [
            {"name": "web", "image": "r.example/web:1", "memory": 256, "essential": true},
            {"name": "worker", "image": "r.example/web:1", "memory": 256, "essential": false}
        ]
    });
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("ecs")).unwrap();
    std::fs::write(
        dir.path().join("ecs/task-definition.json"),
        serde_json::to_vec_pretty(&definition).unwrap(),
    )
    .unwrap();
    moto_ecs("RegisterTaskDefinition", &definition);
    moto_ecs("CreateCluster", &json!({"clusterName": cluster}));
    moto_ecs(
        "CreateService",
        &json!({"cluster": cluster, "serviceName": "web", "taskDefinition": family,
            "desiredCount": 1, "launchType": "FARGATE",
            "networkConfiguration": {"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group]}}}),
    );
    let bin_dir = run.parent().unwrap().display().to_string();
    for tool in ["taskdef-render", "ecs-deploy"] {
        assert_eq!(
            workspace_bin(tool).parent().unwrap().display().to_string(),
            bin_dir
        );
    }

    let mut ran = 0;
    for example in deploy_tests::help_examples(&help, "Input:") {
        let command = example
            .replace("--cluster prod", &format!("--cluster {cluster}"))
            .replace("--family web:12", &format!("--family {family}:1"))
            .replace("--family web ", &format!("--family {family} "))
            .replace("subnet-0abc", &subnet)
            .replace("sg-0abc", &group);
        let (doc, stderr) = deploy_tests::run_example(&example, &command, dir.path());
        let place = Place {
            cluster: &cluster,
            subnet: &subnet,
            group: &group,
        };
        check(&example, &doc, &stderr, &place);
        ran += 1;
    }
    assert_eq!(ran, 3, "every example ran");
}
