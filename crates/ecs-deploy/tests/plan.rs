//! `ecs-deploy --plan` on moto: what a deploy would change against what
//! the service runs, with every environment value and secret hidden,
//! changing nothing; and a deploy handed the plan's object that refuses
//! when the service moved since.

mod common;

use common::{cluster, definition, deploy, deployed, described, register, revisions, short};
use deploy_tests::images::{Compression, Image, oci_layout, oci_layout_multi};
use deploy_tests::{ECR, emulators, moto_call, moto_call_in, moto_ecs, moto_try_call};
use serde_json::{Value, json};

/// As `common::deployed`, but the service runs on Fargate as the fixture
/// requires, and its log group and secret exist: a plan whose checks pass.
fn deployed_on_fargate() -> (String, String, Value) {
    let mut td = definition();
    td.as_object_mut().unwrap().remove("enableFaultInjection");
    td["containerDefinitions"][0]["secrets"][0]["valueFrom"] =
        json!(secret_holding("postgres://app:hunter2@db/app"));
    let arn = register(&td);
    let cluster = cluster();
    let (subnet, group) = deploy_tests::default_network();
    moto_ecs(
        "CreateService",
        &json!({"cluster": cluster, "serviceName": "web", "taskDefinition": arn, "desiredCount": 1,
            "launchType": "FARGATE", "networkConfiguration": {"awsvpcConfiguration": {
                "subnets": [subnet], "securityGroups": [group]}}}),
    );
    let _ = moto_try_call(
        "logs",
        "CreateLogGroup",
        &json!({"logGroupName": "/ecs/web"}),
    );
    deploy_tests::role_trusting("web-execution", "ecs-tasks.amazonaws.com");
    (cluster, td["family"].as_str().unwrap().to_string(), td)
}

/// A new Secrets Manager secret on moto holding `value`: its ARN (with the
/// random suffix moto gives it, as AWS does).
fn secret_holding(value: &str) -> String {
    moto_call(
        "secretsmanager",
        "CreateSecret",
        &json!({"Name": deploy_tests::unique("db"), "SecretString": value}),
    )["ARN"]
        .as_str()
        .unwrap()
        .to_string()
}

/// `web`'s secrets set to `secrets` (name, valueFrom).
fn with_secrets(td: &Value, secrets: &[(&str, &str)]) -> Value {
    let mut td = td.clone();
    td["containerDefinitions"][0]["secrets"] = secrets
        .iter()
        .map(|(name, from)| json!({"name": name, "valueFrom": from}))
        .collect();
    td
}

/// The checks named `name`.
fn checks<'a>(doc: &'a Value, name: &str) -> Vec<&'a Value> {
    doc["plan"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["name"] == name)
        .collect()
}

/// Asserts that nothing the run printed holds `value`.
#[track_caller]
fn never_shown(out: &deploy_tests::Output, value: &str) {
    assert!(
        !out.stdout.contains(value) && !out.stderr.contains(value),
        "{value} shown:\n{}\n{}",
        out.stdout,
        out.stderr
    );
}

/// The secret calls moto received that name `id`: `(action, body)`.
fn secret_calls_naming(id: &str) -> Vec<(String, Value)> {
    let mut calls = Vec::new();
    for (service, actions) in [
        (
            "secretsmanager",
            &["DescribeSecret", "GetSecretValue", "BatchGetSecretValue"][..],
        ),
        (
            "ssm",
            &[
                "DescribeParameters",
                "GetParameter",
                "GetParameters",
                "GetParametersByPath",
            ][..],
        ),
    ] {
        for action in actions {
            for body in deploy_tests::moto_calls(service, action) {
                if body.to_string().contains(id) {
                    calls.push((action.to_string(), body));
                }
            }
        }
    }
    calls
}

/// `--plan` of `td` to service `web` of `cluster`, with the fixture's
/// images in the open registry ([`images`]).
fn plan(cluster: &str, td: &Value) -> deploy_tests::Output {
    deploy()
        .env("CONTAINERS_REGISTRIES_CONF", images())
        .args(["--cluster", cluster, "--service", "web", "--plan"])
        .stdin_json(&json!({"taskDefinition": td}))
        .run()
}

/// Where the open registry holds the plans' images: moto's ECR name and
/// public.ecr.aws, as the registries.conf returned says.
const IMAGES_AT: &str = "plan-images";

