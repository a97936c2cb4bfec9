//! The GitHub Actions job summary (`$GITHUB_STEP_SUMMARY`) and step outputs
//! (`$GITHUB_OUTPUT`) that oci-push, ecs-deploy, ecs-wait and ecs-run
//! append to, from the real binaries on the emulators. The Markdown is read
//! back with a Markdown parser, as GitHub reads it, and the assertions are
//! on what a reader sees: the headings, each table's cells, the code blocks.

use std::path::{Path, PathBuf};
use std::time::Duration;

use deploy_tests::images::{Compression, Image, oci_layout};
use deploy_tests::scripted::{ScriptedEcs, ScriptedRegistry};
use deploy_tests::{ECR, Output, moto_ecs, read_json, root, unique, workspace_bin};
use deploykit::summary::parsed::{Block, blocks};
use serde_json::json;

/// The summary file as sections: each heading's text and the blocks under
/// it (the blocks before the first heading under `""`).
fn sections(path: &Path) -> Vec<(String, Vec<Block>)> {
    let md = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("reading the step summary {}: {e}", path.display()));
    let mut out: Vec<(String, Vec<Block>)> = vec![(String::new(), Vec::new())];
    for block in blocks(&md) {
        match block {
            Block::Heading(h) => out.push((h, Vec::new())),
            other => out.last_mut().expect("one section").1.push(other),
        }
    }
    out
}

/// The tables of a section, each as rows of cells (the header row first).
fn tables(blocks: &[Block]) -> Vec<Vec<Vec<String>>> {
    blocks
        .iter()
        .filter_map(|b| match b {
            Block::Table(rows) => Some(rows.clone()),
            _ => None,
        })
        .collect()
}

/// The table whose header row is `header`, panicking with the section when
/// there is none.
#[track_caller]
fn table(section: &(String, Vec<Block>), header: &[&str]) -> Vec<Vec<String>> {
    tables(&section.1)
        .into_iter()
        .find(|t| t[0] == header)
        .unwrap_or_else(|| panic!("no table {header:?} in section {section:#?}"))
}

