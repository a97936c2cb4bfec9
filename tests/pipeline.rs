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

/// Two containers and no --container: the first step fails with exit 2
/// and prints what it received with `error`. The second step has its own
/// input and would succeed on its own; it passes the report on instead, so
/// the last status tells even without pipefail.
#[test]
fn a_step_failing_with_nothing_to_report_stops_the_next_without_pipefail() {
    let render = workspace_bin("taskdef-render");
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.json");
    std::fs::write(
        &good,
        r#"{"family": "f", "containerDefinitions": [{"name": "a", "image": "i"}]}"#,
    )
    .unwrap();
    let script = format!(
        "echo '{{\"taskDefinition\": {{\"family\": \"f\", \"containerDefinitions\": [{{\"name\": \"a\", \"image\": \"i\"}}, {{\"name\": \"b\", \"image\": \"i\"}}]}}}}' \
         | {r} --image x:1 | {r} -t {good} --image y:1",
        r = render.display(),
        good = good.display()
    );
    let out = deploy_tests::tool("bash").args(["-c", &script]).run();
    let doc = out.failure_report(2);
    assert_eq!(doc["error"]["tool"], "taskdef-render");
    assert_eq!(
        doc["taskDefinition"]["containerDefinitions"][0]["image"], "i",
        "neither step applied its edits: {doc}"
    );
    let err = &out.stderr;
    assert!(
        err.contains("taskdef-render: task definition \"f\" has 2 containers (a, b): choose one with --container"),
        "{err}"
    );
    assert!(
        err.contains("taskdef-render: skipped: taskdef-render failed before it (exit 2)"),
        "{err}"
    );
}