/// Pushes `images` (one: a single manifest; more: an index of them) to
/// the open registry as `IMAGES_AT/repository:tag`.
fn push(repository: &str, images: &[&Image]) {
    let dir = tempfile::tempdir().unwrap();
    if let [one] = images {
        oci_layout(dir.path(), &[("it", one)], Compression::Gzip);
    } else {
        oci_layout_multi(dir.path(), "it", images, Compression::Gzip);
    }
    let dest = format!("docker://{}/{IMAGES_AT}/{repository}", emulators().registry);
    let source = format!("oci:{}:it", dir.path().display());
    let out = deploy_tests::tool("skopeo")
        .args(["copy", "--all", "--dest-tls-verify=false", &source, &dest])
        .run();
    assert_eq!(out.code, 0, "skopeo copy to {dest}: {}", out.stderr);
}

/// The fixture's two images (linux/amd64 and linux/arm64 each, as its
/// runtimePlatform wants ARM64) in the open registry, once; the
/// registries.conf that puts moto's ECR name and public.ecr.aws there.
fn images() -> &'static std::path::Path {
    static CONF: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    CONF.get_or_init(|| {
        let both = |seed: &str| {
            [
                Image::small(seed),
                Image::small(seed).for_platform("linux", "arm64"),
            ]
        };
        let [amd, arm] = both("plan-web");
        push("web:1", &[&amd, &arm]);
        let [amd, arm] = both("plan-otel");
        push("aws-observability/aws-otel-collector:v0.40.0", &[&amd, &arm]);
        let dir = std::env::temp_dir().join(deploy_tests::unique("plan-registries"));
        std::fs::create_dir_all(&dir).unwrap();
        let conf = dir.join("registries.conf");
        let at = format!("{}/{IMAGES_AT}", emulators().registry);
        std::fs::write(
            &conf,
            format!(
                "[[registry]]\nprefix = \"{ECR}\"\nlocation = \"{at}\"\n\n[[registry]]\nprefix = \"public.ecr.aws\"\nlocation = \"{at}\"\n"
            ),
        )
        .unwrap();
        conf
    })
}

fn check<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["plan"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no {name} check: {doc}"))
}

/// The revision service `web` of `cluster` runs (`family:N`).
fn runs(cluster: &str) -> String {
    short(&described(cluster, "web")["taskDefinition"])
}

/// `check` has `status` and its detail says `fragment`.
#[track_caller]
fn says(check: &Value, status: &str, fragment: &str) {
    assert_eq!(check["status"], status, "{check}");
    assert!(
        check["detail"].as_str().unwrap().contains(fragment),
        "not {fragment:?}: {check}"
    );
}

/// The definition the service runs, with `web`'s environment set.
fn with_env(td: &Value, env: &[(&str, &str)]) -> Value {
    let mut td = td.clone();
    td["containerDefinitions"][0]["environment"] = env
        .iter()
        .map(|(k, v)| json!({"name": k, "value": v}))
        .collect();
    td
}

#[test]
fn a_plan_shows_what_changes_hides_every_value_and_changes_nothing() {
    let (cluster, family, td) = deployed_on_fargate();
    // The service runs revision 2, with the old password.
    let running = with_env(&td, &[("DB_PASSWORD", "old-pass-123"), ("MODE", "blue")]);
    let arn = register(&running);
    moto_ecs(
        "UpdateService",
        &json!({"cluster": cluster, "service": "web", "taskDefinition": arn}),
    );
    let mut next = with_env(&td, &[("DB_PASSWORD", "new-pass-456"), ("MODE", "blue")]);
    next["containerDefinitions"][0]["image"] = json!("web:9");
    let before = revisions(&family, "ACTIVE");
    let out = deploy()
        .args(["--cluster", &cluster, "--service", "web", "--plan"])
        .stdin_json(&json!({"taskDefinition": next}))
        .run();
    let doc = out.success();
    let change = &doc["plan"]["changes"][0];
    assert_eq!(
        short(&change["running"]["taskDefinition"]),
        short(&json!(arn))
    );
    let paths = change["taskDefinition"]["paths"].as_array().unwrap();
    let at = |p: &str| paths.iter().find(|c| c["path"] == p).cloned();
    let image = at("containerDefinitions[web].image").expect("the image changes");
    assert_eq!(image["new"], "web:9");
    let password = at("containerDefinitions[web].environment[DB_PASSWORD].value")
        .expect("the password changes");
    assert_eq!(password["old"], "(old value)");
    assert_eq!(password["new"], "(new value)");
    assert!(
        paths.iter().all(|c| !c["path"]
            .as_str()
            .unwrap()
            .starts_with("containerDefinitions[web].environment[MODE]")),
        "{paths:?}"
    );
    for secret in ["old-pass-123", "new-pass-456"] {
        let shown = format!("{}{}", out.stderr, doc["plan"]);
        assert!(!shown.contains(secret), "{secret} shown: {shown}");
    }
    assert!(
        out.stderr.contains("+      \"image\": \"web:9\","),
        "the diff on stderr: {}",
        out.stderr
    );
    // Nothing registered, nothing updated.
    assert_eq!(revisions(&family, "ACTIVE"), before);
    assert_eq!(runs(&cluster), short(&json!(arn)));
    assert!(doc.get("service").is_none(), "{doc}");
}