/// The `key=value` lines of a `$GITHUB_OUTPUT` file, in order.
fn output_keys(path: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
        .lines()
        .map(|l| {
            let (k, v) = l
                .split_once('=')
                .unwrap_or_else(|| panic!("not key=value: {l:?}"));
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// Registers examples/task-definition.json under a fresh family, with a
/// cluster of its own and a service `web` running it: (cluster, family).
fn deployed_example(prefix: &str) -> (String, String) {
    let family = unique(prefix);
    let mut td = read_json(root().join("examples/task-definition.json"));
    td["family"] = json!(family);
    moto_ecs("RegisterTaskDefinition", &td);
    let cluster = unique("cluster");
    moto_ecs("CreateCluster", &json!({"clusterName": cluster}));
    moto_ecs(
        "CreateService",
        &json!({"cluster": cluster, "serviceName": "web", "taskDefinition": family, "desiredCount": 1}),
    );
    (cluster, family)
}

/// The whole pipe of a deploy, as a job's step runs it: ecr-login |
/// oci-push | taskdef-render | ecs-deploy | ecs-wait, with the job summary
/// and step outputs files GitHub Actions names (the summary already holds
/// an earlier step's words). `render_env` goes to taskdef-render as
/// `--env`.
struct Deploy {
    out: Output,
    dir: tempfile::TempDir,
    repository: String,
    cluster: String,
    family: String,
    digest: String,
}

impl Deploy {
    fn run(prefix: &str, render_env: &str) -> Deploy {
        let emu = deploy_tests::emulators();
        let (cluster, family) = deployed_example(prefix);
        let dir = tempfile::tempdir().unwrap();
        let layout = dir.path().join("image");
        let digests = oci_layout(&layout, &[("v1", &Image::small(prefix))], Compression::Gzip);
        let conf = deploy_tests::ecr_registries_conf(dir.path(), &emu.registry_auth);
        std::fs::write(
            dir.path().join("summary.md"),
            "# Deploy\n\nAn earlier step.\n",
        )
        .unwrap();
        let repository = unique("web");
        let script = format!(
            "set -o pipefail; {login} | {push} --from {layout} --repository {repository} --tag 1 --tag latest \
               --registries-conf {conf} --create-repository \
             | {render} --family {family} --container web --env {render_env} \
             | {deploy} --cluster {cluster} --service web | {wait} --timeout 1m",
            login = workspace_bin("ecr-login").display(),
            push = workspace_bin("oci-push").display(),
            render = workspace_bin("taskdef-render").display(),
            deploy = workspace_bin("ecs-deploy").display(),
            wait = workspace_bin("ecs-wait").display(),
            layout = layout.display(),
            conf = conf.display(),
        );
        let out = deploy_tests::tool("bash")
            .args(["-c", &script])
            .aws()
            .env("GITHUB_STEP_SUMMARY", dir.path().join("summary.md"))
            .env("GITHUB_OUTPUT", dir.path().join("outputs"))
            .timeout(Duration::from_secs(120))
            .run();
        Deploy {
            out,
            dir,
            repository,
            cluster,
            family,
            digest: digests[0].clone(),
        }
    }

    fn summary(&self) -> PathBuf {
        self.dir.path().join("summary.md")
    }

    fn outputs(&self) -> PathBuf {
        self.dir.path().join("outputs")
    }
}

/// The console page of service `web`'s deployments in `cluster`.
fn console(cluster: &str) -> String {
    format!(
        "https://us-east-1.console.aws.amazon.com/ecs/v2/clusters/{cluster}/services/web/deployments?region=us-east-1"
    )
}

/// One file, appended to by every tool of the pipe in its order, after
/// what an earlier step wrote: oci-push's push, ecs-deploy's revision and
/// service, ecs-wait's rollout; ecr-login and taskdef-render write none.
#[test]
fn a_successful_pipe_appends_each_tools_section_in_order() {
    let d = Deploy::run("summary-pipe", "NODE_ENV=production");
    let doc = d.out.success();
    let s = sections(&d.summary());
    let headings: Vec<&str> = s.iter().map(|(h, _)| h.as_str()).collect();
    assert_eq!(
        headings,
        [
            "",
            "Deploy",
            "oci-push: pushed",
            "ecs-deploy: deployed",
            "ecs-wait: deployed"
        ],
        "{s:#?}"
    );
    assert_eq!(
        s[1].1,
        [Block::Paragraph("An earlier step.".into())],
        "kept"
    );

    assert_eq!(
        table(&s[2], &["Repository", "Digest", "Tags"])[1],
        [
            format!("{ECR}/{}", d.repository),
            d.digest.clone(),
            "1, latest".into()
        ]
    );

    let arn = doc["taskDefinition"]["taskDefinitionArn"].as_str().unwrap();
    let revision = format!("{}:2", d.family);
    assert!(arn.ends_with(&revision), "{arn}");
    assert!(
        s[3].1
            .contains(&Block::Paragraph(format!("Task definition {revision}"))),
        "{s:#?}"
    );
    let deployment = doc["service"]["deployments"][0]["id"].as_str().unwrap();
    assert_eq!(
        table(
            &s[3],
            &[
                "Service",
                "Cluster",
                "Task definition",
                "Deployment",
                "Update"
            ]
        )[1],
        [
            format!("<link {}>web", console(&d.cluster)),
            d.cluster.clone(),
            revision.clone(),
            deployment.to_string(),
            "updated".into()
        ]
    );

    let rollout = table(
        &s[4],
        &["Service", "Status", "Deployment", "Took", "Reason"],
    );
    assert_eq!(rollout.len(), 2, "one service: {rollout:?}");
    let took = format!("{}s", doc["wait"]["elapsedSeconds"]);
    assert_eq!(rollout[1][0], format!("<link {}>web", console(&d.cluster)));
    assert!(rollout[1][1].starts_with("deployed"), "{rollout:?}");
    let reason = doc["wait"]["reason"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(rollout[1][2..], [deployment.to_string(), took, reason]);
    assert_eq!(tables(&s[4].1).len(), 1, "no stopped tasks: {s:#?}");
}

/// A circuit-breaker rollback on the scripted ECS endpoint: the section
/// is the failure as tables: the error, the service with its status and
/// reason, and each stopped task's container with its exit code and
/// reason.
#[test]
fn a_failed_rollout_gives_the_failure_table_with_the_stopped_tasks() {
    let ecs = ScriptedEcs::start("circuit-breaker-rollback");
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.md");
    let out = ecs
        .point(deploy_tests::tool(workspace_bin("ecs-wait")))
        .args(["--cluster", "prod", "--service", "web", "--timeout", "1m"])
        .env("GITHUB_STEP_SUMMARY", &summary)
        .timeout(Duration::from_secs(30))
        .run();
    let doc = out.failure_report(1);
    let s = sections(&summary);
    let headings: Vec<&str> = s.iter().map(|(h, _)| h.as_str()).collect();
    assert_eq!(headings, ["", "ecs-wait: failed"], "{s:#?}");
    let section = &s[1];
    assert_eq!(
        table(section, &["Exit code", "Error"])[1],
        ["1", doc["error"]["message"].as_str().unwrap()]
    );
    let reason = doc["wait"]["reason"].as_str().unwrap();
    assert!(reason.contains("circuit breaker"), "{reason}");
    assert_eq!(
        table(
            section,
            &["Service", "Status", "Deployment", "Took", "Reason"]
        )[1],
        [
            "<link https://us-east-1.console.aws.amazon.com/ecs/v2/clusters/prod/services/web/deployments?region=us-east-1>web",
            "failed (ROLLBACK_SUCCESSFUL)",
            "sd-2",
            &format!("{}s", doc["wait"]["elapsedSeconds"]),
            reason,
        ]
    );
    assert_eq!(
        table(
            section,
            &["Service", "Task", "Container", "Exit code", "Reason"]
        )[1..],
        [
            [
                "web",
                "t1",
                "web",
                "137",
                "OutOfMemoryError: Container killed due to memory usage"
            ],
            [
                "web",
                "t2",
                "web",
                "1",
                "Essential container in task exited (EssentialContainerExited)"
            ],
        ]
    );
}

/// `$GITHUB_STEP_SUMMARY` names a directory: each tool that writes a
/// section says so, naming the variable, with exit 2, and has sent nothing
/// to ECS or the registry.
#[test]
fn an_unwritable_step_summary_is_exit_2_before_any_call() {
    let ecs = ScriptedEcs::start("circuit-breaker-rollback");
    let registry = ScriptedRegistry::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("image");
    oci_layout(
        &layout,
        &[("v1", &Image::small("unwritable"))],
        Compression::Gzip,
    );
    let runs: [(&str, Vec<String>); 4] = [
        (
            "oci-push",
            vec![
                "--from".into(),
                layout.display().to_string(),
                "--to".into(),
                format!("{}/web", registry.address),
                "--tag".into(),
                "1".into(),
            ],
        ),
        (
            "ecs-deploy",
            ["--cluster", "prod", "--service", "web", "--family", "web:2"]
                .map(String::from)
                .to_vec(),
        ),
        (
            "ecs-wait",
            ["--cluster", "prod", "--service", "web"]
                .map(String::from)
                .to_vec(),
        ),
        (
            "ecs-run",
            [
                "--cluster",
                "prod",
                "--family",
                "web:2",
                "--launch-type",
                "FARGATE",
                "--subnet",
                "subnet-1",
                "--security-group",
                "sg-1",
            ]
            .map(String::from)
            .to_vec(),
        ),
    ];
    for (name, args) in runs {
        let out = ecs
            .point(deploy_tests::tool(workspace_bin(name)))
            .args(&args)
            .env("GITHUB_STEP_SUMMARY", dir.path())
            .run();
        let err = out.failure(2);
        let line = format!(
            "{name}: $GITHUB_STEP_SUMMARY {}: is a directory",
            dir.path().display()
        );
        assert!(err.contains(&line), "{name}: {line:?} not in:\n{err}");
    }
    assert_eq!(ecs.log(), "", "a call reached ECS");
    assert_eq!(registry.log(), "", "a request reached the registry");
}

/// A value of the task definition's environment is in the pipe's object
/// (the deployed revision carries it), never in the summary or the step
/// outputs.
#[test]
fn a_task_definition_environment_value_never_appears_in_the_summary() {
    let value = unique("s3cr3t-env-value");
    let d = Deploy::run("summary-env", &format!("API_TOKEN={value}"));
    let doc = d.out.success();
    assert!(
        doc["taskDefinition"].to_string().contains(&value),
        "the object carries it, so the summary had it to hand: {doc}"
    );
    let summary = std::fs::read_to_string(d.summary()).unwrap();
    assert!(
        summary.contains("### ecs-deploy: deployed"),
        "the deploy wrote its section:\n{summary}"
    );
    assert!(!summary.contains(&value), "in the summary:\n{summary}");
    let outputs = std::fs::read_to_string(d.outputs()).unwrap();
    assert!(!outputs.contains(&value), "in $GITHUB_OUTPUT:\n{outputs}");
}

/// The key facts of each tool of the pipe, for later steps
/// (`steps.<id>.outputs.<key>`), in the pipe's order after ecr-login's own;
/// then ecs-run's, from a task that exits 3.
#[test]
fn github_output_gets_each_tools_key_facts() {
    let d = Deploy::run("summary-outputs", "NODE_ENV=production");
    let doc = d.out.success();
    assert_eq!(
        output_keys(&d.outputs()),
        [
            ("registry", ECR.to_string()),
            ("image", format!("{ECR}/{}@{}", d.repository, d.digest)),
            ("digest", d.digest.clone()),
            ("tags", r#"["1","latest"]"#.to_string()),
            (
                "task-definition-arn",
                doc["taskDefinition"]["taskDefinitionArn"]
                    .as_str()
                    .unwrap()
                    .to_string()
            ),
            ("status", "deployed".to_string()),
        ]
        .map(|(k, v)| (k.to_string(), v))
    );

    let cluster = unique("summary-run");
    let family = unique("summary-mig");
    moto_ecs("CreateCluster", &json!({"clusterName": cluster}));
    moto_ecs(
        "RegisterTaskDefinition",
        &json!({"family": family, "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
            "cpu": "256", "memory": "512",
            "containerDefinitions": [{"name": "migrate", "image": "r.example/app:1", "memory": 512,
                "essential": true}]}),
    );
    let (subnet, group) = deploy_tests::default_network();
    let outputs = d.dir.path().join("run-outputs");
    let summary = d.dir.path().join("run-summary.md");
    let out = deploy_tests::tool(workspace_bin("ecs-run"))
        .aws()
        .args(["--cluster", &cluster, "--family", &format!("{family}:1")])
        .args([
            "--launch-type",
            "FARGATE",
            "--subnet",
            &subnet,
            "--security-group",
            &group,
        ])
        .args(["--interval", "100ms", "--no-logs", "--command", "exit 3"])
        .env("GITHUB_OUTPUT", &outputs)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .run();
    let doc = out.failure_report(1);
    let task_arn = doc["task"]["taskArn"].as_str().unwrap();
    assert_eq!(
        output_keys(&outputs),
        [
            ("task-arn".to_string(), task_arn.to_string()),
            ("exit-code".to_string(), "3".to_string())
        ]
    );
    let s = sections(&summary);
    assert_eq!(s[1].0, "ecs-run: task failed");
    let task_id = task_arn.rsplit('/').next().unwrap();
    assert_eq!(
        table(&s[1], &["Task", "Container", "Exit code", "Reason"])[1][..3],
        [task_id, "migrate", "3"]
    );
}

/// Once the work is done, a summary that cannot be written (a full disk)
/// is a warning and the push still succeeds; step outputs that cannot be
/// written fail it, since a later step would read nothing.
#[test]
fn a_summary_unwritten_after_the_work_is_a_warning_and_unwritten_outputs_a_failure() {
    let emu = deploy_tests::emulators();
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("image");
    oci_layout(
        &layout,
        &[("v1", &Image::small("full-disk"))],
        Compression::Gzip,
    );
    let push = |var: &str| {
        deploy_tests::tool(workspace_bin("oci-push"))
            .args(["--from", layout.to_str().unwrap(), "--tag", "1", "--to"])
            .args([format!("{}/{}", emu.registry, unique("full"))])
            .env(var, "/dev/full")
            .run()
    };
    let out = push("GITHUB_STEP_SUMMARY");
    let doc = out.success();
    assert!(doc["image"]["digest"].is_string(), "{doc}");
    assert!(
        out.stderr
            .contains("oci-push: warning: appending to $GITHUB_STEP_SUMMARY (/dev/full)"),
        "{}",
        out.stderr
    );
    let out = push("GITHUB_OUTPUT");
    let doc = out.failure_report(1);
    assert!(doc["image"]["digest"].is_string(), "{doc}");
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap()
            .contains("$GITHUB_OUTPUT"),
        "{doc}"
    );
}
