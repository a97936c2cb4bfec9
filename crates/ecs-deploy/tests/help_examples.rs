//! Every command in `ecs-deploy --help` runs, as written (pipes included,
//! with taskdef-render and the aws CLI), against moto, in order, and does
//! what its example says; an example with no expectation below fails the
//! test. The two that steer a rollout in flight (--continue, --stop) run on
//! the scripted ECS endpoint, moto having no such rollout. Only the names
//! change: the cluster `prod` and the family `web`
//! become unique ones, so runs never meet; but for `--family web:1`, which
//! runs exactly as written, on the family `web` and cluster `prod` set up
//! for it.

use deploy_tests::{moto_ecs, read_json, root, unique, workspace_bin};
use serde_json::{Value, json};

fn check(command: &str, doc: &Value) {
    let service = |d: &Value| d["service"]["serviceName"].as_str().map(str::to_string);
    if command.contains("--plan") {
        assert_eq!(
            doc["plan"]["changes"][0]["service"], "web",
            "{command}: {doc}"
        );
        // The service runs r.example/web:2 already (the examples before):
        // nothing of the definition changes, ECS's defaults included.
        assert_eq!(
            doc["plan"]["changes"][0]["taskDefinition"]["paths"],
            json!([]),
            "{command}: {doc}"
        );
        assert!(
            doc["plan"]["changes"][0]["running"]["taskDefinition"].is_string(),
            "{command}: {doc}"
        );
        assert!(doc.get("service").is_none(), "{command}: nothing updated");
    } else if command.contains("--continue") {
        assert_eq!(
            doc["continued"]["hookId"], "approve-prod",
            "{command}: {doc}"
        );
        assert_eq!(doc["wait"]["status"], "deployed", "{command}: {doc}");
    } else if command.contains("--stop") {
        assert_eq!(doc["stopped"]["stopType"], "ABORT", "{command}: {doc}");
        assert_eq!(service(doc).as_deref(), Some("web"), "{command}");
    } else if command.contains("--family web:1") {
        // Run as written: the family `web` and cluster `prod` themselves.
        let arn = doc["taskDefinition"]["taskDefinitionArn"]
            .as_str()
            .unwrap_or_else(|| panic!("{command}: no taskDefinition in {doc}"));
        assert!(arn.ends_with(":task-definition/web:1"), "{command}: {arn}");
        assert_eq!(doc["service"]["taskDefinition"], arn, "{command}");
        assert_eq!(service(doc).as_deref(), Some("web"), "{command}");
        assert!(
            doc["service"]["clusterArn"]
                .as_str()
                .is_some_and(|c| c.ends_with(":cluster/prod")),
            "{command}: {doc}"
        );
        let described = moto_ecs(
            "DescribeServices",
            &json!({"cluster": "prod", "services": ["web"]}),
        );
        assert_eq!(
            described["services"][0]["taskDefinition"], arn,
            "{command}: moto's service prod/web runs web:1"
        );
    } else if command.contains("--rollback") {
        assert!(doc["rollback"]["method"].is_string(), "{command}: {doc}");
        assert_eq!(service(doc).as_deref(), Some("web"), "{command}");
    } else if command.contains("--service web --service worker") {
        let names: Vec<&str> = doc["services"]
            .as_array()
            .unwrap_or_else(|| panic!("{command}: no services in {doc}"))
            .iter()
            .map(|s| s["serviceName"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["web", "worker"], "{command}");
    } else if !command.contains("--service") {
        assert!(
            doc["taskDefinition"]["taskDefinitionArn"].is_string(),
            "{command}: {doc}"
        );
        assert!(
            doc.get("service").is_none(),
            "{command}: no service to update"
        );
    } else if command.contains("--wait") {
        assert_eq!(doc["wait"]["status"], "deployed", "{command}: {doc}");
        if command.contains("--verify error") {
            assert_eq!(doc["verify"]["mode"], "error", "{command}: {doc}");
            assert!(
                doc["verify"]["checks"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|c| c["name"] == "fit" && c["status"] == "ok"),
                "{command}: {doc}"
            );
        }
        assert_eq!(service(doc).as_deref(), Some("web"), "{command}");
    } else if command.contains("--service web") {
        assert_eq!(service(doc).as_deref(), Some("web"), "{command}: {doc}");
        assert_eq!(
            doc["service"]["taskDefinition"], doc["taskDefinition"]["taskDefinitionArn"],
            "{command}: the service runs what was deployed"
        );
    } else {
        panic!("help example with no expectation in help_examples.rs: {command}");
    }
}

#[test]
fn every_help_example_runs() {
    let deploy = workspace_bin("ecs-deploy");
    let render = workspace_bin("taskdef-render");
    let help = deploy_tests::tool(&deploy).args(["--help"]).run().stdout;

    // The files and state the examples name: ecs/task-definition.json, a
    // family registered once, cluster `prod` with services web and worker.
    let cluster = unique("help-prod");
    let family = unique("help-web");
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("ecs")).unwrap();
    let mut definition = read_json(root().join("examples/task-definition.json"));
    definition["family"] = json!(family);
    std::fs::write(
        dir.path().join("ecs/task-definition.json"),
        serde_json::to_vec_pretty(&definition).unwrap(),
    )
    .unwrap();
    moto_ecs("RegisterTaskDefinition", &definition);
    moto_ecs("CreateCluster", &json!({"clusterName": cluster}));
    // Fargate services, as the definition requires (--plan checks the fit),
    // and what the definition names (--plan checks it exists).
    let (subnet, group) = deploy_tests::default_network();
    for name in ["web", "worker"] {
        moto_ecs(
            "CreateService",
            &json!({"cluster": cluster, "serviceName": name, "taskDefinition": family, "desiredCount": 1,
                "launchType": "FARGATE", "networkConfiguration": {"awsvpcConfiguration": {
                    "subnets": [subnet], "securityGroups": [group]}}}),
        );
    }
    deploy_tests::example_definition_world();
    // What the example that names no name of its own (`--family web:1
    // --cluster prod --service web`) needs, as it is written: revision 1 of
    // the family `web`, and the cluster `prod` with a service `web` (kept
    // when a run before this one, or tests/readme.rs, made them: moto
    // refuses a second CreateService).
    let (status, _) = deploy_tests::moto_try_call(
        "ecs",
        "DescribeTaskDefinition",
        &json!({"taskDefinition": "web:1"}),
    );
    if status != 200 {
        let mut web = definition.clone();
        web["family"] = json!("web");
        moto_ecs("RegisterTaskDefinition", &web);
    }
    moto_ecs("CreateCluster", &json!({"clusterName": "prod"}));
    deploy_tests::moto_try_call(
        "ecs",
        "CreateService",
        &json!({"cluster": "prod", "serviceName": "web", "taskDefinition": "web", "desiredCount": 1}),
    );

    let bin_dir = deploy.parent().unwrap().display().to_string();
    assert_eq!(render.parent().unwrap().display().to_string(), bin_dir);

    let mut ran = 0;
    for example in deploy_tests::help_examples(&help, "Input,") {
        // Steering a rollout in flight: moto has none, so these run as
        // written against the scripted ECS endpoint's paused rollout
        // (scripts/scenarios/pause-hook.json), one each.
        let scripted = (example.contains("--continue") || example.contains("--stop"))
            .then(|| deploy_tests::scripted::ScriptedEcs::start("pause-hook"));
        let command = if let Some(ecs) = &scripted {
            format!("export AWS_ENDPOINT_URL={}; {example}", ecs.endpoint)
        } else if example.contains("--family web:1") {
            example.clone()
        } else {
            example
                .replace("--cluster prod", &format!("--cluster {cluster}"))
                .replace(
                    "--task-definition web ",
                    &format!("--task-definition {family} "),
                )
        };
        assert!(
            command.contains("ecs-deploy"),
            "an example without ecs-deploy: {example}"
        );
        let (doc, _) = deploy_tests::run_example(&example, &command, dir.path());
        check(&example, &doc);
        ran += 1;
    }
    assert_eq!(ran, 12, "every example ran, none more or fewer");
}