/// What was approved is what gets deployed: the service moved after the
/// plan was made (another deploy), so the deploy from the plan's object
/// refuses, naming both revisions, and registers nothing.
#[test]
fn a_deploy_from_a_plan_refuses_when_the_service_moved_since() {
    let (cluster, family, mut td) = deployed_on_fargate();
    td["containerDefinitions"][0]["image"] = json!("web:2");
    let plan = deploy()
        .args(["--cluster", &cluster, "--service", "web", "--plan"])
        .stdin_json(&json!({"taskDefinition": td}))
        .run()
        .success();
    // Someone else deploys in between.
    let mut other = td.clone();
    other["containerDefinitions"][0]["image"] = json!("hotfix:1");
    let moved_to = register(&other);
    moto_ecs(
        "UpdateService",
        &json!({"cluster": cluster, "service": "web", "taskDefinition": moved_to}),
    );
    let before = revisions(&family, "ACTIVE");
    let out = deploy()
        .args(["--cluster", &cluster, "--service", "web"])
        .stdin_json(&plan)
        .run();
    let err = out.failure(1);
    assert!(
        err.contains(&format!(
            "service \"web\" moved since the plan: the plan saw {family}:1"
        )) && err.contains(&format!("it runs {family}:2")),
        "{err}"
    );
    assert_eq!(revisions(&family, "ACTIVE"), before, "nothing registered");
    assert_eq!(runs(&cluster), format!("{family}:2"));
}

/// The checks pass: the definition fits the Fargate service, its log
/// group exists.
#[test]
fn a_plan_s_checks_pass_when_the_definition_fits_and_its_log_group_exists() {
    let (cluster, _, td) = deployed_on_fargate();
    let doc = plan(&cluster, &td).success();
    assert_eq!(check(&doc, "fit")["status"], "ok", "{doc}");
    assert_eq!(check(&doc, "log group")["status"], "ok", "{doc}");
    let images: Vec<&Value> = doc["plan"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["name"] == "image")
        .collect();
    assert_eq!(images.len(), 2, "{doc}");
    for c in images {
        assert_eq!(c["status"], "ok", "{c}");
        assert!(
            c["detail"]
                .as_str()
                .unwrap()
                .ends_with("exists, with a linux/arm64 image in its index"),
            "{c}"
        );
    }
}

/// `td` with its first container's image `image` and its runtimePlatform
/// `architecture` (none: no runtimePlatform, which is linux/amd64).
fn with_image(td: &Value, image: &str, architecture: Option<&str>) -> Value {
    let mut td = td.clone();
    td["containerDefinitions"][0]["image"] = json!(image);
    match architecture {
        Some(a) => td["runtimePlatform"]["cpuArchitecture"] = json!(a),
        None => {
            td.as_object_mut().unwrap().remove("runtimePlatform");
        }
    }
    td
}

/// The image check of `doc` for `image`.
fn image_check<'a>(doc: &'a Value, image: &str) -> &'a Value {
    doc["plan"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "image" && c["detail"].as_str().unwrap().contains(image))
        .unwrap_or_else(|| panic!("no image check for {image}: {doc}"))
}

/// An image whose tag is not in its registry: the plan fails, exit 1.
#[test]
fn an_image_that_does_not_exist_fails_the_plan() {
    let (cluster, _, td) = deployed_on_fargate();
    let image = format!("{ECR}/web:never-pushed");
    let doc = plan(&cluster, &with_image(&td, &image, Some("ARM64"))).failure_report(1);
    let c = image_check(&doc, &image);
    says(c, "failed", "does not exist (MANIFEST_UNKNOWN)");
}

/// A two-platform index serves the task's platform, whichever it is.
#[test]
fn a_two_platform_index_passes_for_either_of_its_platforms() {
    let (cluster, _, td) = deployed_on_fargate();
    let image = format!("{ECR}/web:1");
    for (architecture, platform) in [(Some("ARM64"), "linux/arm64"), (None, "linux/amd64")] {
        let doc = plan(&cluster, &with_image(&td, &image, architecture)).success();
        let c = image_check(&doc, &image);
        says(c, "ok", &format!("with a {platform} image in its index"));
    }
}