/// An upstream step that failed with a report (played by its JSON, as
/// ecs-run will print it): every later step passes the object on untouched
/// and exits with its code, so the last status tells even without pipefail,
/// and no later step does its work.
#[test]
fn a_reported_failure_stops_every_later_step_without_pipefail() {
    let render = workspace_bin("taskdef-render");
    let report = r#"{"taskDefinition": {"family": "f", "containerDefinitions": [{"name": "a", "image": "old"}]}, "error": {"tool": "ecs-run", "message": "migration exited 1", "exitCode": 1}}"#;
    let script = format!(
        "echo '{report}' | {r} --image new:1 | {r} --env A=1",
        r = render.display()
    );
    let out = deploy_tests::tool("bash").args(["-c", &script]).run();
    let doc = out.failure_report(1);
    assert_eq!(
        doc,
        serde_json::from_str::<serde_json::Value>(report).unwrap(),
        "passed on unchanged: no step applied its edits"
    );
    assert_eq!(
        out.stderr
            .matches("taskdef-render: skipped: ecs-run failed before it (exit 1)")
            .count(),
        2,
        "{}",
        out.stderr
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

/// The real pipe, as the README's pipeline writes it: ecr-login logs in to
/// moto's ECR, oci-push takes the registry from its object and pushes to
/// the local registry that registries.conf puts behind that ECR name (it
/// takes moto's ECR login), and taskdef-render puts the pushed image in the
/// task definition under its ECR name.
#[test]
fn ecr_login_then_oci_push_then_taskdef_render() {
    use deploy_tests::images::{Compression, Image, oci_layout};
    let emu = deploy_tests::emulators();
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("image");
    let digests = oci_layout(&layout, &[("v1", &Image::small("pipe"))], Compression::Gzip);
    let ecr = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
    let conf = dir.path().join("registries.conf");
    std::fs::write(
        &conf,
        format!(
            "[[registry]]\nprefix = \"{ecr}\"\nlocation = \"{}\"\n",
            emu.registry_auth
        ),
    )
    .unwrap();
    let td = dir.path().join("td.json");
    std::fs::write(
        &td,
        r#"{"family": "web", "containerDefinitions": [{"name": "web", "image": "placeholder"}]}"#,
    )
    .unwrap();
    let repository = unique("web");
    let script = format!(
        "set -euo pipefail
         {login} | {push} --from {layout} --repository {repository} --tag 1 --registries-conf {conf} --create-repository \
           | {render} -t {td} --container web",
        login = workspace_bin("ecr-login").display(),
        push = workspace_bin("oci-push").display(),
        render = workspace_bin("taskdef-render").display(),
        layout = layout.display(),
        conf = conf.display(),
        td = td.display(),
    );
    let out = deploy_tests::tool("bash").args(["-c", &script]).aws().run();
    let doc = out.success();
    let uri = format!("{ecr}/{repository}@{}", digests[0]);
    assert_eq!(doc["registry"]["endpoint"], ecr);
    assert_eq!(doc["image"]["uri"], uri);
    assert_eq!(
        doc["taskDefinition"]["containerDefinitions"][0]["image"],
        uri
    );
    assert!(!out.stderr.contains("auth-token") && !out.stdout.contains("auth-token"));
    // The local registry holds it, under the login moto's ECR handed out.
    let read_back = deploy_tests::tool("skopeo")
        .args([
            "inspect",
            "--raw",
            "--tls-verify=false",
            "--creds",
            "AWS:123456789012-auth-token",
        ])
        .args([format!("docker://{}/{repository}:1", emu.registry_auth)])
        .run();
    assert_eq!(read_back.code, 0, "{}", read_back.stderr);
    assert_eq!(
        deploy_tests::images::sha256(read_back.stdout.as_bytes()),
        digests[0]
    );
}

/// A cluster of its own with a service `web` running `examples/task-definition.json`
/// under a fresh family: (cluster, family).
fn deployed_example(prefix: &str) -> (String, String) {
    let family = register_example(prefix);
    let cluster = unique("cluster");
    moto_ecs("CreateCluster", &json!({"clusterName": cluster}));
    moto_ecs(
        "CreateService",
        &json!({"cluster": cluster, "serviceName": "web", "taskDefinition": family, "desiredCount": 1}),
    );
    (cluster, family)
}

#[test]
fn taskdef_render_into_ecs_deploy_registers_and_updates() {
    let (cluster, family) = deployed_example("render-deploy");
    let script = format!(
        "set -o pipefail; {r} --family {family} --container web --image r.example/web:2 \
         | {d} --cluster {cluster} --service web",
        r = workspace_bin("taskdef-render").display(),
        d = workspace_bin("ecs-deploy").display(),
    );
    let doc = deploy_tests::tool("bash")
        .args(["-c", &script])
        .aws()
        .run()
        .success();
    let arn = doc["taskDefinition"]["taskDefinitionArn"].as_str().unwrap();
    assert!(
        arn.ends_with(&format!("task-definition/{family}:2")),
        "{arn}"
    );
    assert_eq!(doc["service"]["taskDefinition"], arn);
    assert_eq!(
        doc["taskDefinition"]["containerDefinitions"][0]["image"],
        "r.example/web:2"
    );
}

#[test]
fn the_aws_cli_describe_output_into_ecs_deploy() {
    let (cluster, family) = deployed_example("describe-deploy");
    let script = format!(
        "set -o pipefail; aws ecs describe-task-definition --task-definition {family} --include TAGS \
         | jq '.taskDefinition.containerDefinitions[0].image = \"r.example/web:3\"' \
         | {d} --cluster {cluster} --service web",
        d = workspace_bin("ecs-deploy").display(),
    );
    let doc = deploy_tests::tool("bash")
        .args(["-c", &script])
        .aws()
        .run()
        .success();
    let arn = doc["taskDefinition"]["taskDefinitionArn"].as_str().unwrap();
    assert!(
        arn.ends_with(&format!("task-definition/{family}:2")),
        "{arn}"
    );
    assert_eq!(doc["service"]["taskDefinition"], arn);
    assert_eq!(
        doc["taskDefinition"]["tags"],
        json!([{"key": "app", "value": "demo"}])
    );
}

#[test]
fn the_aws_cli_describe_output_unchanged_deploys_that_revision() {
    let (cluster, family) = deployed_example("describe-same");
    let script = format!(
        "set -o pipefail; aws ecs describe-task-definition --task-definition {family} --include TAGS \
         | {d} --cluster {cluster} --service web",
        d = workspace_bin("ecs-deploy").display(),
    );
    let out = deploy_tests::tool("bash").args(["-c", &script]).aws().run();
    let doc = out.success();
    let arn = doc["taskDefinition"]["taskDefinitionArn"].as_str().unwrap();
    assert!(
        arn.ends_with(&format!("task-definition/{family}:1")),
        "{arn}: {}",
        out.stderr
    );
    assert!(out.stderr.contains("nothing registered"), "{}", out.stderr);
}

/// Without --include TAGS the aws CLI prints no tags: the revision it
/// names keeps its tags, and an unchanged one is not registered again.
#[test]
fn describe_output_without_tags_keeps_the_revisions_tags() {
    let (cluster, family) = deployed_example("describe-no-tags");
    let script = format!(
        "set -o pipefail; aws ecs describe-task-definition --task-definition {family} \
         | {d} --cluster {cluster} --service web",
        d = workspace_bin("ecs-deploy").display(),
    );
    let out = deploy_tests::tool("bash").args(["-c", &script]).aws().run();
    let doc = out.success();
    let arn = doc["taskDefinition"]["taskDefinitionArn"].as_str().unwrap();
    assert!(
        arn.ends_with(&format!("task-definition/{family}:1")),
        "{arn}: {}",
        out.stderr
    );
    assert_eq!(
        doc["taskDefinition"]["tags"],
        json!([{"key": "app", "value": "demo"}])
    );
    // The revision it names is described once, for its tags and the
    // comparison both (the aws CLI asks by family; ecs-deploy by ARN).
    let by_arn = deploy_tests::moto_calls("ecs", "DescribeTaskDefinition")
        .into_iter()
        .filter(|body| body["taskDefinition"] == arn)
        .count();
    assert_eq!(by_arn, 1, "DescribeTaskDefinition of {arn}");
}

/// The design's pipeline, its last steps: render, deploy, wait; the wait
/// follows the deployment ecs-deploy's output names, to COMPLETED (moto
/// started with MOTO_ECS_SERVICE_RUNNING=1: a service of one task is).
#[test]
fn taskdef_render_into_ecs_deploy_into_ecs_wait() {
    let (cluster, family) = deployed_example("render-deploy-wait");
    let script = format!(
        "set -o pipefail; {r} --family {family} --container web --image r.example/web:2 \
         | {d} --cluster {cluster} --service web | {w} --timeout 1m",
        r = workspace_bin("taskdef-render").display(),
        d = workspace_bin("ecs-deploy").display(),
        w = workspace_bin("ecs-wait").display(),
    );
    let doc = deploy_tests::tool("bash")
        .args(["-c", &script])
        .aws()
        .run()
        .success();
    let keys: Vec<&String> = doc.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["taskDefinition", "service", "wait"]);
    assert_eq!(doc["wait"]["status"], "deployed");
    assert_eq!(
        doc["wait"]["deployment"],
        doc["service"]["deployments"][0]["id"]
    );
}

/// A rollout that never ends (two tasks wanted, moto runs one): ecs-wait
/// times out with exit 3, and its report is the pipe's output.
#[test]
fn ecs_deploy_into_ecs_wait_times_out_with_exit_3() {
    let family = register_example("deploy-wait-timeout");
    let cluster = unique("cluster");
    moto_ecs("CreateCluster", &json!({"clusterName": cluster}));
    moto_ecs(
        "CreateService",
        &json!({"cluster": cluster, "serviceName": "web", "taskDefinition": family, "desiredCount": 2}),
    );
    let script = format!(
        "{d} --family {family}:1 --cluster {cluster} --service web | {w} --timeout 3s",
        d = workspace_bin("ecs-deploy").display(),
        w = workspace_bin("ecs-wait").display(),
    );
    let out = deploy_tests::tool("bash").args(["-c", &script]).aws().run();
    let doc = out.failure_report(3);
    assert_eq!(doc["wait"]["status"], "timeout");
    assert_eq!(doc["wait"]["state"], "IN_PROGRESS");
    assert_eq!(doc["error"]["tool"], "ecs-wait");
}

/// ecs-deploy updating two services prints `services`; ecs-wait waits for
/// both and reports each in `waits`.
#[test]
fn ecs_deploy_of_two_services_into_ecs_wait_reports_both() {
    let (cluster, family) = deployed_example("deploy-two-wait");
    moto_ecs(
        "CreateService",
        &json!({"cluster": cluster, "serviceName": "worker", "taskDefinition": family, "desiredCount": 1}),
    );
    let script = format!(
        "set -o pipefail; {d} --family {family}:1 --cluster {cluster} --service web --service worker | {w}",
        d = workspace_bin("ecs-deploy").display(),
        w = workspace_bin("ecs-wait").display(),
    );
    let doc = deploy_tests::tool("bash")
        .args(["-c", &script])
        .aws()
        .run()
        .success();
    let waits = doc["waits"].as_array().expect("waits");
    assert_eq!(waits.len(), 2);
    for (w, name) in waits.iter().zip(["web", "worker"]) {
        assert!(
            w["service"]
                .as_str()
                .unwrap()
                .ends_with(&format!("/{name}")),
            "{w}"
        );
        assert_eq!(w["status"], "deployed");
    }
}
