//! taskdef-render as users run it: the real binary, stdin in, JSON out, exit
//! code and stderr checked. Fixtures live in `fixtures/`.

mod common;

use common::{READ_ONLY, fixture, render, writable_leaves};
use deploy_tests::{Output, assert_json_file, read_json};
use serde_json::{Value, json};

/// The realistic describe-task-definition output: three containers, fields
/// from recent ECS API versions and two no ECS has yet.
fn described() -> String {
    fixture("describe-app.json").display().to_string()
}

/// The fixture has two fields no ECS API has: they are kept, and named.
const FUTURE_FIELD_WARNINGS: &str = "\
taskdef-render: warning: containerDefinitions[1].someFutureContainerField (container \"worker\"): not a field of the ECS API that this build knows (aws-sdk-ecs model); kept as it is
taskdef-render: warning: someFutureTaskField: not a field of the ECS API that this build knows (aws-sdk-ecs model); kept as it is
";

fn td(out: &Output) -> Value {
    out.success()["taskDefinition"].clone()
}

fn container<'a>(td: &'a Value, name: &str) -> &'a Value {
    td["containerDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no container {name}"))
}

#[test]
fn without_edits_every_field_survives_in_value_and_order() {
    let input = read_json(described());
    let out = render().args(["--task-definition", &described()]).run();
    let td = td(&out);
    assert_eq!(
        out.stderr, FUTURE_FIELD_WARNINGS,
        "only the two future fields are named"
    );

    // Field by field: every leaf of the input that is not read-only is in the
    // output at the same path with the same value, and in the same order.
    let want = writable_leaves(&input["taskDefinition"], true);
    let got = writable_leaves(&td, false);
    assert_eq!(got, want);
    assert!(
        want.len() > 80,
        "the fixture should be rich, has {} leaves",
        want.len()
    );

    for field in READ_ONLY {
        assert!(td.get(field).is_none(), "{field} must be removed");
    }
    // Fields newer than any SDK build pass through untouched.
    assert_eq!(td["someFutureTaskField"], json!(["kept", "as", "is"]));
    assert_eq!(
        container(&td, "worker")["someFutureContainerField"],
        json!({"enabled": true, "level": 0})
    );
    // Empty values go, except an empty environment variable; 0 and false stay.
    let web = container(&td, "web");
    assert_eq!(
        web["environment"][1],
        json!({"name": "FEATURE_FLAGS", "value": ""})
    );
    assert!(web.get("links").is_none() && web.get("entryPoint").is_none());
    assert_eq!(
        web["linuxParameters"],
        json!({"capabilities": {"drop": ["NET_RAW"]}, "initProcessEnabled": true})
    );
    assert_eq!(web["cpu"], json!(0));
    assert_eq!(td["enableFaultInjection"], json!(false));
    assert_eq!(td["volumes"], json!([{"name": "tmp"}]));
    assert!(container(&td, "log-router").get("environment").is_none());
    // The tags printed beside the definition are carried into it.
    assert_eq!(td["tags"], input["tags"]);
}