/// An image built on an ARM laptop (an index of linux/arm64 and
/// linux/arm), for a task on X86_64: the plan fails naming the
/// platforms the index has.
#[test]
fn an_index_without_the_task_s_platform_fails_naming_its_platforms() {
    let (cluster, _, td) = deployed_on_fargate();
    let seed = deploy_tests::unique("arm-only");
    let v7 = Image::small(&seed).for_platform("linux", "arm");
    push(
        &format!("{seed}:1"),
        &[&Image::small(&seed).for_platform("linux", "arm64"), &v7],
    );
    let image = format!("{ECR}/{seed}:1");
    let doc = plan(&cluster, &with_image(&td, &image, Some("X86_64"))).failure_report(1);
    let c = image_check(&doc, &image);
    says(
        c,
        "failed",
        "has no linux/amd64 image: its index has linux/arm64, linux/arm",
    );
}

/// A single manifest's platform is in its config: an arm64 image under a
/// task with no runtimePlatform (linux/amd64) fails the plan.
#[test]
fn a_single_image_for_another_architecture_fails_the_plan() {
    let (cluster, _, td) = deployed_on_fargate();
    let seed = deploy_tests::unique("arm64");
    push(
        &format!("{seed}:1"),
        &[&Image::small(&seed).for_platform("linux", "arm64")],
    );
    let image = format!("{ECR}/{seed}:1");
    let doc = plan(&cluster, &with_image(&td, &image, None)).failure_report(1);
    let c = image_check(&doc, &image);
    assert_eq!(c["status"], "failed", "{doc}");
    assert!(
        c["detail"].as_str().unwrap().contains(
            "is for linux/arm64, the task runs on linux/amd64: its containers would stop with \"exec format error\""
        ),
        "{c}"
    );
    // The same image, for an ARM64 task: ok.
    let doc = plan(&cluster, &with_image(&td, &image, Some("ARM64"))).success();
    assert_eq!(
        image_check(&doc, &image)["detail"],
        format!("image {image} exists, for linux/arm64")
    );
}

/// A registry that takes the connection and never answers: the image is
/// not checked, saying so, and the plan goes on (the images are asked
/// together, each capped: a stall costs seconds, not the job).
#[test]
fn an_image_in_a_registry_that_never_answers_is_skipped() {
    let (cluster, _, td) = deployed_on_fargate();
    let host = deploy_tests::silent_endpoint().replace("http://", "");
    let image = format!("{host}/web:1");
    let doc = plan(&cluster, &with_image(&td, &image, None)).success();
    let c = image_check(&doc, &image);
    assert_eq!(c["status"], "skipped", "{doc}");
    assert!(
        c["detail"]
            .as_str()
            .unwrap()
            .starts_with(&format!("image {image} not checked: {host} did not answer")),
        "{c}"
    );
}

/// An image in a registry that wants a login: with none in the Docker
/// config, the check is skipped saying so and the plan passes; with the
/// login there (as ecr-login or docker login leaves it), it is checked.
#[test]
fn an_image_behind_a_login_is_checked_with_the_docker_config_s_credentials() {
    let (cluster, _, td) = deployed_on_fargate();
    let e = emulators();
    let seed = deploy_tests::unique("private");
    let dir = tempfile::tempdir().unwrap();
    oci_layout(
        dir.path(),
        &[("it", &Image::small(&seed))],
        Compression::Gzip,
    );
    let image = format!("{}/{seed}:1", e.registry_auth);
    let creds = format!("{}:{}", e.registry_user, e.registry_password);
    let out = deploy_tests::tool("skopeo")
        .args([
            "copy",
            "--dest-tls-verify=false",
            "--dest-creds",
            &creds,
            &format!("oci:{}:it", dir.path().display()),
            &format!("docker://{image}"),
        ])
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let td = with_image(&td, &image, None);
    let doc = plan(&cluster, &td).success();
    let c = image_check(&doc, &image);
    says(c, "skipped", "refused to read it (HTTP 401): log in first");
    use base64::Engine;
    let auth = base64::engine::general_purpose::STANDARD.encode(&creds);
    let run = deploy()
        .env("CONTAINERS_REGISTRIES_CONF", images())
        .args(["--cluster", &cluster, "--service", "web", "--plan"])
        .stdin_json(&json!({"taskDefinition": td}));
    std::fs::write(
        run.home().join(".docker/config.json"),
        json!({"auths": {e.registry_auth.clone(): {"auth": auth}}}).to_string(),
    )
    .unwrap();
    let out = run.run();
    let doc = out.success();
    assert_eq!(
        image_check(&doc, &image)["detail"],
        format!("image {image} exists, for linux/amd64")
    );
    for shown in [&e.registry_password, &auth] {
        assert!(
            !out.stdout.contains(shown.as_str()) && !out.stderr.contains(shown.as_str()),
            "the login is shown"
        );
    }
    // A login the registry refuses (expired, wrong) is said as such.
    let wrong = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:not-the-password", e.registry_user));
    let run = deploy()
        .env("CONTAINERS_REGISTRIES_CONF", images())
        .args(["--cluster", &cluster, "--service", "web", "--plan"])
        .stdin_json(&json!({"taskDefinition": td}));
    std::fs::write(
        run.home().join(".docker/config.json"),
        json!({"auths": {e.registry_auth.clone(): {"auth": wrong}}}).to_string(),
    )
    .unwrap();
    let doc = run.run().success();
    says(
        image_check(&doc, &image),
        "skipped",
        "refused the login stored for it in the Docker config (HTTP 401): expired or wrong?",
    );
}

