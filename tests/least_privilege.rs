//! The permissions users really grant are enough, on the moto that
//! enforces IAM (`deploy_tests::iam` says what it checks and what not).

use deploy_tests::iam::{self, PUSH_POLICY, User};
use deploy_tests::images::{Compression, Image, oci_layout};
use deploy_tests::{ECR, ecr_registries_conf, emulators, unique, workspace_bin};

/// `ecr-login | oci-push --repository NAME` as `user`, into a repository
/// the admin made; registries.conf puts moto's ECR name on the local
/// registry that takes moto's ECR login: the run, the repository, the
/// layout's digest.
fn login_and_push(user: &User, extra: &str) -> (deploy_tests::Output, String, String) {
    let emu = emulators();
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("image");
    let digests = oci_layout(
        &layout,
        &[("v1", &Image::small("least"))],
        Compression::Gzip,
    );
    let conf = ecr_registries_conf(dir.path(), &emu.registry_auth);
    let repository = unique("least");
    iam::admin_call(&["ecr", "create-repository", "--repository-name", &repository]);
    let script = format!(
        "set -euo pipefail
         {login} | {push} --from {layout} --repository {repository} --tag 1 --registries-conf {conf} {extra}",
        login = workspace_bin("ecr-login").display(),
        push = workspace_bin("oci-push").display(),
        layout = layout.display(),
        conf = conf.display(),
    );
    let out = deploy_tests::tool("bash")
        .args(["-c", &script])
        .aws_as(user)
        .env("DOCKER_CONFIG", dir.path().join("docker"))
        .run();
    (out, repository, digests[0].clone())
}

/// `oci-push` of a small layout to a new repository under moto's ECR name,
/// which registries.conf puts on `registry`, as `user`: the run and the
/// repository.
fn push_behind(registry: &str, user: &User, extra: &[&str]) -> (deploy_tests::Output, String) {
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("image");
    oci_layout(
        &layout,
        &[("v1", &Image::small("behind"))],
        Compression::Gzip,
    );
    let conf = ecr_registries_conf(dir.path(), registry);
    let repository = unique("behind");
    let out = deploy_tests::tool(workspace_bin("oci-push"))
        .aws_as(user)
        .args(["--from", layout.to_str().unwrap()])
        .args(["--to", &format!("{ECR}/{repository}"), "--tag", "1"])
        .args(["--registries-conf", conf.to_str().unwrap()])
        .args(extra)
        .run();
    (out, repository)
}

/// The build job's push-only role: logging in and pushing need no ECR API
/// call beyond GetAuthorizationToken (the local registry checks none of the
/// registry-side actions, so this proves that, not that they suffice).
#[test]
fn ecr_login_then_oci_push_pass_with_the_eight_action_push_policy() {
    let user = iam::user_allowed(&PUSH_POLICY);
    let (out, repository, digest) = login_and_push(&user, "");
    let doc = out.success();
    assert_eq!(doc["image"]["uri"], format!("{ECR}/{repository}@{digest}"));
    assert!(!out.stderr.contains("warning"), "{}", out.stderr);
}

/// Only GetAuthorizationToken: the login works, and so does the push (it
/// asks the ECR API nothing else).
#[test]
fn a_push_asks_the_ecr_api_nothing_but_the_login() {
    let user = iam::user_allowed(&["ecr:GetAuthorizationToken"]);
    let (out, repository, digest) = login_and_push(&user, "");
    let doc = out.success();
    assert_eq!(doc["image"]["uri"], format!("{ECR}/{repository}@{digest}"));
}

