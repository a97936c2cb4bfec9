//! The reference pipelines in examples/: each shell script runs as its
//! workflow runs it, against moto and the real registry (standing behind
//! moto's ECR name through a registries.conf), failure paths included; each
//! workflow is checked to call its script with every input the script
//! needs.

use std::path::PathBuf;

use deploy_tests::iam;
use deploy_tests::images::{DockerSave, Image, docker_save};
use deploy_tests::scripted::ScriptedRegistry;
use deploy_tests::{
    Output, emulators, moto_call, moto_ecs, read_json, root, unique, workspace_bin,
};
use serde_json::{Value, json};

use deploy_tests::ECR;

/// What a test of one example sets up: moto's cluster, Fargate service
/// `web` on `revisions` revisions of a family, an ECR repository, an image
/// tar and a registries.conf, in a working directory of its own.
struct World {
    dir: tempfile::TempDir,
    cluster: String,
    family: String,
    repository: String,
    /// On the moto that enforces IAM, the example runs as this user (and
    /// the world is set up and read as its admin).
    user: Option<iam::User>,
    /// The role a web-identity token assumes (example 5); on the moto that
    /// enforces IAM, one allowed exactly the example's policy.
    web_role: String,
}

fn definition(family: &str, image: &str) -> Value {
    let mut td = read_json(root().join("examples/task-definition.json"));
    td["family"] = json!(family);
    td["containerDefinitions"][0]["image"] = json!(image);
    td
}

fn world(name: &str, revisions: u32) -> World {
    world_as(name, revisions, None)
}

/// A world on the moto that enforces IAM, where the example runs as a user
/// allowed exactly the actions of examples/`example`/iam-policy.json (on
/// `"Resource": "*"`, the only resource moto matches: the document's ARNs
/// and conditions are not checked here).
fn world_under_policy(name: &str, revisions: u32, example: &str) -> World {
    let policy = read_json(
        root()
            .join("examples")
            .join(example)
            .join("iam-policy.json"),
    );
    let actions = iam::actions_of(&policy);
    let actions: Vec<&str> = actions.iter().map(String::as_str).collect();
    world_as(name, revisions, Some(iam::user_allowed(&actions)))
}

/// A subnet and a security group of the default VPC (of the moto that
/// enforces IAM, or of the other).
fn network(on_iam: bool) -> (String, String) {
    if !on_iam {
        return deploy_tests::default_network();
    }
    let subnets = iam::admin_call(&["ec2", "describe-subnets"]);
    let groups = iam::admin_call(&["ec2", "describe-security-groups"]);
    (
        subnets["Subnets"][0]["SubnetId"]
            .as_str()
            .unwrap()
            .to_string(),
        groups["SecurityGroups"][0]["GroupId"]
            .as_str()
            .unwrap()
            .to_string(),
    )
}