/// A definition that requires Fargate, for a service on EC2: a bad input,
/// exit 2, the object printed with the plan.
#[test]
fn a_definition_that_does_not_fit_the_service_s_launch_type_is_exit_2() {
    let (cluster, _, td) = deployed();
    let out = plan(&cluster, &td);
    let doc = out.failure_report(2);
    let fit = check(&doc, "fit");
    assert_eq!(fit["status"], "failed");
    assert!(
        fit["detail"]
            .as_str()
            .unwrap()
            .contains("the service runs on EC2, the definition requires FARGATE"),
        "{fit}"
    );
}

/// A Fargate task size Fargate does not run: exit 2, naming the sizes it
/// does.
#[test]
fn a_fargate_size_fargate_does_not_run_is_exit_2_naming_the_sizes() {
    let (cluster, _, mut td) = deployed_on_fargate();
    td["cpu"] = json!("256");
    td["memory"] = json!("4096");
    let out = plan(&cluster, &td);
    let doc = out.failure_report(2);
    assert!(
        check(&doc, "fit")["detail"]
            .as_str()
            .unwrap()
            .contains("with CPU 256, memory is 512, 1024 or 2048 (MiB)"),
        "{doc}"
    );
}

/// A log group that does not exist (and is not created by the driver):
/// the plan fails, exit 1.
#[test]
fn a_log_group_that_does_not_exist_fails_the_plan() {
    let (cluster, _, mut td) = deployed_on_fargate();
    let group = deploy_tests::unique("/ecs/missing");
    td["containerDefinitions"][0]["logConfiguration"]["options"]["awslogs-group"] = json!(group);
    let out = plan(&cluster, &td);
    let doc = out.failure_report(1);
    let logs = check(&doc, "log group");
    says(logs, "failed", &format!("log group {group} does not exist"));
    // With awslogs-create-group true, ECS makes it: no check.
    td["containerDefinitions"][0]["logConfiguration"]["options"]["awslogs-create-group"] =
        json!("true");
    let doc = plan(&cluster, &td).success();
    assert!(
        doc["plan"]["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["name"] != "log group"),
        "{doc}"
    );
}

/// The roles check: the execution role exists and trusts ECS tasks; one
/// that trusts another service fails the plan (exit 1).
#[test]
fn a_role_that_does_not_trust_ecs_tasks_fails_the_plan() {
    let (cluster, _, mut td) = deployed_on_fargate();
    let doc = plan(&cluster, &td).success();
    assert_eq!(check(&doc, "role")["status"], "ok", "{doc}");
    let lambda = deploy_tests::unique("lambda-role");
    deploy_tests::role_trusting(&lambda, "lambda.amazonaws.com");
    td["executionRoleArn"] = json!(format!("arn:aws:iam::123456789012:role/{lambda}"));
    let doc = plan(&cluster, &td).failure_report(1);
    let role = check(&doc, "role");
    assert_eq!(role["status"], "failed", "{doc}");
    assert!(
        role["detail"].as_str().unwrap().contains(&format!(
            "executionRoleArn {lambda} does not trust ecs-tasks.amazonaws.com"
        )),
        "{role}"
    );
}

/// A role that does not exist (named with a path) fails the plan.
#[test]
fn a_role_that_does_not_exist_fails_the_plan() {
    let (cluster, _, mut td) = deployed_on_fargate();
    let missing = deploy_tests::unique("nosuch-role");
    td["taskRoleArn"] = json!(format!("arn:aws:iam::123456789012:role/app/{missing}"));
    let doc = plan(&cluster, &td).failure_report(1);
    let failed: Vec<&Value> = doc["plan"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["name"] == "role" && c["status"] == "failed")
        .collect();
    assert_eq!(failed.len(), 1, "{doc}");
    assert_eq!(
        failed[0]["detail"],
        format!("taskRoleArn {missing} does not exist")
    );
}

/// The checks' reads are optional: a role allowed only what a plan needs
/// (on the moto that enforces IAM) gets the log group, role and secret
/// checks `skipped`, each naming the permission, and the plan passes.
#[test]
fn checks_the_caller_may_not_make_are_skipped_naming_the_permission() {
    use deploy_tests::iam;
    let td = {
        let mut td = definition();
        td.as_object_mut().unwrap().remove("enableFaultInjection");
        // The fixture's Secrets Manager secret, and an SSM parameter.
        td["containerDefinitions"][0]["secrets"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "TOKEN", "valueFrom": "/app/token"}));
        td
    };
    let arn = iam::admin_json("ecs", "RegisterTaskDefinition", &td)["taskDefinition"]
        ["taskDefinitionArn"]
        .as_str()
        .unwrap()
        .to_string();
    let cluster = deploy_tests::unique("plan-iam");
    iam::admin_json("ecs", "CreateCluster", &json!({"clusterName": cluster}));
    let subnet = iam::admin_call(&["ec2", "describe-subnets"])["Subnets"][0]["SubnetId"].clone();
    let group =
        iam::admin_call(&["ec2", "describe-security-groups"])["SecurityGroups"][0]["GroupId"]
            .clone();
    iam::admin_json(
        "ecs",
        "CreateService",
        &json!({"cluster": cluster, "serviceName": "web", "taskDefinition": arn, "desiredCount": 1,
            "launchType": "FARGATE", "networkConfiguration": {"awsvpcConfiguration": {
                "subnets": [subnet], "securityGroups": [group]}}}),
    );
    let user = iam::user_allowed(&["ecs:DescribeServices", "ecs:DescribeTaskDefinition"]);
    let out = deploy()
        .aws_as(&user)
        .args(["--cluster", &cluster, "--service", "web", "--plan"])
        .stdin_json(&json!({"taskDefinition": td}))
        .run();
    let doc = out.success();
    // Folded into one line on stderr.
    let said: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("skipped"))
        .collect();
    assert_eq!(said.len(), 1, "{}", out.stderr);
    for permission in [
        "logs:DescribeLogGroups",
        "iam:GetRole",
        "secretsmanager:DescribeSecret",
        "ssm:DescribeParameters",
    ] {
        assert!(said[0].contains(permission), "{permission}: {}", said[0]);
    }
    for (name, permission, what) in [
        ("log group", "logs:DescribeLogGroups", "log group /ecs/web"),
        ("role", "iam:GetRole", "executionRoleArn web-execution"),
        (
            "secret",
            "secretsmanager:DescribeSecret",
            "secret arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf",
        ),
        ("secret", "ssm:DescribeParameters", "parameter /app/token"),
    ] {
        let c = doc["plan"]["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name && c["detail"].as_str().unwrap().starts_with(what))
            .unwrap_or_else(|| panic!("no {name} check of {what}: {doc}"));
        assert_eq!(c["status"], "skipped", "{doc}");
        assert_eq!(
            c["detail"],
            format!("{what} not checked: the caller lacks {permission}")
        );
    }
}