/// --create-repository asks ECR whether the repository exists: without
/// ecr:DescribeRepositories that is refused, and the message names the
/// action and the user, in words moto's XML refusal does not get by itself.
#[test]
fn create_repository_without_describe_repositories_names_the_action() {
    let user = iam::user_allowed(&PUSH_POLICY);
    let (out, _, _) = login_and_push(&user, "--create-repository");
    let doc = out.failure_report(1);
    let err = doc["error"]["message"].as_str().unwrap_or_default();
    // ecr-login's object went on down the pipe, with the error.
    assert_eq!(doc["registry"]["endpoint"], ECR);
    assert!(
        err.contains(&format!("{} lacks ecr:DescribeRepositories", user.arn)),
        "{err}"
    );
    assert!(
        err.contains(r#"{"Effect":"Allow","Action":"ecr:DescribeRepositories","Resource":"*"}"#),
        "{err}"
    );
    assert!(!err.contains("unreadable response"), "{err}");
}

/// A required call refused: one message with the action, who was refused
/// and the statement to add, as JSON to paste.
#[test]
fn a_refused_required_call_names_the_action_the_caller_and_a_statement() {
    let user = iam::user_allowed(&PUSH_POLICY);
    let out = deploy_tests::tool(workspace_bin("ecs-deploy"))
        .aws_as(&user)
        .args(["--family", "web:1", "--cluster", "prod", "--service", "web"])
        .run();
    let err = out.failure(1);
    assert!(err.contains("(ecs:DescribeServices)"), "{err}");
    assert!(
        err.contains(&format!("{} lacks ecs:DescribeServices", user.arn)),
        "{err}"
    );
    assert!(
        err.contains(
            r#"add to its policy {"Effect":"Allow","Action":"ecs:DescribeServices","Resource":"*"}"#
        ),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
}

/// ECR closes the connection of a push into a repository that does not
/// exist; a push-only role may not ask DescribeRepositories why: the
/// message says what may be wrong and which permission would tell.
#[test]
fn a_cut_push_under_a_push_only_role_says_the_repository_may_not_exist() {
    use deploy_tests::scripted::ScriptedRegistry;
    let user = iam::user_allowed(&PUSH_POLICY);
    let registry = ScriptedRegistry::start(&["POST:upload:drop:0"]);
    let (out, repository) = push_behind(&registry.address, &user, &["--jobs", "1"]);
    let err = out.failure(1);
    assert!(
        err.contains(&format!(
            "the ECR repository {repository:?} may not exist (ECR closes the connection of a push into a missing one): ecr:DescribeRepositories would tell"
        )),
        "{err}"
    );
}

/// A CI job's OIDC role (web identity, as GitHub Actions gives it), refused:
/// the message names the role and the job's session plainly, then the
/// statement. moto_launcher.py lets the unsigned AssumeRoleWithWebIdentity
/// through the IAM check (moto answered it with a 500), as AWS does.
#[test]
fn a_web_identity_role_refused_is_named_with_its_session() {
    let emu = emulators();
    let role = unique("deploy");
    let trust = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"},
        "Action": "sts:AssumeRoleWithWebIdentity"}]});
    iam::admin_call(&[
        "iam",
        "create-role",
        "--role-name",
        &role,
        "--assume-role-policy-document",
        &trust.to_string(),
    ]);
    let policy = serde_json::json!({"Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["ecs:ListClusters"], "Resource": "*"}]});
    iam::admin_call(&[
        "iam",
        "put-role-policy",
        "--role-name",
        &role,
        "--policy-name",
        "least",
        "--policy-document",
        &policy.to_string(),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("oidc-token");
    std::fs::write(&token, "eyJhbGciOiJSUzI1NiJ9.e30.c2ln").unwrap();
    let out = deploy_tests::tool(workspace_bin("ecs-deploy"))
        .aws()
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("AWS_ENDPOINT_URL", &emu.iam_endpoint)
        .env(
            "AWS_ROLE_ARN",
            format!("arn:aws:iam::123456789012:role/{role}"),
        )
        .env("AWS_WEB_IDENTITY_TOKEN_FILE", &token)
        .env("AWS_ROLE_SESSION_NAME", "gh-actions")
        .args(["--family", "web:1", "--cluster", "prod", "--service", "web"])
        .run();
    let err = out.failure(1);
    assert!(
        err.contains(&format!(
            "role {role} (session gh-actions, arn:aws:sts::123456789012:assumed-role/{role}/gh-actions) lacks ecs:DescribeServices: add to its policy"
        )),
        "{err}"
    );
}

/// The registry refuses the push itself (a role without the registry-side
/// actions: moto's registry checks none, so the scripted one answers 403):
/// the message names the caller, asked with sts:GetCallerIdentity only
/// after the refusal (the registry names nobody), and the statement that
/// grants the push on that repository.
#[test]
fn a_push_the_registry_refuses_names_the_caller_and_the_push_statement() {
    use deploy_tests::scripted::ScriptedRegistry;
    let user = iam::user_allowed(&["ecr:GetAuthorizationToken"]);
    let registry = ScriptedRegistry::refusing_everything();
    let (out, repository) = push_behind(&registry.address, &user, &[]);
    let err = out.failure(1);
    let region = ECR.split('.').nth(3).unwrap();
    assert!(
        err.contains(&format!(
            "; {} lacks the ECR push actions: add to its policy {{\"Effect\":\"Allow\",\"Action\":[\"ecr:BatchCheckLayerAvailability\",",
            user.arn
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "\"Resource\":\"arn:aws:ecr:{region}:123456789012:repository/{repository}\"}}"
        )),
        "{err}"
    );
    let said: Vec<&str> = err.lines().filter(|l| l.contains("lacks")).collect();
    assert_eq!(said.len(), 1, "one message: {err}");
}