fn world_as(name: &str, revisions: u32, user: Option<iam::User>) -> World {
    let dir = tempfile::tempdir().unwrap();
    let cluster = unique(&format!("ex-{name}"));
    let family = unique(&format!("ex-{name}"));
    let repository = unique(&format!("ex-{name}"));
    let on_iam = user.is_some();
    let call = |service: &str, action: &str, request: &Value| -> Value {
        if on_iam {
            iam::admin_json(service, action, request)
        } else {
            moto_call(service, action, request)
        }
    };
    for i in 1..=revisions {
        call(
            "ecs",
            "RegisterTaskDefinition",
            &definition(&family, &format!("{ECR}/{repository}:old-{i}")),
        );
    }
    call("ecs", "CreateCluster", &json!({"clusterName": cluster}));
    let (subnet, group) = network(on_iam);
    call(
        "ecs",
        "CreateService",
        &json!({"cluster": cluster, "serviceName": "web", "taskDefinition": format!("{family}:{revisions}"),
            "desiredCount": 1, "launchType": "FARGATE",
            "networkConfiguration": {"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group]}}}),
    );
    call(
        "ecr",
        "CreateRepository",
        &json!({"repositoryName": repository}),
    );
    // linux/arm64, as the examples' definition's runtimePlatform says
    // (example 6's plan checks that they agree).
    docker_save(
        &dir.path().join("image.tar"),
        &Image::small(name).for_platform("linux", "arm64"),
        "web:1",
        DockerSave::Classic,
    );
    let w = World {
        dir,
        cluster,
        family,
        repository,
        user,
        web_role: "arn:aws:iam::123456789012:role/deploy".to_string(),
    };
    w.registry_behind_ecr(&emulators().registry_auth);
    w
}

impl World {
    /// Runs examples/`example`/deploy.sh as its workflow does, with `env`.
    fn run(&self, example: &str, env: &[(&str, &str)]) -> Output {
        let script = root().join("examples").join(example).join("deploy.sh");
        self.bash(&[script.as_os_str()], env)
    }

    /// Runs `bash ARGS` as [`World::run`] runs an example: the tools on
    /// PATH, the example's environment, in the world's directory.
    fn bash(&self, args: &[&std::ffi::OsStr], env: &[(&str, &str)]) -> Output {
        let bins = workspace_bin("ecs-run");
        for tool in ["ecr-login", "oci-push", "taskdef-render", "ecs-deploy"] {
            workspace_bin(tool);
        }
        let path = format!(
            "{}:{}",
            bins.parent().unwrap().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut tool = deploy_tests::tool("bash")
            .args(args)
            .aws()
            .env("PATH", &path)
            .env(
                "CONTAINERS_REGISTRIES_CONF",
                self.dir.path().join("registries.conf"),
            )
            .env("IMAGE", self.dir.path().join("image.tar"))
            .env("ECR_REPOSITORY", &self.repository)
            .env("ECS_CLUSTER", &self.cluster)
            .env("ECS_SERVICE", "web")
            .env("TASK_FAMILY", &self.family)
            .env("CONTAINER", "web")
            .env("GIT_SHA", "0f3a9c1")
            .current_dir(self.dir.path());
        if let Some(user) = &self.user {
            tool = tool.aws_as(user);
        }
        for (key, value) in env {
            tool = tool.env(key, value);
        }
        tool.run()
    }

    /// An ECS call to the world's moto (as the admin on the one that
    /// enforces IAM).
    fn ecs(&self, action: &str, request: &Value) -> Value {
        match self.user {
            Some(_) => iam::admin_json("ecs", action, request),
            None => moto_ecs(action, request),
        }
    }

    /// The revision the service runs, as `family:N`.
    fn running(&self) -> String {
        let answer = self.ecs(
            "DescribeServices",
            &json!({"cluster": self.cluster, "services": ["web"]}),
        );
        let arn = answer["services"][0]["taskDefinition"].as_str().unwrap();
        arn.rsplit('/').next().unwrap().to_string()
    }

    fn image_of(&self, revision: &str) -> String {
        let answer = self.ecs(
            "DescribeTaskDefinition",
            &json!({"taskDefinition": revision}),
        );
        answer["taskDefinition"]["containerDefinitions"][0]["image"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// The digest `tag` resolves to in the registry behind the ECR name.
    fn digest_of_tag(&self, tag: &str) -> String {
        let emu = emulators();
        let out = deploy_tests::tool("skopeo")
            .args(["inspect", "--raw", "--tls-verify=false", "--creds"])
            .args([format!("{}:{}", emu.registry_user, emu.registry_password)])
            .args([format!(
                "docker://{}/{}:{tag}",
                emu.registry_auth, self.repository
            )])
            .run();
        assert_eq!(out.code, 0, "skopeo inspect {tag}: {}", out.stderr);
        deploy_tests::images::sha256(out.stdout.as_bytes())
    }

    /// Puts `address` behind the ECR name instead of the emulators' registry.
    fn registry_behind_ecr(&self, address: &str) {
        deploy_tests::ecr_registries_conf(self.dir.path(), address);
    }

    fn revisions(&self, status: &str) -> Vec<String> {
        let answer = self.ecs(
            "ListTaskDefinitions",
            &json!({"familyPrefix": self.family, "status": status, "sort": "ASC"}),
        );
        answer["taskDefinitionArns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().rsplit('/').next().unwrap().to_string())
            .collect()
    }
}

#[test]
fn example_1_pushes_sha_and_latest_and_deploys_the_digest() {
    let w = world("one", 1);
    let out = w.run("1-push-and-deploy", &[]);
    let doc = out.success();
    assert_eq!(w.running(), format!("{}:2", w.family));
    let digest = doc["image"]["digest"].as_str().unwrap();
    assert_eq!(
        w.image_of(&w.running()),
        format!("{ECR}/{}@{digest}", w.repository)
    );
    assert_eq!(w.digest_of_tag("0f3a9c1"), digest);
    assert_eq!(w.digest_of_tag("latest"), digest);
    assert!(
        !out.stderr.contains("123456789012-auth-token"),
        "no password on stderr"
    );
}

/// Example 1 as its documented policy allows (examples/1-push-and-deploy/
/// iam-policy.json), on the moto that enforces IAM: every call of the
/// pipe is one the policy grants.
#[test]
fn example_1_passes_under_its_least_privilege_policy() {
    let w = world_under_policy("one-iam", 1, "1-push-and-deploy");
    let out = w.run("1-push-and-deploy", &[]);
    let doc = out.success();
    assert_eq!(w.running(), format!("{}:2", w.family));
    let digest = doc["image"]["digest"].as_str().unwrap();
    assert_eq!(
        w.image_of(&w.running()),
        format!("{ECR}/{}@{digest}", w.repository)
    );
    assert!(
        !out.stderr.contains(" lacks "),
        "nothing refused: {}",
        out.stderr
    );
}

/// Examples 2 to 4 under their documented policies, as example 1 above.
#[test]
fn example_2_passes_under_its_least_privilege_policy() {
    let w = world_under_policy("two-iam", 1, "2-template-with-static-keys");
    let file = template(&w, "production");
    let out = w.run(
        "2-template-with-static-keys",
        &[("TEMPLATE", file.to_str().unwrap())],
    );
    out.success();
    assert_eq!(w.running(), format!("{}:2", w.family));
    assert!(
        !out.stderr.contains(" lacks "),
        "nothing refused: {}",
        out.stderr
    );
}

#[test]
fn example_3_passes_under_its_least_privilege_policy() {
    let w = world_under_policy("three-iam", 1, "3-deploy-and-wait");
    let out = w.run(
        "3-deploy-and-wait",
        &[
            ("OLLAMA_URL", "http://ollama.internal:11434"),
            ("WAIT_TIMEOUT", "1m"),
        ],
    );
    let doc = out.success();
    assert_eq!(doc["wait"]["status"], "deployed", "{doc}");
    assert_eq!(w.running(), format!("{}:2", w.family));
    assert!(
        !out.stderr.contains(" lacks "),
        "nothing refused: {}",
        out.stderr
    );
}

#[test]
fn example_4_passes_under_its_least_privilege_policy() {
    let w = world_under_policy("four-iam", 3, "4-migrate-then-deploy");
    package_json(&w);
    let out = w.run(
        "4-migrate-then-deploy",
        &[("MIGRATE_COMMAND", "./migrate up"), ("KEEP_REVISIONS", "2")],
    );
    let doc = out.success();
    assert_eq!(doc["task"]["containers"][0]["exitCode"], 0);
    assert_eq!(w.running(), format!("{}:4", w.family));
    assert_eq!(
        w.revisions("INACTIVE"),
        [format!("{}:1", w.family), format!("{}:2", w.family)]
    );
    assert!(
        !out.stderr.contains(" lacks "),
        "nothing refused: {}",
        out.stderr
    );
}

/// Examples 1 to 3 under the push and deploy policies that the pipelines
/// we replace write down (iam::PUSH_POLICY and iam::DEPLOY_POLICY, one
/// role holding both, as one job's role does): a user granted no more
/// than those passes each. What ecs-wait reads beyond DescribeServices is
/// optional, so example 3 warns and passes.
fn under_the_push_and_deploy_policies(name: &str) -> World {
    let mut actions: Vec<&str> = iam::PUSH_POLICY.to_vec();
    actions.extend(iam::DEPLOY_POLICY);
    world_as(name, 1, Some(iam::user_allowed(&actions)))
}

#[test]
fn example_1_passes_under_the_push_and_deploy_policies() {
    let w = under_the_push_and_deploy_policies("one-pd");
    w.run("1-push-and-deploy", &[]).success();
    assert_eq!(w.running(), format!("{}:2", w.family));
}

#[test]
fn example_2_passes_under_the_push_and_deploy_policies() {
    let w = under_the_push_and_deploy_policies("two-pd");
    let file = template(&w, "production");
    w.run(
        "2-template-with-static-keys",
        &[("TEMPLATE", file.to_str().unwrap())],
    )
    .success();
    assert_eq!(w.running(), format!("{}:2", w.family));
}

#[test]
fn example_3_passes_under_the_push_and_deploy_policies() {
    let w = under_the_push_and_deploy_policies("three-pd");
    let out = w.run(
        "3-deploy-and-wait",
        &[
            ("OLLAMA_URL", "http://ollama.internal:11434"),
            ("WAIT_TIMEOUT", "1m"),
        ],
    );
    let doc = out.success();
    assert_eq!(doc["wait"]["status"], "deployed", "{doc}");
    assert_eq!(w.running(), format!("{}:2", w.family));
    let warned: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("warning") && l.contains(" lacks "))
        .collect();
    assert!(
        warned.iter().all(|l| l.starts_with("ecs-wait: warning:")),
        "only ecs-wait's optional reads are refused: {}",
        out.stderr
    );
}

/// The deploy policy the pipelines we replace write down: these four ECS
/// actions and iam:PassRole. Example 1's render and deploy steps need no
/// more (its push step is the eight-action push policy's:
/// tests/least_privilege.rs). moto does not check ecs:TagResource, which a
/// definition with tags needs on AWS: the README's table says so.
#[test]
fn example_1s_render_and_deploy_pass_under_the_four_action_deploy_policy() {
    let user = iam::user_allowed(&[
        "ecs:DescribeTaskDefinition",
        "ecs:RegisterTaskDefinition",
        "ecs:UpdateService",
        "ecs:DescribeServices",
        "iam:PassRole",
    ]);
    let w = world_as("deploy-iam", 1, Some(user));
    let image = format!("{ECR}/{}@sha256:{}", w.repository, "a".repeat(64));
    let script = format!(
        "set -euo pipefail
         taskdef-render --family \"$TASK_FAMILY\" --container web --image {image} \\
           | ecs-deploy --cluster \"$ECS_CLUSTER\" --service web --force-new-deployment"
    );
    let out = w.bash(
        &[std::ffi::OsStr::new("-c"), std::ffi::OsStr::new(&script)],
        &[],
    );
    out.success();
    assert_eq!(w.running(), format!("{}:2", w.family));
    assert_eq!(w.image_of(&w.running()), image);
}

/// Each action of the policy that moto checks, taken out in turn: the
/// example fails, and its message names the action missing and the
/// statement to add. (moto does not check the registry-side ECR actions,
/// iam:PassRole or ecs:TagResource.)
#[test]
fn example_1_without_any_one_required_action_fails_naming_it() {
    let policy = read_json(root().join("examples/1-push-and-deploy/iam-policy.json"));
    let all = iam::actions_of(&policy);
    for missing in [
        "ecr:GetAuthorizationToken",
        "ecs:DescribeTaskDefinition",
        "ecs:RegisterTaskDefinition",
        "ecs:DescribeServices",
        "ecs:UpdateService",
    ] {
        assert!(
            all.iter().any(|a| a == missing),
            "{missing} is in the policy"
        );
        let actions: Vec<&str> = all
            .iter()
            .map(String::as_str)
            .filter(|a| *a != missing)
            .collect();
        let w = world_as("one-less", 1, Some(iam::user_allowed(&actions)));
        let out = w.run("1-push-and-deploy", &[]);
        assert_ne!(out.code, 0, "without {missing}: {}", out.stderr);
        assert!(
            out.stderr
                .contains(&format!("lacks {missing}: add to its policy")),
            "without {missing}: {}",
            out.stderr
        );
        assert_eq!(w.running(), format!("{}:1", w.family), "without {missing}");
    }
}

/// The fail-safe issue's reproduction: the registry refuses the push. The
/// rest of the pipe used to read oci-push's empty stdout as "no input",
/// render the old image with the new GIT_SHA and deploy it.
#[test]
fn example_1_a_refused_push_deploys_nothing() {
    let w = world("refused", 1);
    let registry = ScriptedRegistry::refusing_everything();
    w.registry_behind_ecr(&registry.address);
    let out = w.run("1-push-and-deploy", &[]);
    let doc = out.failure_report(1);
    assert_eq!(doc["error"]["tool"], "oci-push", "{doc}");
    assert!(doc.get("taskDefinition").is_none(), "{doc}");
    assert_eq!(w.running(), format!("{}:1", w.family));
    assert_eq!(w.revisions("ACTIVE"), [format!("{}:1", w.family)]);
    for tool in ["taskdef-render", "ecs-deploy"] {
        assert!(
            out.stderr.contains(&format!(
                "{tool}: skipped: oci-push failed before it (exit 1)"
            )),
            "{}",
            out.stderr
        );
    }
}

/// The same with the whole pipe of the issue, ecs-wait last, and no
/// pipefail: the pipe's own status is the failure's (it was 0, "deployed").
#[test]
fn a_refused_push_fails_the_whole_pipe_without_pipefail() {
    let w = world("refused-nopf", 1);
    let registry = ScriptedRegistry::refusing_everything();
    w.registry_behind_ecr(&registry.address);
    let pipe = "ecr-login \
        | oci-push --from image.tar --repository \"$ECR_REPOSITORY\" --tag \"$GIT_SHA\" \
        | taskdef-render --family \"$TASK_FAMILY\" --container web --env GIT_SHA=abc \
        | ecs-deploy --cluster \"$ECS_CLUSTER\" --service web \
        | ecs-wait";
    let out = w.bash(&["-c".as_ref(), pipe.as_ref()], &[]);
    let doc = out.failure_report(1);
    assert_eq!(doc["error"]["tool"], "oci-push", "{doc}");
    assert_eq!(w.running(), format!("{}:1", w.family));
    assert_eq!(w.revisions("ACTIVE"), [format!("{}:1", w.family)]);
}

fn template(w: &World, env_value: &str) -> PathBuf {
    let mut td = definition(&w.family, "REPLACE_ME");
    td["containerDefinitions"][0]["environment"][0]["value"] = json!(env_value);
    let path = w.dir.path().join("task-definition.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&td).unwrap()).unwrap();
    path
}

#[test]
fn example_2_fills_the_template_and_deploys() {
    let w = world("two", 1);
    let file = template(&w, "production");
    w.run(
        "2-template-with-static-keys",
        &[("TEMPLATE", file.to_str().unwrap())],
    )
    .success();
    assert_eq!(w.running(), format!("{}:2", w.family));
    assert!(
        w.image_of(&w.running())
            .starts_with(&format!("{ECR}/{}@sha256:", w.repository))
    );
}

/// A placeholder left in the template fails the job before anything is
/// registered: the service keeps its revision, no new one exists.
#[test]
fn example_2_a_placeholder_left_in_the_template_ships_nothing() {
    let w = world("two-left", 1);
    let file = template(&w, "REPLACE_ME");
    let out = w.run(
        "2-template-with-static-keys",
        &[("TEMPLATE", file.to_str().unwrap())],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("REPLACE_ME") || out.stderr.contains("placeholder"),
        "{}",
        out.stderr
    );
    assert_eq!(w.running(), format!("{}:1", w.family));
    assert_eq!(w.revisions("ACTIVE"), [format!("{}:1", w.family)]);
}

fn package_json(w: &World) {
    std::fs::write(
        w.dir.path().join("package.json"),
        r#"{"name": "shop", "version": "2.4.1"}"#,
    )
    .unwrap();
}

#[test]
fn example_4_migrates_then_deploys_that_revision_and_deregisters_old_ones() {
    let w = world("four", 3);
    package_json(&w);
    let out = w.run(
        "4-migrate-then-deploy",
        &[("MIGRATE_COMMAND", "./migrate up"), ("KEEP_REVISIONS", "2")],
    );
    let doc = out.success();
    assert_eq!(w.running(), format!("{}:4", w.family));
    assert_eq!(doc["task"]["containers"][0]["exitCode"], 0);
    let digest = doc["image"]["digest"].as_str().unwrap();
    for tag in ["0f3a9c1", "2.4.1-0f3a9c1", "latest"] {
        assert_eq!(w.digest_of_tag(tag), digest, "{tag}");
    }
    assert_eq!(
        w.revisions("INACTIVE"),
        [format!("{}:1", w.family), format!("{}:2", w.family)],
        "the newest 2 kept (3 and 4)"
    );
}

/// The migration fails: the job fails with its code path, and the service
/// is not updated.
/// An empty package.json (jq 1.6 prints nothing and exits 0 on it): the
/// job stops before anything is pushed, saying why.
#[test]
fn example_4_an_empty_package_json_ships_nothing() {
    let w = world("four-empty", 1);
    std::fs::write(w.dir.path().join("package.json"), "").unwrap();
    let out = w.run(
        "4-migrate-then-deploy",
        &[("MIGRATE_COMMAND", "./migrate up")],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("deploy.sh: package.json has no version"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("oci-push"),
        "nothing pushed: {}",
        out.stderr
    );
    assert_eq!(w.running(), format!("{}:1", w.family));
}

#[test]
fn example_4_a_failed_migration_deploys_nothing() {
    let w = world("four-fail", 1);
    package_json(&w);
    let out = w.run("4-migrate-then-deploy", &[("MIGRATE_COMMAND", "exit 3")]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("exit code 3"), "{}", out.stderr);
    assert!(out.stderr.contains("ecs-deploy: skipped"), "{}", out.stderr);
    assert_eq!(w.running(), format!("{}:1", w.family));
}

/// Each workflow runs its own script, and gives it every input the script
/// checks for (job or step env).
fn check_workflow(example: &str) {
    check_workflow_runs(example, "deploy.sh");
}

/// Each workflow runs `script` of its example, and gives it every input the
/// script checks for (workflow, job or step env).
fn check_workflow_runs(example: &str, script_name: &str) {
    let dir = root().join("examples").join(example);
    let script = std::fs::read_to_string(dir.join(script_name)).unwrap();
    let needed: Vec<&str> = script
        .lines()
        .find_map(|l| l.trim().strip_prefix("for name in "))
        .and_then(|l| l.split("; do").next())
        .expect("the script's `for name in ...; do` input check")
        .split_whitespace()
        .collect();
    let python = root().join("target/tools/venv/bin/python");
    let out = deploy_tests::tool(&python)
        .args([
            "-c",
            "import json,sys,yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
        ])
        .args([dir.join("workflow.yml")])
        .run();
    assert_eq!(out.code, 0, "{example}/workflow.yml: {}", out.stderr);
    let workflow: Value = serde_json::from_str(&out.stdout).unwrap();
    let wanted = format!("examples/{example}/{script_name}");
    let mut found = false;
    for (_, job) in workflow["jobs"].as_object().unwrap() {
        let steps = job["steps"].as_array().unwrap();
        for (i, step) in steps.iter().enumerate() {
            if step["run"].as_str().map(str::trim) != Some(wanted.as_str()) {
                continue;
            }
            found = true;
            // The tools come from the action (action.yml), installed before.
            assert!(
                steps[..i].iter().any(|s| s["uses"]
                    .as_str()
                    .is_some_and(|u| u.starts_with("deploykit/deploykit@"))),
                "{example}/workflow.yml runs {wanted} without installing the toolkit with its action first"
            );
            for name in &needed {
                let set = workflow["env"].get(name).is_some()
                    || job["env"].get(name).is_some()
                    || step["env"].get(name).is_some();
                assert!(set, "{example}/workflow.yml gives the script no {name}");
            }
        }
    }
    assert!(found, "{example}/workflow.yml never runs {wanted}");
}

#[test]
fn workflow_1_calls_its_script_with_its_inputs() {
    check_workflow("1-push-and-deploy");
}

#[test]
fn workflow_2_calls_its_script_with_its_inputs() {
    check_workflow("2-template-with-static-keys");
}

#[test]
fn workflow_4_calls_its_script_with_its_inputs() {
    check_workflow("4-migrate-then-deploy");
}

#[test]
fn example_3_deploys_with_the_environment_and_waits_for_the_rollout() {
    let w = world("three", 1);
    let out = w.run(
        "3-deploy-and-wait",
        &[
            ("OLLAMA_URL", "http://ollama.internal:11434"),
            ("WAIT_TIMEOUT", "1m"),
        ],
    );
    let doc = out.success();
    assert_eq!(w.running(), format!("{}:2", w.family));
    assert_eq!(doc["wait"]["status"], "deployed", "{doc}");
    let td = moto_ecs(
        "DescribeTaskDefinition",
        &json!({"taskDefinition": w.running()}),
    );
    let env = &td["taskDefinition"]["containerDefinitions"][0]["environment"];
    assert!(
        env.as_array()
            .unwrap()
            .contains(&json!({"name": "OLLAMA_URL", "value": "http://ollama.internal:11434"})),
        "{env}"
    );
}

/// ECS rolls the deployment back (the scripted ECS endpoint plays a
/// circuit-breaker rollback; ECR and the registry stay real): the job fails
/// with the reason, the breaker's count and the stopped tasks' exit codes.
#[test]
fn example_3_a_circuit_breaker_rollback_fails_the_job_saying_why() {
    let w = world("three-rollback", 1);
    let ecs = deploy_tests::scripted::ScriptedEcs::start("deploy-rolled-back");
    let out = w.run(
        "3-deploy-and-wait",
        &[
            ("AWS_ENDPOINT_URL_ECS", ecs.endpoint.as_str()),
            ("ECS_CLUSTER", "prod"),
            ("TASK_FAMILY", "web"),
            ("OLLAMA_URL", "http://ollama.internal:11434"),
            ("WAIT_TIMEOUT", "1m"),
        ],
    );
    let doc = out.failure_report(1);
    assert_eq!(doc["wait"]["status"], "failed", "{doc}");
    assert_eq!(doc["wait"]["state"], "ROLLBACK_SUCCESSFUL");
    for line in [
        "circuit breaker: 3 of 3 tasks failed",
        "exit 137: OutOfMemoryError",
    ] {
        assert!(
            out.stderr.contains(line),
            "{line:?} not in:\n{}",
            out.stderr
        );
    }
    let log = ecs.log();
    assert!(
        log.contains("RegisterTaskDefinition") && log.contains("UpdateService"),
        "the pipe deployed through the scripted endpoint: {log}"
    );
}

#[test]
fn workflow_3_calls_its_script_with_its_inputs() {
    check_workflow("3-deploy-and-wait");
}

/// Example 5's world: APP, its cluster, service and family all `APP-staging`
/// (revision 1 running), the ECR repository `APP`.
fn staging(app: &str) -> (World, String) {
    staging_in(world(app, 1))
}

/// Example 5's world on the moto that enforces IAM, its web-identity role
/// allowed exactly the actions of the example's iam-policy.json and
/// trusting as its trust-policy.json does (moto checks neither resources
/// nor conditions).
fn staging_under_policy(app: &str) -> (World, String) {
    let example = root().join("examples/5-environments-and-rollback");
    let mut w = world_under_policy(app, 1, "5-environments-and-rollback");
    let actions = iam::actions_of(&read_json(example.join("iam-policy.json")));
    let actions: Vec<&str> = actions.iter().map(String::as_str).collect();
    w.web_role = iam::role_allowed(&actions, &read_json(example.join("trust-policy.json")));
    staging_in(w)
}

fn staging_in(w: World) -> (World, String) {
    let name = format!("{}-staging", w.repository);
    let td = w.ecs(
        "DescribeTaskDefinition",
        &json!({"taskDefinition": format!("{}:1", w.family)}),
    );
    let mut td = td["taskDefinition"].clone();
    td["family"] = json!(name);
    for key in [
        "taskDefinitionArn",
        "revision",
        "status",
        "requiresAttributes",
        "compatibilities",
        "registeredAt",
        "registeredBy",
    ] {
        td.as_object_mut().unwrap().remove(key);
    }
    w.ecs("RegisterTaskDefinition", &td);
    w.ecs("CreateCluster", &json!({"clusterName": name}));
    let (subnet, group) = network(w.user.is_some());
    w.ecs(
        "CreateService",
        &json!({"cluster": name, "serviceName": name, "taskDefinition": format!("{name}:1"),
            "desiredCount": 1, "launchType": "FARGATE",
            "networkConfiguration": {"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group]}}}),
    );
    (w, name)
}

impl World {
    /// The revision service `name` of cluster `name` runs (example 5).
    fn running_in(&self, name: &str) -> String {
        let answer = self.ecs(
            "DescribeServices",
            &json!({"cluster": name, "services": [name]}),
        );
        let arn = answer["services"][0]["taskDefinition"].as_str().unwrap();
        arn.rsplit('/').next().unwrap().to_string()
    }
}

/// Web-identity credentials (a token file and a role, as the workflow's
/// OIDC step gives them): no keys in the environment, the SDK's own
/// provider assumes the role through STS (moto's).
fn with_web_identity(w: &World, run: &str, env: &[(&str, &str)]) -> Output {
    let token = w.dir.path().join("oidc-token");
    std::fs::write(&token, "eyJhbGciOiJSUzI1NiJ9.e30.c2ln").unwrap();
    let script = root()
        .join("examples/5-environments-and-rollback")
        .join(run);
    let bins = workspace_bin("ecs-wait");
    let path = format!(
        "{}:{}",
        bins.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut tool = deploy_tests::tool("bash")
        .args([script])
        .aws()
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("AWS_ROLE_ARN", &w.web_role)
        .env("AWS_WEB_IDENTITY_TOKEN_FILE", &token)
        .env("AWS_ROLE_SESSION_NAME", "gh-actions")
        .env("PATH", &path)
        .env(
            "CONTAINERS_REGISTRIES_CONF",
            w.dir.path().join("registries.conf"),
        )
        .env("IMAGE", w.dir.path().join("image.tar"))
        .env("APP", &w.repository)
        .env("ENVIRONMENT", "staging")
        .env("CONTAINER", "web")
        .env("GIT_SHA", "0f3a9c1")
        .env("WAIT_TIMEOUT", "1m")
        .current_dir(w.dir.path());
    if w.user.is_some() {
        tool = tool.env("AWS_ENDPOINT_URL", &emulators().iam_endpoint);
    }
    for (key, value) in env {
        tool = tool.env(key, value);
    }
    tool.run()
}

#[test]
fn example_5_deploys_one_environment_with_web_identity_credentials() {
    let (w, name) = staging("five");
    let out = with_web_identity(&w, "deploy.sh", &[]);
    let doc = out.success();
    assert_eq!(w.running_in(&name), format!("{name}:2"));
    assert_eq!(doc["wait"]["status"], "deployed", "{doc}");
    assert_eq!(
        w.digest_of_tag("staging"),
        doc["image"]["digest"].as_str().unwrap()
    );
}

#[test]
fn example_5_the_manual_rollback_goes_back_to_the_named_revision() {
    let (w, name) = staging("five-back");
    with_web_identity(&w, "deploy.sh", &[]).success();
    assert_eq!(w.running_in(&name), format!("{name}:2"));
    let out = with_web_identity(&w, "rollback.sh", &[("REVISION", "1")]);
    let doc = out.success();
    assert_eq!(w.running_in(&name), format!("{name}:1"));
    assert_eq!(doc["rollback"]["method"], "update", "{doc}");
    assert_eq!(doc["wait"]["status"], "deployed", "{doc}");
}

/// Example 5 as its documented role allows (examples/5-environments-and-
/// rollback/iam-policy.json, assumed by web identity as trust-policy.json
/// lets a job of the repository), on the moto that enforces IAM: the
/// deploy, then the rollback to the revision the service ran before (no
/// REVISION: the history reads find it), with no warning of a permission
/// missing.
#[test]
fn example_5_deploys_and_rolls_back_under_its_least_privilege_role() {
    let (w, name) = staging_under_policy("five-iam");
    let out = with_web_identity(&w, "deploy.sh", &[]);
    let doc = out.success();
    assert_eq!(doc["wait"]["status"], "deployed", "{doc}");
    assert_eq!(w.running_in(&name), format!("{name}:2"));
    assert!(!out.stderr.contains("lacks"), "{}", out.stderr);
    let out = with_web_identity(&w, "rollback.sh", &[]);
    let doc = out.success();
    assert_eq!(w.running_in(&name), format!("{name}:1"));
    assert_eq!(doc["wait"]["status"], "deployed", "{doc}");
    assert!(!out.stderr.contains("lacks"), "{}", out.stderr);
}

/// The rollback's history reads are optional: without
/// ecs:ListServiceDeployments (moto serves no history; on the moto that
/// enforces IAM the refusal comes first), one warning names the permission
/// and what is lost, and the service goes back to the revision before.
#[test]
fn example_5_rollback_without_the_history_permission_warns_once_and_rolls_back() {
    let (mut w, name) = staging_under_policy("five-nohist");
    let example = root().join("examples/5-environments-and-rollback");
    let actions: Vec<String> = iam::actions_of(&read_json(example.join("iam-policy.json")))
        .into_iter()
        .filter(|a| a != "ecs:ListServiceDeployments")
        .collect();
    let actions: Vec<&str> = actions.iter().map(String::as_str).collect();
    w.web_role = iam::role_allowed(&actions, &read_json(example.join("trust-policy.json")));
    with_web_identity(&w, "deploy.sh", &[]).success();
    let out = with_web_identity(&w, "rollback.sh", &[]);
    out.success();
    assert_eq!(w.running_in(&name), format!("{name}:1"));
    let warned: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("warning"))
        .collect();
    assert_eq!(warned.len(), 1, "{}", out.stderr);
    assert!(
        warned[0].contains("lacks ecs:ListServiceDeployments")
            && warned[0].contains("rolling back to the ACTIVE revision before"),
        "{}",
        warned[0]
    );
}

#[test]
fn workflow_5_calls_its_deploy_script_with_its_inputs() {
    check_workflow_runs("5-environments-and-rollback", "deploy.sh");
}

#[test]
fn workflow_5_calls_its_rollback_script_with_its_inputs() {
    check_workflow_runs("5-environments-and-rollback", "rollback.sh");
}

/// Example 6's world: what its definition names, which the plan checks
/// (`deploy_tests::example_definition_world`).
fn plan_world(name: &str) -> World {
    let w = world(name, 1);
    deploy_tests::example_definition_world();
    // The sidecar's public image, which the plan's image check reads: in
    // the open registry, where registries.conf puts public.ecr.aws.
    let e = emulators();
    let otel = "aws-observability/aws-otel-collector:v0.40.0";
    let layout = w.dir.path().join("otel");
    deploy_tests::images::oci_layout(
        &layout,
        &[("it", &Image::small("otel").for_platform("linux", "arm64"))],
        deploy_tests::images::Compression::Gzip,
    );
    let out = deploy_tests::tool("skopeo")
        .args([
            "copy",
            "--dest-tls-verify=false",
            &format!("oci:{}:it", layout.display()),
            &format!("docker://{}/ex-public/{otel}", e.registry),
        ])
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    std::fs::write(
        w.dir.path().join("registries.conf"),
        format!(
            "[[registry]]\nprefix = \"{ECR}\"\nlocation = \"{}\"\n\n[[registry]]\nprefix = \"public.ecr.aws\"\nlocation = \"{}/ex-public\"\n",
            e.registry_auth, e.registry
        ),
    )
    .unwrap();
    w
}

/// The plan job, then the approval job deploying that very plan: nothing
/// changes at the plan (its diff names the new image, its checks pass, the
/// job summary has both), and the deploy runs the planned definition.
#[test]
fn example_6_plans_then_deploys_the_approved_plan() {
    let w = plan_world("six");
    let summary = w.dir.path().join("summary.md");
    let plan_script = root().join("examples/6-plan-approve-deploy/plan.sh");
    let summary_env = summary.to_str().unwrap();
    let out = w.bash(
        &[plan_script.as_os_str()],
        &[("PLAN", "plan.json"), ("GITHUB_STEP_SUMMARY", summary_env)],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        w.running(),
        format!("{}:1", w.family),
        "the plan changes nothing"
    );
    let plan = read_json(w.dir.path().join("plan.json"));
    let change = &plan["plan"]["changes"][0];
    assert!(
        change["taskDefinition"]["paths"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["path"] == "containerDefinitions[web].image"),
        "{plan}"
    );
    assert!(
        plan["plan"]["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["status"] == "ok"),
        "{plan}"
    );
    let summary = std::fs::read_to_string(&summary).unwrap();
    assert!(summary.contains("### ecs-deploy: plan"), "{summary}");
    assert!(
        summary.contains("diff for web</summary>") && summary.contains("+      \"image\": \""),
        "{summary}"
    );
    let out = w.run(
        "6-plan-approve-deploy",
        &[("PLAN", "plan.json"), ("WAIT_TIMEOUT", "1m")],
    );
    let doc = out.success();
    assert_eq!(doc["wait"]["status"], "deployed", "{doc}");
    assert!(
        doc.get("plan").is_none(),
        "the plan is spent once deployed: {doc}"
    );
    assert_eq!(w.running(), format!("{}:2", w.family));
    assert_eq!(
        w.image_of(&w.running()),
        plan["taskDefinition"]["containerDefinitions"][0]["image"]
            .as_str()
            .unwrap()
    );
}

/// Another deploy lands between the plan and its approval: the approved
/// plan is not deployed over it.
#[test]
fn example_6_deploys_nothing_when_the_service_moved_since_the_plan() {
    let w = plan_world("six-moved");
    let plan_script = root().join("examples/6-plan-approve-deploy/plan.sh");
    let out = w.bash(&[plan_script.as_os_str()], &[("PLAN", "plan.json")]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let hotfix = definition(&w.family, &format!("{ECR}/{}:hotfix", w.repository));
    let arn = moto_ecs("RegisterTaskDefinition", &hotfix)["taskDefinition"]["taskDefinitionArn"]
        .as_str()
        .unwrap()
        .to_string();
    moto_ecs(
        "UpdateService",
        &json!({"cluster": w.cluster, "service": "web", "taskDefinition": arn}),
    );
    let out = w.run(
        "6-plan-approve-deploy",
        &[("PLAN", "plan.json"), ("WAIT_TIMEOUT", "1m")],
    );
    let doc = out.failure_report(1);
    let said = doc["error"]["message"].as_str().unwrap_or_default();
    assert!(said.contains("moved since the plan"), "{said}");
    assert_eq!(w.running(), format!("{}:2", w.family), "the hotfix stays");
    assert_eq!(w.revisions("ACTIVE").len(), 2, "nothing registered");
}

#[test]
fn workflow_6_calls_its_plan_script_with_its_inputs() {
    check_workflow_runs("6-plan-approve-deploy", "plan.sh");
}

#[test]
fn workflow_6_calls_its_deploy_script_with_its_inputs() {
    check_workflow_runs("6-plan-approve-deploy", "deploy.sh");
}

/// An optional permission refused: one warning naming it and what is lost,
/// and the job goes on (example 4 without logs:GetLogEvents migrates and
/// deploys, its migration's logs not shown).
#[test]
fn example_4_without_its_optional_logs_permission_warns_once_and_deploys() {
    let policy = read_json(root().join("examples/4-migrate-then-deploy/iam-policy.json"));
    let actions: Vec<String> = iam::actions_of(&policy)
        .into_iter()
        .filter(|a| a != "logs:GetLogEvents")
        .collect();
    let actions: Vec<&str> = actions.iter().map(String::as_str).collect();
    let w = world_as("four-nologs", 3, Some(iam::user_allowed(&actions)));
    package_json(&w);
    let out = w.run(
        "4-migrate-then-deploy",
        &[("MIGRATE_COMMAND", "./migrate up"), ("KEEP_REVISIONS", "2")],
    );
    out.success();
    assert_eq!(w.running(), format!("{}:4", w.family));
    let warned: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("lacks logs:GetLogEvents"))
        .collect();
    assert_eq!(warned.len(), 1, "{}", out.stderr);
    assert!(warned[0].contains("its logs not shown"), "{}", warned[0]);
}

// ------------------------------------------------- each tool's least privilege

/// `tool ARGS` in a world on the moto that enforces IAM, as a user allowed
/// exactly `actions`.
fn as_user_allowed(w: &World, actions: &[&str], tool: &str, args: &[&str]) -> Output {
    deploy_tests::tool(workspace_bin(tool))
        .aws_as(&iam::user_allowed(actions))
        .args(args)
        .current_dir(w.dir.path())
        .run()
}

/// taskdef-render --family needs ecs:DescribeTaskDefinition and nothing
/// else; without it, the message names it and the statement.
#[test]
fn taskdef_render_needs_only_describe_task_definition() {
    let w = world_under_policy("render-iam", 1, "1-push-and-deploy");
    let family = format!("{}:1", w.family);
    let args = ["--family", &family, "--container", "web", "--image", "x:1"];
    let doc =
        as_user_allowed(&w, &["ecs:DescribeTaskDefinition"], "taskdef-render", &args).success();
    assert_eq!(
        doc["taskDefinition"]["containerDefinitions"][0]["image"],
        "x:1"
    );
    let out = as_user_allowed(&w, &["ecs:ListTaskDefinitions"], "taskdef-render", &args);
    let err = out.failure_unechoed(1).to_string();
    assert!(
        err.contains(r#"lacks ecs:DescribeTaskDefinition: add to its policy {"Effect":"Allow","Action":"ecs:DescribeTaskDefinition","Resource":"*"}"#),
        "{err}"
    );
}

/// ecs-wait needs ecs:DescribeServices and nothing else (the rest is
/// optional); without it, the message names it and the statement.
#[test]
fn ecs_wait_needs_only_describe_services() {
    let w = world_under_policy("wait-iam", 1, "3-deploy-and-wait");
    let args = [
        "--cluster",
        &w.cluster,
        "--service",
        "web",
        "--timeout",
        "30s",
    ];
    let doc = as_user_allowed(&w, &["ecs:DescribeServices"], "ecs-wait", &args).success();
    assert_eq!(doc["wait"]["status"], "deployed", "{doc}");
    let out = as_user_allowed(&w, &["ecs:ListTasks"], "ecs-wait", &args);
    let doc = out.failure_report(1);
    let said = doc["error"]["message"].as_str().unwrap_or_default();
    assert!(
        said.contains(r#"lacks ecs:DescribeServices: add to its policy {"Effect":"Allow","Action":"ecs:DescribeServices","Resource":"*"}"#),
        "{said}"
    );
}

/// ecs-run --family F:1 --like-service web needs DescribeTaskDefinition,
/// DescribeServices, RunTask and DescribeTasks (its logs are optional);
/// each one taken out fails the run naming it.
#[test]
fn ecs_run_needs_exactly_its_four_required_actions() {
    let w = world_under_policy("run-iam", 1, "4-migrate-then-deploy");
    let family = format!("{}:1", w.family);
    let args = [
        "--cluster",
        &w.cluster,
        "--family",
        &family,
        "--like-service",
        "web",
        "--command",
        "exit 0",
        "--interval",
        "100ms",
        "--timeout",
        "1m",
    ];
    let required = [
        "ecs:DescribeTaskDefinition",
        "ecs:DescribeServices",
        "ecs:RunTask",
        "ecs:DescribeTasks",
    ];
    let doc = as_user_allowed(&w, &required, "ecs-run", &args).success();
    assert_eq!(doc["task"]["containers"][0]["exitCode"], 0, "{doc}");
    for missing in required {
        let actions: Vec<&str> = required.iter().copied().filter(|a| *a != missing).collect();
        let out = as_user_allowed(&w, &actions, "ecs-run", &args);
        assert_ne!(out.code, 0, "without {missing}: {}", out.stderr);
        assert!(
            out.stderr
                .contains(&format!("lacks {missing}: add to its policy")),
            "without {missing}: {}",
            out.stderr
        );
    }
}

/// Close-match suggestions are optional: without ecs:ListServices a
/// service that does not exist is still named, with one warning saying no
/// suggestion could be made and which permission would.
#[test]
fn ecs_deploy_without_list_services_warns_once_and_names_the_missing_service() {
    let w = world_under_policy("deploy-nolist", 1, "1-push-and-deploy");
    let family = format!("{}:1", w.family);
    let out = as_user_allowed(
        &w,
        &["ecs:DescribeServices", "ecs:DescribeTaskDefinition"],
        "ecs-deploy",
        &[
            "--family",
            &family,
            "--cluster",
            &w.cluster,
            "--service",
            "wbe",
        ],
    );
    let err = out.failure_unechoed(1).to_string();
    assert!(
        err.contains("service \"wbe\" not found in cluster"),
        "{err}"
    );
    let warned: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| {
            l.contains("lacks ecs:ListServices") && l.contains("no close matches suggested")
        })
        .collect();
    assert_eq!(warned.len(), 1, "{}", out.stderr);
}