#[test]
fn every_edit_kind_on_one_container() {
    let out = render()
        .args(["-t", &described(), "--container", "web"])
        .args([
            "--image",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:1.5.0",
        ])
        .args([
            "--env",
            "NODE_ENV=production",
            "--env",
            "NEW_VAR=a=b",
            "--unset-env",
            "DEBUG",
        ])
        .args([
            "--secret",
            "API_KEY=arn:aws:ssm:us-east-1:123456789012:parameter/app/api-key",
        ])
        .args([
            "--secret",
            "DATABASE_URL=arn:aws:secretsmanager:us-east-1:123456789012:secret:app/db2",
        ])
        .args([
            "--log-option",
            "retry_limit=2",
            "--log-option",
            "region=eu-west-1",
        ])
        .args([
            "--docker-label",
            "version=1.5.0",
            "--docker-label",
            "team=core",
        ])
        .args(["--command", r#"node server.js --port "8080""#])
        .args(["--task-role-arn", "arn:aws:iam::123456789012:role/new-task"])
        .args([
            "--execution-role-arn",
            "arn:aws:iam::123456789012:role/new-exec",
        ])
        .args(["--cpu", "2048", "--memory", "4096"])
        .run();
    let doc = out.success();
    assert_eq!(out.stderr, FUTURE_FIELD_WARNINGS);
    assert_json_file(&doc, fixture("edits.out.json"));

    // The same facts, spelled out, so the snapshot cannot drift unnoticed.
    let td = &doc["taskDefinition"];
    let web = container(td, "web");
    assert_eq!(
        web["image"],
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:1.5.0"
    );
    assert_eq!(
        web["environment"],
        json!([
            {"name": "NODE_ENV", "value": "production"},
            {"name": "FEATURE_FLAGS", "value": ""},
            {"name": "PORT", "value": "8080"},
            {"name": "NEW_VAR", "value": "a=b"}
        ])
    );
    assert_eq!(
        web["secrets"][0]["valueFrom"],
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:app/db2"
    );
    assert_eq!(
        web["secrets"][1],
        json!({"name": "API_KEY", "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/app/api-key"})
    );
    assert_eq!(
        web["logConfiguration"]["options"],
        json!({"Name": "cloudwatch", "region": "eu-west-1", "log_group_name": "/ecs/app", "retry_limit": "2"})
    );
    assert_eq!(
        web["dockerLabels"],
        json!({"com.datadoghq.tags.service": "web", "team": "core", "version": "1.5.0"})
    );
    assert_eq!(
        web["command"],
        json!(["node", "server.js", "--port", "8080"])
    );
    assert_eq!(td["cpu"], "2048");
    assert_eq!(td["taskRoleArn"], "arn:aws:iam::123456789012:role/new-task");
    // Other containers are untouched.
    assert_eq!(
        container(td, "worker")["image"],
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/worker:1.4.1"
    );
}

#[test]
fn env_file_then_env_flags_then_unset() {
    let dir = tempfile::tempdir().unwrap();
    let env_file = dir.path().join("prod.env");
    std::fs::write(
        &env_file,
        "# prod\nexport NODE_ENV=production\nDEBUG=\nGREETING=\"hello world\"\nPORT=9090\n",
    )
    .unwrap();
    let out = render()
        .args([
            "-t",
            &described(),
            "-c",
            "web",
            "--env-file",
            env_file.to_str().unwrap(),
            "--env",
            "PORT=7070",
            "--unset-env",
            "GREETING",
            "--unset-env",
            "NOPE",
        ])
        .run();
    let td = td(&out);
    assert_eq!(
        container(&td, "web")["environment"],
        json!([
            {"name": "NODE_ENV", "value": "production"},
            {"name": "FEATURE_FLAGS", "value": ""},
            {"name": "DEBUG", "value": ""},
            {"name": "PORT", "value": "7070"}
        ])
    );
    assert!(
        out.stderr
            .contains("--unset-env NOPE: container \"web\" has no such variable"),
        "{}",
        out.stderr
    );
}

#[test]
fn log_driver_and_labels_on_a_container_without_them() {
    let out = render()
        .args([
            "-t",
            &described(),
            "-c",
            "log-router",
            "--log-driver",
            "awslogs",
            "--log-option",
            "awslogs-group=/ecs/router",
            "--docker-label",
            "a=b",
        ])
        .run();
    let router = container(&td(&out), "log-router").clone();
    assert_eq!(
        router["logConfiguration"],
        json!({"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/router"}})
    );
    assert_eq!(router["dockerLabels"], json!({"a": "b"}));

    let out = render()
        .args([
            "-t",
            &described(),
            "-c",
            "log-router",
            "--log-option",
            "x=y",
        ])
        .run();
    assert!(
        out.failure(2)
            .contains("--log-option: container \"log-router\" has no log driver"),
        "{}",
        out.stderr
    );
}

#[test]
fn changing_the_log_driver_keeps_options_and_says_so() {
    let out = render()
        .args([
            "-t",
            &described(),
            "-c",
            "worker",
            "--log-driver",
            "json-file",
        ])
        .run();
    let worker = container(&td(&out), "worker").clone();
    assert_eq!(worker["logConfiguration"]["logDriver"], "json-file");
    assert_eq!(
        worker["logConfiguration"]["options"]["awslogs-group"],
        "/ecs/app"
    );
    assert!(
        out.stderr
            .contains("log driver changed from awslogs to json-file"),
        "{}",
        out.stderr
    );
}

#[test]
fn command_as_json_array() {
    let out = render()
        .args([
            "-t",
            &described(),
            "-c",
            "worker",
            "--command",
            r#"["sh", "-c", "exec node worker.js"]"#,
        ])
        .run();
    assert_eq!(
        container(&td(&out), "worker")["command"],
        json!(["sh", "-c", "exec node worker.js"])
    );
    let out = render()
        .args([
            "-t",
            &described(),
            "-c",
            "worker",
            "--command",
            r#"["sh", 1]"#,
        ])
        .run();
    assert!(out.failure(2).contains("--command"), "{}", out.stderr);
    let out = render()
        .args([
            "-t",
            &described(),
            "-c",
            "worker",
            "--command",
            "sh -c 'unclosed",
        ])
        .run();
    assert!(
        out.failure(2).contains("unbalanced quotes"),
        "{}",
        out.stderr
    );
}

/// `[]` does not clear a command (ECS keeps the image's for an empty one):
/// refused, as ecs-run refuses it, with what to do instead.
#[test]
fn an_empty_command_is_refused() {
    for empty in ["[]", "  "] {
        let out = render()
            .args(["-t", &described(), "-c", "worker", "--command", empty])
            .run();
        assert!(
            out.failure(2).contains("leave --command out"),
            "{empty:?}: {}",
            out.stderr
        );
    }
}

#[test]
fn jq_edits_with_arguments() {
    let out = render()
        .args(["-t", &described(), "--jq", ".containerDefinitions |= map(.image |= sub(\":1.4.1$\"; \":\" + $tag)) | .cpu = ($cpu | tostring) | .memory = $ENV.MEM"])
        .args(["--arg", "tag", "1.6.0", "--argjson", "cpu", "512"])
        .env("MEM", "1024")
        .run();
    let td = td(&out);
    assert_eq!(
        container(&td, "web")["image"],
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:1.6.0"
    );
    assert_eq!(
        container(&td, "worker")["image"],
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/worker:1.6.0"
    );
    assert_eq!(td["cpu"], "512");
    assert_eq!(td["memory"], "1024");
}

/// `jq_refused!(name, filter, message)`: the filter's output is refused,
/// exit 2, with `message` on stderr.
macro_rules! jq_refused {
    ($name:ident, $filter:expr, $want:expr) => {
        #[test]
        fn $name() {
            let out = render().args(["-t", &described(), "--jq", $filter]).run();
            let err = out.failure(2);
            assert!(err.contains($want), "expected {:?} in:\n{err}", $want);
        }
    };
}

jq_refused!(
    jq_yielding_three_values,
    ".containerDefinitions[]",
    "produced 3 values"
);
jq_refused!(jq_yielding_nothing, "empty", "produced nothing");
jq_refused!(jq_yielding_a_string, ".family", "produced a string");
jq_refused!(jq_failing_at_run_time, ".a + 1 | .", "--jq:");

#[test]
fn jq_syntax_errors_show_the_filter_and_where() {
    let out = render()
        .args(["-t", &described(), "--jq", ".cpu = (1 +"])
        .run();
    let err = out.failure(2);
    assert!(
        err.starts_with("taskdef-render: --jq: invalid filter"),
        "{err}"
    );
    assert!(err.contains(".cpu = (1 +") && err.contains('^'), "{err}");

    let out = render()
        .args(["-t", &described(), "--jq", ".cpu = $nope"])
        .run();
    assert!(
        out.failure(2).contains("undefined variable $nope"),
        "{}",
        out.stderr
    );
    let out = render().args(["-t", &described(), "--arg", "a", "b"]).run();
    assert!(
        out.failure(2).contains("--arg and --argjson are for --jq"),
        "{}",
        out.stderr
    );
    let out = render()
        .args(["-t", &described(), "--jq", ".", "--argjson", "a", "{nope"])
        .run();
    assert!(
        out.failure(2).contains("--argjson a: not valid JSON"),
        "{}",
        out.stderr
    );
}

#[test]
fn expand_env_fills_templates_and_names_what_is_unset() {
    let template = json!({"family": "app-${STAGE}", "containerDefinitions": [{"name": "web", "image": "${REGISTRY}/web:${TAG:-latest}", "command": ["sh", "-c", "echo $HOME"]}]});
    let out = render()
        .args(["-t", "-", "--expand-env"])
        .stdin_json(&template)
        .env("STAGE", "prod")
        .env("REGISTRY", "r.example")
        .run();
    let td = td(&out);
    assert_eq!(td["family"], "app-prod");
    assert_eq!(
        td["containerDefinitions"][0]["image"],
        "r.example/web:latest"
    );
    assert_eq!(td["containerDefinitions"][0]["command"][2], "echo $HOME");

    let out = render()
        .args(["-t", "-", "--expand-env"])
        .stdin_json(&template)
        .env("STAGE", "prod")
        .run();
    let err = out.failure_unechoed(2);
    assert!(
        err.contains("${REGISTRY} in containerDefinitions[0].image (container \"web\")"),
        "{err}"
    );
}

#[test]
fn input_precedence_file_then_stdin_then_family() {
    let bare = json!({"family": "bare", "containerDefinitions": [{"name": "app", "image": "a:1"}]});
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("td.json");
    std::fs::write(&file, serde_json::to_vec(&bare).unwrap()).unwrap();
    let stdin = json!({"registry": {"endpoint": "x"}, "taskDefinition": {"family": "from-stdin", "containerDefinitions": [{"name": "app", "image": "b:1"}]}, "later": 1});

    // A file wins over stdin; the stdin object still passes through.
    let out = render()
        .args(["-t", file.to_str().unwrap()])
        .stdin_json(&stdin)
        .run();
    let doc = out.success();
    assert_eq!(doc["taskDefinition"]["family"], "bare");
    let keys: Vec<_> = doc.as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        keys,
        ["registry", "taskDefinition", "later"],
        "keys keep their order"
    );

    // Stdin wins over --family (which would need AWS), and the user is told.
    let out = render()
        .args(["--family", "whatever"])
        .stdin_json(&stdin)
        .run();
    assert_eq!(out.success()["taskDefinition"]["family"], "from-stdin");
    assert!(out.stderr.contains("--family is ignored"), "{}", out.stderr);

    // Nothing at all is a usage error that says what to give.
    let out = render().run();
    assert!(
        out.failure(2)
            .contains("no task definition: give --task-definition FILE"),
        "{}",
        out.stderr
    );
}

