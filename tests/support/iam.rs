//! Least-privilege users on the moto that enforces IAM
//! (`MOTO_IAM_URL`, see scripts/emulators.sh): each case makes a user with
//! exactly the actions it grants, and runs the real binaries with that
//! user's keys, as a CI role with a written-down policy would.
//!
//! What moto enforces, and what it does not:
//! - ECS, ECR, CloudWatch Logs, IAM, Elastic Load Balancing (v2) and
//!   Secrets Manager actions are checked against the signing user's
//!   policies (signature verified, then `Action` matched with wildcards);
//!   checked by hand with a user allowed only `ecs:ListClusters`:
//!   `elbv2 describe-load-balancers`, `describe-target-health`,
//!   `iam list-users`, `logs describe-log-groups`, `ecr
//!   describe-repositories` and `secretsmanager list-secrets` are refused;
//! - `sts:GetCallerIdentity` is answered for anyone, as on AWS, where it
//!   needs no permission;
//! - only `"Resource": "*"` matches: a statement scoped to an ARN grants
//!   nothing on moto, so the policies here use `*`;
//! - conditions are ignored;
//! - a refusal is HTTP 403 with an XML `AccessDenied` body, whatever the
//!   protocol (real AWS answers JSON calls with `AccessDeniedException`);
//! - the registries check none of ECR's registry-side actions
//!   (`InitiateLayerUpload`, `PutImage`, ...): a push under a policy proves
//!   that no ECR API call beyond `ecr:GetAuthorizationToken` was needed,
//!   not that those actions suffice.

use serde_json::{Value, json};

use crate::{Tool, emulators, root, tool, unique};

/// The push policy that the pipelines we replace write down: exactly these
/// eight ECR actions (a push-only role for the build job).
pub const PUSH_POLICY: [&str; 8] = [
    "ecr:GetAuthorizationToken",
    "ecr:BatchCheckLayerAvailability",
    "ecr:GetDownloadUrlForLayer",
    "ecr:BatchGetImage",
    "ecr:InitiateLayerUpload",
    "ecr:UploadLayerPart",
    "ecr:CompleteLayerUpload",
    "ecr:PutImage",
];

/// The deploy policy those pipelines write down: four ECS actions, the
/// roles passed, and what their log and load-balancer steps use.
pub const DEPLOY_POLICY: [&str; 8] = [
    "ecs:DescribeTaskDefinition",
    "ecs:RegisterTaskDefinition",
    "ecs:UpdateService",
    "ecs:DescribeServices",
    "iam:PassRole",
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "elasticloadbalancing:DescribeLoadBalancers",
];

/// A user of the moto that enforces IAM, with its keys.
#[derive(Debug, Clone)]
pub struct User {
    pub name: String,
    pub arn: String,
    pub key_id: String,
    pub secret: String,
}

/// The aws CLI as the admin user of the moto that enforces IAM.
fn admin(args: &[&str]) -> Value {
    let emu = emulators();
    let out = tool(root().join("target/tools/bin/aws"))
        .env("AWS_ACCESS_KEY_ID", &emu.iam_admin_key)
        .env("AWS_SECRET_ACCESS_KEY", &emu.iam_admin_secret)
        .env("AWS_DEFAULT_REGION", &emu.region)
        .env("AWS_ENDPOINT_URL", &emu.iam_endpoint)
        .args(args)
        .args(["--output", "json"])
        .run();
    assert_eq!(out.code, 0, "aws {args:?} as the IAM admin: {}", out.stderr);
    if out.stdout.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&out.stdout).expect("the aws CLI prints JSON")
    }
}

/// A new user allowed exactly `actions` (on `"Resource": "*"`, the only
/// resource moto matches), and nothing else.
pub fn user_allowed(actions: &[&str]) -> User {
    let name = unique("least");
    let created = admin(&["iam", "create-user", "--user-name", &name]);
    let policy = json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}],
    });
    admin(&[
        "iam",
        "put-user-policy",
        "--user-name",
        &name,
        "--policy-name",
        "least",
        "--policy-document",
        &policy.to_string(),
    ]);
    let key = admin(&["iam", "create-access-key", "--user-name", &name]);
    User {
        arn: created["User"]["Arn"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        key_id: key["AccessKey"]["AccessKeyId"]
            .as_str()
            .unwrap()
            .to_string(),
        secret: key["AccessKey"]["SecretAccessKey"]
            .as_str()
            .unwrap()
            .to_string(),
        name,
    }
}

/// A new role that `trust` lets assume it (a web-identity trust policy:
/// moto ignores its conditions), allowed exactly `actions` (on
/// `"Resource": "*"`); its ARN.
pub fn role_allowed(actions: &[&str], trust: &Value) -> String {
    let name = unique("role");
    let created = admin(&[
        "iam",
        "create-role",
        "--role-name",
        &name,
        "--assume-role-policy-document",
        &trust.to_string(),
    ]);
    let policy = json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}],
    });
    admin(&[
        "iam",
        "put-role-policy",
        "--role-name",
        &name,
        "--policy-name",
        "least",
        "--policy-document",
        &policy.to_string(),
    ]);
    created["Role"]["Arn"].as_str().unwrap().to_string()
}

/// An ECS or ECR call as the admin (setting up what a case needs), through
/// the aws CLI: `admin_call(&["ecr", "create-repository", ...])`.
pub fn admin_call(args: &[&str]) -> Value {
    admin(args)
}

/// An API action (`ecs`, `RegisterTaskDefinition`) with a JSON request as
/// the admin, through the aws CLI's `--cli-input-json`: what `moto_call`
/// does on the moto that checks nothing.
pub fn admin_json(service: &str, action: &str, request: &Value) -> Value {
    let mut command = String::new();
    for (i, c) in action.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            command.push('-');
        }
        command.push(c.to_ascii_lowercase());
    }
    admin(&[service, &command, "--cli-input-json", &request.to_string()])
}

/// Every action a policy document allows (`Action` as a string or a list,
/// in each `Allow` statement), for a user on moto, which matches only
/// `"Resource": "*"`: the document's own resources and conditions are
/// dropped, and the test says so.
pub fn actions_of(policy: &Value) -> Vec<String> {
    let mut actions: Vec<String> = Vec::new();
    for statement in policy["Statement"].as_array().into_iter().flatten() {
        if statement["Effect"] != "Allow" {
            continue;
        }
        let listed = match &statement["Action"] {
            Value::String(one) => vec![one.clone()],
            Value::Array(many) => many
                .iter()
                .filter_map(|a| a.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        };
        for action in listed {
            if !actions.contains(&action) {
                actions.push(action);
            }
        }
    }
    actions
}

impl Tool {
    /// Points the tool at the moto that enforces IAM, signing as `user`.
    pub fn aws_as(self, user: &User) -> Self {
        let emu = emulators();
        self.aws()
            .env("AWS_ENDPOINT_URL", &emu.iam_endpoint)
            .env("AWS_ACCESS_KEY_ID", &user.key_id)
            .env("AWS_SECRET_ACCESS_KEY", &user.secret)
    }
}