/// A deploy of `td` to service `web` of `cluster` with `--verify MODE`,
/// the fixture's images in the open registry.
fn verified_deploy(cluster: &str, td: &Value, mode: &str) -> deploy_tests::Output {
    deploy()
        .env("CONTAINERS_REGISTRIES_CONF", images())
        .args(["--cluster", cluster, "--service", "web", "--verify", mode])
        .stdin_json(&json!({"taskDefinition": td}))
        .run()
}

/// `--verify error` and an image never pushed: exit 1 naming it, nothing
/// registered, the service untouched, the checks in the object.
#[test]
fn a_deploy_verified_with_error_refuses_a_missing_image_and_registers_nothing() {
    let (cluster, family, td) = deployed_on_fargate();
    let image = format!("{ECR}/web:never-pushed");
    let out = verified_deploy(&cluster, &with_image(&td, &image, Some("ARM64")), "error");
    let doc = out.failure_report(1);
    assert_eq!(doc["verify"]["mode"], "error", "{doc}");
    let failed = doc["verify"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "image" && c["status"] == "failed");
    assert!(failed.is_some(), "{doc}");
    let message = doc["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with(&format!(
            "the definition cannot be deployed: image {image} does not exist"
        )) && message.ends_with(
            "nothing registered or updated (--verify error; --verify warn deploys anyway)"
        ),
        "{message}"
    );
    assert_eq!(revisions(&family, "ACTIVE").len(), 1);
    assert_eq!(runs(&cluster), format!("{family}:1"));
}