#[test]
fn stdin_image_uri_from_oci_push_is_the_image_unless_flagged() {
    let stdin = json!({
        "image": {"registry": "r", "repository": "web", "digest": "sha256:abc", "tags": ["1"], "uri": "r/web@sha256:abc"},
        "taskDefinition": {"family": "f", "containerDefinitions": [{"name": "web", "image": "old"}]}
    });
    let out = render().stdin_json(&stdin).run();
    let doc = out.success();
    assert_eq!(
        doc["taskDefinition"]["containerDefinitions"][0]["image"],
        "r/web@sha256:abc"
    );
    assert_eq!(doc["image"], stdin["image"], "the image key passes through");
    let out = render()
        .args(["--image", "flag:1"])
        .stdin_json(&stdin)
        .run();
    assert_eq!(td(&out)["containerDefinitions"][0]["image"], "flag:1");
}

#[test]
fn dash_reads_the_definition_from_stdin_bare_or_wrapped() {
    let wrapped = read_json(described());
    let out = render()
        .args(["-t", "-", "-c", "worker", "--image", "w:2"])
        .stdin_json(&wrapped)
        .run();
    let doc = out.success();
    assert_eq!(container(&doc["taskDefinition"], "worker")["image"], "w:2");
    assert_eq!(
        doc["tags"], wrapped["tags"],
        "describe output's other keys pass through"
    );

    let bare = wrapped["taskDefinition"].clone();
    let out = render()
        .args(["-t", "-", "-c", "worker", "--image", "w:2"])
        .stdin_json(&bare)
        .run();
    let doc = out.success();
    assert_eq!(
        doc.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["taskDefinition"]
    );
    assert!(doc["taskDefinition"].get("tags").is_none());
}

#[test]
fn choosing_the_container() {
    let out = render().args(["-t", &described(), "--image", "x:1"]).run();
    assert_eq!(
        out.failure(2).trim(),
        "taskdef-render: task definition \"app\" has 3 containers (web, worker, log-router): choose one with --container"
    );
    let out = render()
        .args(["-t", &described(), "-c", "api", "--image", "x:1"])
        .run();
    assert_eq!(
        out.failure(2).trim(),
        "taskdef-render: container \"api\" not found in task definition \"app\" (containers: web, worker, log-router)"
    );
    // One container: no need to name it.
    let single = json!({"family": "one", "containerDefinitions": [{"name": "only", "image": "a"}]});
    let out = render()
        .args(["--image", "b"])
        .stdin_json(&json!({"taskDefinition": single}))
        .run();
    assert_eq!(td(&out)["containerDefinitions"][0]["image"], "b");
}

#[test]
fn placeholders_are_refused_with_their_paths() {
    let template = json!({
        "family": "app",
        "executionRoleArn": "arn:aws:iam::<account-id>:role/exec",
        "containerDefinitions": [
            {"name": "web", "image": "REPLACE_ME", "environment": [{"name": "A", "value": "x"}, {"name": "A", "value": "y"}]},
            {"name": "side", "image": "busybox", "command": ["echo", "<b>fine in a command</b>"], "environment": [{"name": "T", "value": "TODO"}]}
        ]
    });
    let out = render().args(["-t", "-"]).stdin_json(&template).run();
    let err = out.failure_unechoed(2);
    for want in [
        "task definition \"app\" is not ready to register:",
        "executionRoleArn still holds the placeholder \"<account-id>\"",
        "containerDefinitions[0].image (container \"web\") still holds the placeholder \"REPLACE_ME\"",
        "container \"web\" sets the environment variable \"A\" 2 times (environment[0], environment[1])",
    ] {
        assert!(err.contains(want), "missing {want:?} in:\n{err}");
    }
    assert!(!err.contains("fine in a command"), "{err}");

    // Fixed by flags: only the user's own pattern is left to find.
    let out = render()
        .args([
            "-t",
            "-",
            "-c",
            "web",
            "--image",
            "nginx:1",
            "--execution-role-arn",
            "arn:aws:iam::123456789012:role/e",
            "--unset-env",
            "A",
            "--placeholder",
            "TODO|FIXME",
        ])
        .stdin_json(&template)
        .run();
    let err = out.failure_unechoed(2);
    assert!(err.contains("containerDefinitions[1].environment[0].value (container \"side\") still holds a placeholder: matching --placeholder (the value is not shown"), "{err}");

    let out = render()
        .args([
            "-t",
            "-",
            "--no-placeholder-check",
            "-c",
            "web",
            "--unset-env",
            "A",
        ])
        .stdin_json(&template)
        .run();
    assert_eq!(td(&out)["containerDefinitions"][0]["image"], "REPLACE_ME");
}