/// `--verify warn` and the same missing image: one warning, and the
/// deploy goes on.
#[test]
fn a_deploy_verified_with_warn_says_a_missing_image_and_deploys() {
    let (cluster, family, td) = deployed_on_fargate();
    let image = format!("{ECR}/web:never-pushed");
    let summary = tempfile::NamedTempFile::new().unwrap();
    let out = deploy()
        .env("CONTAINERS_REGISTRIES_CONF", images())
        .env("GITHUB_STEP_SUMMARY", summary.path())
        .args([
            "--cluster",
            &cluster,
            "--service",
            "web",
            "--verify",
            "warn",
        ])
        .stdin_json(&json!({"taskDefinition": with_image(&td, &image, Some("ARM64"))}))
        .run();
    let doc = out.success();
    // The job summary shows the check that failed.
    let summary = std::fs::read_to_string(summary.path()).unwrap();
    assert!(
        summary.contains("Checks (--verify) that did not pass") && summary.contains("never-pushed"),
        "{summary}"
    );
    assert_eq!(doc["verify"]["mode"], "warn", "{doc}");
    let warned: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| {
            l.contains("--verify warn: deploying though 1 check failed: image")
                && l.contains(&image)
        })
        .collect();
    assert_eq!(warned.len(), 1, "{}", out.stderr);
    assert_eq!(runs(&cluster), format!("{family}:2"));
}

/// `--verify error` and a definition that does not fit the service (EC2
/// service, Fargate definition): a bad input, exit 2, nothing registered.
#[test]
fn a_deploy_verified_with_error_that_does_not_fit_is_exit_2() {
    let (cluster, family, td) = deployed();
    let doc = verified_deploy(&cluster, &td, "error").failure_report(2);
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap()
            .contains("the service runs on EC2, the definition requires FARGATE"),
        "{doc}"
    );
    assert_eq!(revisions(&family, "ACTIVE").len(), 1);
}

/// A Secrets Manager secret that exists: the check passes, its value is
/// shown nowhere and never read (one DescribeSecret, no GetSecretValue).
#[test]
fn a_secret_that_exists_passes_the_secret_check() {
    let (cluster, _, td) = deployed_on_fargate();
    let value = deploy_tests::unique("s3cr3t-value");
    let arn = secret_holding(&value);
    let td = with_secrets(&td, &[("DB_URL", &arn)]);
    let out = plan(&cluster, &td);
    let doc = out.success();
    let secret = checks(&doc, "secret");
    assert_eq!(secret.len(), 1, "{doc}");
    assert_eq!(secret[0]["status"], "ok", "{doc}");
    assert_eq!(secret[0]["detail"], format!("secret {arn} exists"));
    never_shown(&out, &value);
    let calls = secret_calls_naming(&arn);
    assert!(
        calls.len() == 1 && calls[0].0 == "DescribeSecret",
        "{calls:?}"
    );
}

/// A secret named with a JSON key and a version stage (ECS reads that
/// key of that version): looked up without them, and once for both.
#[test]
fn a_secret_given_with_a_json_key_and_version_is_looked_up_without_them() {
    let (cluster, _, td) = deployed_on_fargate();
    let value = deploy_tests::unique("pw-value");
    let arn = secret_holding(&json!({"password": value, "username": "app"}).to_string());
    let td = with_secrets(
        &td,
        &[
            ("DB_PASSWORD", &format!("{arn}:password::")),
            ("DB_USER", &format!("{arn}:username:AWSCURRENT:")),
        ],
    );
    let out = plan(&cluster, &td);
    let doc = out.success();
    let secret = checks(&doc, "secret");
    assert_eq!(secret.len(), 1, "each secret once: {doc}");
    assert_eq!(secret[0]["status"], "ok", "{doc}");
    assert_eq!(secret[0]["detail"], format!("secret {arn} exists"));
    never_shown(&out, &value);
    let calls = secret_calls_naming(&arn);
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].0, "DescribeSecret");
    assert_eq!(calls[0].1["SecretId"], arn.as_str());
}

/// A secret that does not exist: the check fails naming the container and
/// the variable it was for, the plan fails (exit 1) and is still printed.
#[test]
fn a_secret_that_does_not_exist_fails_the_plan() {
    let (cluster, _, td) = deployed_on_fargate();
    let arn = format!(
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:{}-AbCdEf",
        deploy_tests::unique("gone")
    );
    let td = with_secrets(&td, &[("API_KEY", &format!("{arn}:key::"))]);
    let doc = plan(&cluster, &td).failure_report(1);
    let secret = check(&doc, "secret");
    assert_eq!(secret["status"], "failed", "{doc}");
    assert_eq!(
        secret["detail"],
        format!(
            "secret {arn} (API_KEY of container \"web\") does not exist: the tasks would fail to start"
        )
    );
    assert!(
        doc["plan"]["changes"][0]["taskDefinition"].is_object(),
        "{doc}"
    );
    let error = doc["error"]["message"].as_str().unwrap();
    assert!(error.contains(&format!("secret {arn}")), "{error}");
}