#[test]
fn definitions_missing_what_register_needs() {
    let out = render()
        .args(["-t", "-"])
        .stdin_json(&json!({"containerDefinitions": [{"name": "web"}]}))
        .run();
    let err = out.failure_unechoed(2);
    assert!(err.contains("no \"family\""), "{err}");
    assert!(err.contains("container \"web\" has no \"image\""), "{err}");
}

/// `bad_input!(name, [args], stdin, message)`: exit 2, nothing on stdout,
/// stderr begins with the tool's name and holds `message`, and the value
/// `s3cr3t` (which the malformed cases carry) appears nowhere.
macro_rules! bad_input {
    ($name:ident, [$($arg:expr),*], $stdin:expr, $want:expr) => {
        #[test]
        fn $name() {
            let args: &[&str] = &[$($arg),*];
            let out = render().args(args).stdin($stdin).run();
            // Stdin read as a file (`-t -`) is never echoed in the report.
            let err = if args.contains(&"-") {
                out.failure_unechoed(2)
            } else {
                out.failure(2)
            };
            assert!(err.starts_with("taskdef-render: "), "{err}");
            assert!(err.contains($want), "expected {:?} in:\n{err}", $want);
            assert!(!err.contains("s3cr3t"), "a malformed value may be a secret: {err}");
        }
    };
}

bad_input!(
    bad_json_on_stdin,
    [],
    "{\"taskDefinition\": ",
    "stdin: not valid JSON"
);
bad_input!(
    an_array_on_stdin,
    [],
    "[1, 2]",
    "stdin: expected one JSON object, got an array"
);
bad_input!(
    task_definition_not_an_object,
    [],
    "{\"taskDefinition\": []}",
    "stdin: \"taskDefinition\" is an array, expected an object"
);
bad_input!(
    image_without_uri,
    [],
    "{\"image\": {\"digest\": \"x\"}, \"taskDefinition\": {}}",
    "\"image\" has no \"uri\""
);
bad_input!(
    missing_file,
    ["-t", "/nonexistent/td.json"],
    "",
    "reading task definition from /nonexistent/td.json: no such file or directory"
);
bad_input!(
    env_value_without_a_key,
    ["--env", "A=1", "--env", "s3cr3t-value"],
    "{}",
    "2nd of 2 --env flags: --env: expected KEY=VALUE, got a value without \"=\""
);
bad_input!(
    env_with_an_empty_key,
    ["--env", "=s3cr3t"],
    "{}",
    "--env: the name before \"=\" is empty"
);
bad_input!(
    unset_env_given_a_value,
    ["--unset-env", "DB_PASSWORD=s3cr3t"],
    "{}",
    "--unset-env DB_PASSWORD: expected a name alone"
);
bad_input!(
    log_option_without_equals,
    ["--log-option", "s3cr3t"],
    "{}",
    "--log-option: expected KEY=VALUE"
);
bad_input!(
    docker_label_without_equals,
    ["--docker-label", "s3cr3t"],
    "{}",
    "--docker-label: expected KEY=VALUE"
);
bad_input!(
    secret_without_equals,
    ["--secret", "s3cr3t"],
    "{}",
    "--secret: expected NAME=VALUE_FROM"
);
bad_input!(
    secret_with_empty_value_from,
    ["--secret", "S="],
    "{}",
    "--secret S: the ARN or parameter name after \"=\" is empty"
);
bad_input!(
    family_with_a_tag,
    ["--family", "web:latest"],
    "",
    "--family \"web:latest\": expected FAMILY or FAMILY:REVISION"
);
bad_input!(
    placeholder_not_a_pattern,
    ["--placeholder", "("],
    "{}",
    "--placeholder \"(\": not a valid pattern"
);
bad_input!(
    output_file_dash,
    ["--output-file", "-"],
    "{}",
    "--output-file needs a file path"
);
bad_input!(
    missing_env_file,
    ["--env-file", "/nonexistent/.env"],
    "{}",
    "reading --env-file from /nonexistent/.env"
);
bad_input!(
    env_file_dash_with_an_object_on_stdin,
    ["--env-file", "-"],
    "{}",
    "--env-file -: stdin already carries the JSON object"
);
bad_input!(blank_cpu, ["--cpu", " "], "{}", "--cpu is empty");
bad_input!(
    argjson_not_json,
    ["-t", "-", "--jq", ".", "--argjson", "a", "{s3cr3t"],
    "{}",
    "--argjson a: not valid JSON"
);
bad_input!(
    unknown_flag_in_the_toolkit_form,
    ["--no-such-flag"],
    "{}",
    "unexpected argument '--no-such-flag'"
);
bad_input!(
    stray_value_after_a_flag_is_not_repeated,
    ["--env", "PASSWORD=", "s3cr3t"],
    "{}",
    "unexpected argument (a value, not repeated here)"
);
bad_input!(
    jq_run_time_error_never_repeats_a_value,
    [
        "-t",
        "-",
        "--jq",
        ".containerDefinitions[0].environment.foo"
    ],
    r#"{"family": "f", "containerDefinitions": [{"name": "w", "image": "i", "environment": [{"name": "DB_PASSWORD", "value": "s3cr3t"}]}]}"#,
    "--jq: cannot index"
);
bad_input!(
    jq_parse_of_a_secret_arg_never_repeats_it,
    [
        "-t",
        "-",
        "--jq",
        ".cpu = ($pw | tonumber)",
        "--arg",
        "pw",
        "s3cr3t"
    ],
    r#"{"family": "f", "containerDefinitions": [{"name": "w", "image": "i"}]}"#,
    "--jq: cannot parse"
);
bad_input!(
    arg_given_as_name_equals_value,
    ["-t", "-", "--jq", ".", "--arg", "DB_PASSWORD=s3cr3t", "x"],
    "{}",
    "--arg DB_PASSWORD: expected a name alone"
);
bad_input!(
    env_file_line_that_is_no_pair_is_not_repeated,
    [
        "-t",
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/describe-app.json"
        ),
        "-c",
        "web",
        "--env-file",
        "-"
    ],
    "postgres://app:s3cr3t@db:5432/app?sslmode=require\n",
    "--env-file -: line 1: not a KEY=VALUE line"
);
bad_input!(
    missing_flag_value,
    ["--image"],
    "{}",
    "a value is required for '--image <URI>'"
);