/// A secret scheduled for deletion cannot be read by the tasks: failed.
#[test]
fn a_secret_scheduled_for_deletion_fails_the_plan() {
    let (cluster, _, td) = deployed_on_fargate();
    let arn = secret_holding("doomed");
    moto_call(
        "secretsmanager",
        "DeleteSecret",
        &json!({"SecretId": arn, "RecoveryWindowInDays": 7}),
    );
    let td = with_secrets(&td, &[("DB_URL", &arn)]);
    let doc = plan(&cluster, &td).failure_report(1);
    let secret = check(&doc, "secret");
    says(
        secret,
        "failed",
        "is scheduled for deletion: the tasks would fail to start",
    );
}

/// An SSM parameter with a path, named by its ARN: the name is the ARN's
/// `/app/...`; it exists, the check passes, its value is shown nowhere
/// and never read (DescribeParameters only).
#[test]
fn an_ssm_parameter_named_by_its_arn_passes_the_secret_check() {
    let (cluster, _, td) = deployed_on_fargate();
    let name = format!("/app/{}/db", deploy_tests::unique("svc"));
    let value = deploy_tests::unique("param-value");
    moto_call(
        "ssm",
        "PutParameter",
        &json!({"Name": name, "Value": value, "Type": "SecureString"}),
    );
    let arn = format!("arn:aws:ssm:us-east-1:123456789012:parameter{name}");
    let td = with_secrets(&td, &[("DB_URL", &arn)]);
    let out = plan(&cluster, &td);
    let doc = out.success();
    let secret = checks(&doc, "secret");
    assert_eq!(secret.len(), 1, "{doc}");
    assert_eq!(secret[0]["status"], "ok", "{doc}");
    assert_eq!(
        secret[0]["detail"],
        format!("parameter {name} (in us-east-1) exists")
    );
    never_shown(&out, &value);
    let calls = secret_calls_naming(&name);
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].0, "DescribeParameters");
    assert_eq!(
        calls[0].1["ParameterFilters"],
        json!([{"Key": "Name", "Option": "Equals", "Values": [name]}])
    );
}

/// A parameter is asked in the region its ARN names: one that lives in
/// us-west-2 only passes; moto keeps regions apart.
#[test]
fn an_ssm_parameter_is_asked_in_its_arn_s_region() {
    let (cluster, _, td) = deployed_on_fargate();
    let name = format!("/app/{}/west", deploy_tests::unique("svc"));
    moto_call_in(
        "us-west-2",
        "ssm",
        "PutParameter",
        &json!({"Name": name, "Value": "w", "Type": "String"}),
    );
    let arn = format!("arn:aws:ssm:us-west-2:123456789012:parameter{name}");
    let doc = plan(&cluster, &with_secrets(&td, &[("WEST", &arn)])).success();
    assert_eq!(check(&doc, "secret")["status"], "ok", "{doc}");
}

/// A parameter that does not exist (named bare, so in the tool's region):
/// the check fails naming what it was for, the plan fails (exit 1).
#[test]
fn an_ssm_parameter_that_does_not_exist_fails_the_plan() {
    let (cluster, _, td) = deployed_on_fargate();
    let name = format!("/app/{}/missing", deploy_tests::unique("svc"));
    let td = with_secrets(&td, &[("TOKEN", &name)]);
    let doc = plan(&cluster, &td).failure_report(1);
    let secret = check(&doc, "secret");
    assert_eq!(secret["status"], "failed", "{doc}");
    assert_eq!(
        secret["detail"],
        format!(
            "parameter {name} (TOKEN of container \"web\") does not exist: the tasks would fail to start"
        )
    );
}

/// An image name that is no image reference: a bad input, exit 2.
#[test]
fn an_image_that_is_no_reference_is_exit_2() {
    let (cluster, _, td) = deployed_on_fargate();
    let doc = plan(&cluster, &with_image(&td, "r.example/Web:1", None)).failure_report(2);
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("container \"web\": its image is not an image reference"),
        "{doc}"
    );
}

/// An SSM parameter whose ARN names another account (shared through
/// RAM) is not looked up in the caller's: skipped, saying so.
#[test]
fn a_parameter_of_another_account_is_not_checked_in_the_caller_s() {
    let (cluster, _, td) = deployed_on_fargate();
    let name = deploy_tests::unique("/shared/db");
    moto_call(
        "ssm",
        "PutParameter",
        &json!({"Name": name, "Value": "x", "Type": "String"}),
    );
    let arn = format!("arn:aws:ssm:us-east-1:999999999999:parameter{name}");
    let doc = plan(&cluster, &with_secrets(&td, &[("SHARED", &arn)])).success();
    let c = doc["plan"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "secret" && c["detail"].as_str().unwrap().contains(&name))
        .unwrap_or_else(|| panic!("{doc}"))
        .clone();
    says(
        &c,
        "skipped",
        "its ARN names account 999999999999, not the caller's",
    );
}