#[test]
fn output_file_holds_the_bare_definition() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("td.json");
    let out = render()
        .args([
            "-t",
            &described(),
            "-c",
            "web",
            "--image",
            "x:2",
            "--output-file",
            path.to_str().unwrap(),
        ])
        .run();
    let doc = out.success();
    assert_eq!(read_json(&path), doc["taskDefinition"]);
}

// --output-file: checked before any work (exit 2), written 0600 when new.

/// taskdef-render as a shell with `umask 000` runs it.
fn render_under_umask_000() -> deploy_tests::Tool {
    deploy_tests::tool("bash").args([
        "-c",
        "umask 000; exec \"$0\" \"$@\"",
        env!("CARGO_BIN_EXE_taskdef-render"),
    ])
}

/// The permission bits of `path`.
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

/// A render of the fixture into `--output-file path`.
fn render_into(tool: deploy_tests::Tool, path: &std::path::Path) -> Output {
    tool.args([
        "-t",
        &described(),
        "-c",
        "web",
        "--image",
        "x:2",
        "--output-file",
        path.to_str().unwrap(),
    ])
    .run()
}

#[test]
fn an_output_file_in_a_missing_directory_is_exit_2() {
    let out = render_into(render(), std::path::Path::new("/nonexistent/x"));
    let err = out.failure(2);
    assert!(
        err.contains("--output-file /nonexistent/x: the directory /nonexistent does not exist"),
        "{err}"
    );
}

#[test]
fn an_output_file_that_is_a_directory_is_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = render_into(render(), dir.path());
    let err = out.failure(2);
    assert!(
        err.contains(&format!(
            "--output-file {}: is a directory",
            dir.path().display()
        )),
        "{err}"
    );
}

/// Checked with the flags, before DescribeTaskDefinition: the endpoint here
/// refuses connections, and the run never gets that far.
#[test]
fn an_output_file_is_checked_before_the_definition_is_fetched() {
    let out = render()
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .args(["--family", "web", "--output-file", "/nonexistent/x"])
        .run();
    let err = out.failure(2);
    assert!(err.contains("--output-file /nonexistent/x"), "{err}");
}

/// It can hold environment values: nobody else's to read.
#[test]
fn a_new_output_file_is_0600_under_umask_000() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("td.json");
    let doc = render_into(render_under_umask_000(), &path).success();
    assert_eq!(read_json(&path), doc["taskDefinition"]);
    assert_eq!(mode(&path), 0o600);
}

/// Replaced through a temporary file and a rename: the old file's mode is
/// carried over, and nothing else is left in its directory.
#[test]
fn an_existing_output_file_keeps_its_mode_and_nothing_else_is_left() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("td.json");
    std::fs::write(&path, "{}").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    let doc = render_into(render_under_umask_000(), &path).success();
    assert_eq!(read_json(&path), doc["taskDefinition"]);
    assert_eq!(mode(&path), 0o640);
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["td.json"]);
}

#[test]
fn help_has_examples_and_version_prints() {
    let out = render().args(["--help"]).run();
    assert_eq!(out.code, 0);
    assert!(
        out.stdout.contains("Examples:") && out.stdout.contains("aws ecs describe-task-definition"),
        "{}",
        out.stdout
    );
    let out = render().args(["--version"]).run();
    assert_eq!(
        out.stdout.trim(),
        format!("taskdef-render {}", env!("CARGO_PKG_VERSION"))
    );
}

/// A Fargate definition (the fixture requires FARGATE) whose rendered task
/// size Fargate does not run: refused, exit 2, naming the pair as given
/// and the memory Fargate takes with that CPU.
#[test]
fn a_fargate_task_size_fargate_does_not_run_is_refused() {
    let out = render()
        .args(["-t", &described(), "--cpu", "256", "--memory", "4 GB"])
        .run();
    let err = out.failure(2);
    assert!(
        err.contains("task size cpu \"256\", memory \"4 GB\": the definition requires FARGATE")
            && err.contains("with CPU 256, memory is 512, 1024 or 2048 (MiB)"),
        "{err}"
    );
}

/// One flag changes the pair the input had (cpu 1024, memory 2048) into
/// one Fargate does not run: refused too.
#[test]
fn one_flag_that_breaks_the_input_s_fargate_pair_is_refused() {
    let out = render().args(["-t", &described(), "--memory", "512"]).run();
    let err = out.failure(2);
    assert!(
        err.contains("task size cpu \"1024\", memory \"512\"")
            && err.contains("with CPU 1024, memory is 2048 to 8192 in steps of 1024 (MiB)"),
        "{err}"
    );
}

/// --jq is the last edit: a pair it sets is checked as well.
#[test]
fn a_fargate_pair_set_by_jq_is_checked() {
    let out = render()
        .args(["-t", &described(), "--jq", ".memory = \"16384\""])
        .run();
    let err = out.failure(2);
    assert!(
        err.contains("task size cpu \"1024\", memory \"16384\""),
        "{err}"
    );
}

/// A pair Fargate runs, in vCPU and GB: rendered as given.
#[test]
fn a_fargate_task_size_fargate_runs_passes() {
    let out = render()
        .args(["-t", &described(), "--cpu", "1 vCPU", "--memory", "3 GB"])
        .run();
    let td = td(&out);
    assert_eq!(td["cpu"], "1 vCPU");
    assert_eq!(td["memory"], "3 GB");
}

/// The same odd pair on a definition that does not require Fargate (EC2
/// runs any size its instances have): not Fargate's table to judge.
#[test]
fn a_task_size_odd_for_fargate_passes_when_fargate_is_not_required() {
    let out = render()
        .args(["-t", &described(), "--cpu", "256", "--memory", "4 GB"])
        .args(["--jq", ".requiresCompatibilities = [\"EC2\"]"])
        .run();
    let td = td(&out);
    assert_eq!(td["cpu"], "256");
    assert_eq!(td["memory"], "4 GB");
}
