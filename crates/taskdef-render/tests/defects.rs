//! The defects found by trying taskdef-render on real task definitions
//! (describe dumps, console exports, CodeDeploy, Terraform, envsubst, sed
//! and GitHub Actions templates), one test per defect, each run through the
//! real binary.

mod common;

use common::render;
use serde_json::{Value, json};

fn one(container: Value) -> Value {
    json!({"taskDefinition": {"family": "app", "containerDefinitions": [container]}})
}

fn web() -> Value {
    json!({"name": "web", "image": "nginx:1"})
}

#[test]
fn a_nameless_environment_entry_is_dropped_with_a_warning() {
    let mut c = web();
    c["environment"] = json!([{"name": "", "value": ""}, {"name": "A", "value": "1"}]);
    let out = render().stdin_json(&one(c)).run();
    let doc = out.success();
    assert_eq!(
        doc["taskDefinition"]["containerDefinitions"][0]["environment"],
        json!([{"name": "A", "value": "1"}])
    );
    assert!(
        out.stderr.contains(
            "warning: dropped containerDefinitions[0].environment[0] (container \"web\"): an entry without a name"
        ),
        "{}",
        out.stderr
    );
}

#[test]
fn a_secret_with_an_empty_value_from_is_refused_naming_it() {
    let mut c = web();
    c["secrets"] = json!([{"name": "DB_URL", "valueFrom": ""}]);
    let out = render().stdin_json(&one(c)).run();
    let err = out.failure(2);
    assert!(
        err.contains("container \"web\": secrets[0] (\"DB_URL\") has no \"valueFrom\""),
        "{err}"
    );
}

#[test]
fn duplicate_secret_names_are_refused() {
    let mut c = web();
    c["secrets"] =
        json!([{"name": "S", "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/a"}]);
    let out = render()
        .args([
            "--secret",
            "T=arn:aws:ssm:us-east-1:123456789012:parameter/b",
        ])
        .args([
            "--jq",
            ".containerDefinitions[0].secrets += [.containerDefinitions[0].secrets[0]]",
        ])
        .stdin_json(&one(c))
        .run();
    let err = out.failure(2);
    assert!(
        err.contains("container \"web\" sets the secret \"S\" 2 times (secrets[0], secrets[2])"),
        "{err}"
    );
}

#[test]
fn an_env_name_given_twice_takes_the_last_value() {
    let out = render()
        .args(["--env", "A=first", "--env", "B=b", "--env", "A=last"])
        .stdin_json(&one(web()))
        .run();
    assert_eq!(
        out.success()["taskDefinition"]["containerDefinitions"][0]["environment"],
        json!([{"name": "A", "value": "last"}, {"name": "B", "value": "b"}])
    );
}

#[test]
fn expand_env_fills_the_template_before_edits_so_flag_values_arrive_verbatim() {
    let c = json!({"name": "web", "image": "${REGISTRY}/web:1"});
    let out = render()
        .args(["--expand-env", "--no-placeholder-check"])
        .args(["--env", "PASSWORD=p$ss${WORD}", "--env", "URL=${HOST}"])
        .env("REGISTRY", "r.example")
        .env("WORD", "expanded-twice")
        .stdin_json(&one(c))
        .run();
    let web = out.success()["taskDefinition"]["containerDefinitions"][0].clone();
    assert_eq!(web["image"], "r.example/web:1");
    assert_eq!(
        web["environment"],
        json!([{"name": "PASSWORD", "value": "p$ss${WORD}"}, {"name": "URL", "value": "${HOST}"}])
    );
}

#[test]
fn help_says_the_order_of_the_work() {
    let help = render().args(["--help"]).run().stdout;
    assert!(
        help.contains("--expand-env fills its ${VAR}s (the\ntemplate as read"),
        "{help}"
    );
    assert!(help.contains("the last wins"), "{help}");
}

#[test]
fn arg_and_argjson_take_values_that_begin_with_a_dash() {
    let out = render()
        .args(["--jq", ".cpu = $c | .memory = ($m | tostring) | .containerDefinitions[0].command = [$ARGS.named | tojson]"])
        .args(["--arg", "c", "-1", "--argjson", "m", "-1"])
        .args(["--no-placeholder-check"])
        .stdin_json(&one(web()))
        .run();
    let td = out.success()["taskDefinition"].clone();
    assert_eq!(td["cpu"], "-1");
    assert_eq!(td["memory"], "-1");
    assert_eq!(
        td["containerDefinitions"][0]["command"],
        json!([r#"{"c":"-1","m":-1}"#])
    );
}

#[test]
fn a_file_saved_by_powershell_as_utf16_is_read() {
    let text = serde_json::to_string(&one(web())).unwrap();
    let mut bytes = vec![0xFF, 0xFE];
    for unit in text.encode_utf16() {
        bytes.extend(unit.to_le_bytes());
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("td.json");
    std::fs::write(&path, bytes).unwrap();
    let out = render().args(["-t", path.to_str().unwrap()]).run();
    assert_eq!(out.success()["taskDefinition"]["family"], "app");
}

#[test]
fn a_file_with_a_utf8_byte_order_mark_is_read() {
    let mut bytes = vec![0xEF, 0xBB, 0xBF];
    bytes.extend(serde_json::to_vec(&one(web())).unwrap());
    let out = render().args(["-t", "-"]).stdin(bytes).run();
    assert_eq!(out.success()["taskDefinition"]["family"], "app");
}

#[test]
fn a_file_in_another_encoding_says_the_encoding_is_the_problem() {
    let out = render()
        .args(["-t", "-"])
        .stdin(b"{\"family\": \"caf\xE9\"}".to_vec())
        .run();
    let err = out.failure(2);
    assert!(err.contains("stdin: not UTF-8 text"), "{err}");
    assert!(err.contains("encoding is the problem"), "{err}");
}

#[test]
fn an_empty_entry_point_is_kept() {
    let mut c = web();
    c["entryPoint"] = json!([""]);
    let out = render().stdin_json(&one(c)).run();
    assert_eq!(
        out.success()["taskDefinition"]["containerDefinitions"][0]["entryPoint"],
        json!([""])
    );
}

#[test]
fn a_port_written_as_a_string_is_converted_with_a_warning() {
    let mut c = web();
    c["portMappings"] = json!([{"containerPort": "3000", "protocol": "tcp"}]);
    let out = render().stdin_json(&one(c)).run();
    let doc = out.success();
    assert_eq!(
        doc["taskDefinition"]["containerDefinitions"][0]["portMappings"][0]["containerPort"],
        json!(3000)
    );
    assert!(
        out.stderr.contains("warning: containerDefinitions[0].portMappings[0].containerPort (container \"web\"): a string converted to an integer"),
        "{}",
        out.stderr
    );
}

#[test]
fn tags_written_as_a_map_become_key_value_entries() {
    let mut doc = one(web());
    doc["taskDefinition"]["tags"] = json!({"Project": "x"});
    let out = render().stdin_json(&doc).run();
    assert_eq!(
        out.success()["taskDefinition"]["tags"],
        json!([{"key": "Project", "value": "x"}])
    );
    assert!(
        out.stderr
            .contains("warning: tags: an object converted to a list of objects (Tag)"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_value_of_the_wrong_type_is_refused_with_its_path() {
    let mut c = web();
    c["command"] = json!("npm start");
    c["healthCheck"] = json!({"command": ["CMD", "true"], "retries": "three"});
    let out = render().stdin_json(&one(c)).run();
    let err = out.failure(2);
    for want in [
        "containerDefinitions[0].command (container \"web\"): a string where the ECS API wants a list of strings",
        "containerDefinitions[0].healthCheck.retries (container \"web\"): a string where the ECS API wants an integer",
    ] {
        assert!(err.contains(want), "missing {want:?} in:\n{err}");
    }
}

#[test]
fn an_unfilled_template_is_refused_naming_every_placeholder() {
    let doc = json!({"taskDefinition": {
        "family": "app-__STAGE__",
        "executionRoleArn": "arn:aws:iam::YOUR_ACCOUNT_ID:role/exec",
        "taskRoleArn": "arn:aws:iam::XXXXXXXXXXXX:role/task",
        "cpu": "{{ cpu }}",
        "containerDefinitions": [{
            "name": "web", "image": "${ECR_REPO}:${{ github.sha }}",
            "command": ["sh", "-c", "exec node server.js --port ${PORT} > <html>"],
            "secrets": [{"name": "DB", "valueFrom": "arn:aws:ssm:us-east-1:ACCOUNT_ID:parameter/db"}],
            "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-region": "<REGION>"}}
        }]
    }});
    let out = render().stdin_json(&doc).run();
    let err = out.failure(2);
    for want in [
        "family still holds the placeholder \"__STAGE__\"",
        "executionRoleArn still holds the placeholder \"YOUR_ACCOUNT_ID\"",
        "taskRoleArn still holds the placeholder \"XXXXXXXXXXXX\"",
        "cpu still holds the placeholder \"{{ cpu }}\"",
        "containerDefinitions[0].image (container \"web\") still holds the placeholder \"${{ github.sha }}\"",
        "containerDefinitions[0].secrets[0].valueFrom (container \"web\") still holds the placeholder \"ACCOUNT_ID\"",
        "containerDefinitions[0].logConfiguration.options[\"awslogs-region\"] (container \"web\") still holds a placeholder: <WORD> (the value is not shown",
    ] {
        assert!(err.contains(want), "missing {want:?} in:\n{err}");
    }
    assert!(
        !err.contains("command"),
        "shell text is the container's own: {err}"
    );
}

#[test]
fn an_upstream_failure_is_passed_on_untouched_with_its_exit_code() {
    let input = r#"{"taskDefinition": {"family": "app", "containerDefinitions": [{"name": "web", "image": "nginx:1"}]}, "task": {"lastStatus": "STOPPED"}, "error": {"tool": "ecs-run", "message": "migration failed", "exitCode": 1}}"#;
    let out = render()
        .args(["--image", "never:applied", "--env", "A=1"])
        .stdin(input)
        .run();
    let doc = out.failure_report(1);
    assert_eq!(
        out.stdout.trim_end(),
        input,
        "the object passes byte for byte"
    );
    assert_eq!(doc["error"]["tool"], "ecs-run");
    assert!(
        out.stderr
            .contains("taskdef-render: skipped: ecs-run failed before it (exit 1)"),
        "{}",
        out.stderr
    );
}

#[test]
fn an_upstream_time_out_keeps_its_exit_code_3() {
    let input = r#"{"error": {"tool": "ecs-wait", "message": "timed out", "exitCode": 3}}"#;
    let out = render()
        .args(["-t", "/nonexistent/never-read.json"])
        .stdin(input)
        .run();
    out.failure_report(3);
}

#[test]
fn dockers_go_template_in_a_log_option_is_no_placeholder() {
    let out = render()
        .args([
            "--log-driver",
            "json-file",
            "--log-option",
            "tag={{.ImageName}}/{{.Name}}",
        ])
        .stdin_json(&one(web()))
        .run();
    assert_eq!(
        out.success()["taskDefinition"]["containerDefinitions"][0]["logConfiguration"]["options"]["tag"],
        "{{.ImageName}}/{{.Name}}"
    );
}

#[test]
fn expand_env_leaves_the_containers_shell_text_alone() {
    let mut c = web();
    c["command"] = json!(["sh", "-c", "exec app --port ${PORT}"]);
    c["image"] = json!("nginx:${TAG:-1}");
    let out = render()
        .args(["--expand-env"])
        .env("PORT", "9999")
        .env("TAG", "")
        .stdin_json(&one(c))
        .run();
    let web = out.success()["taskDefinition"]["containerDefinitions"][0].clone();
    assert_eq!(web["command"][2], "exec app --port ${PORT}");
    assert_eq!(
        web["image"], "nginx:1",
        "an empty TAG takes the default, as in the shell"
    );
}

#[test]
fn one_tag_written_as_an_object_is_one_tag() {
    let mut doc = one(web());
    doc["taskDefinition"]["tags"] = json!({"key": "team", "value": "payments"});
    let out = render().stdin_json(&doc).run();
    assert_eq!(
        out.success()["taskDefinition"]["tags"],
        json!([{"key": "team", "value": "payments"}])
    );
}

#[test]
fn a_describe_output_of_a_deleted_revision_registers() {
    let mut doc = one(web());
    doc["taskDefinition"]["deleteRequestedAt"] = json!(1.7e9);
    doc["taskDefinition"]["status"] = json!("DELETE_IN_PROGRESS");
    let out = render().stdin_json(&doc).run();
    let td = out.success()["taskDefinition"].clone();
    assert!(
        td.get("deleteRequestedAt").is_none() && td.get("status").is_none(),
        "{td}"
    );
    assert_eq!(
        out.stderr, "",
        "no 'unknown field' warning for a read-only field"
    );
}

/// `--env-file -`: stdin is the dotenv file then, not a pipe object.
#[test]
fn env_file_from_stdin_with_a_definition_file() {
    let dir = tempfile::tempdir().unwrap();
    let td = dir.path().join("td.json");
    std::fs::write(&td, serde_json::to_vec(&one(web())).unwrap()).unwrap();
    let out = render()
        .args(["-t", td.to_str().unwrap(), "--env-file", "-"])
        .stdin("A=1\nB=two\n")
        .run();
    assert_eq!(
        out.success()["taskDefinition"]["containerDefinitions"][0]["environment"],
        json!([{"name": "A", "value": "1"}, {"name": "B", "value": "two"}])
    );
}

// Found on the way to the fail-safe issue (its item 7), one test each.

#[test]
fn a_cpu_ecs_would_refuse_is_exit_2_naming_it() {
    let out = render()
        .args(["--cpu", "lots"])
        .stdin_json(&one(web()))
        .run();
    let err = out.failure(2);
    assert!(
        err.contains("--cpu \"lots\": expected CPU units (256, 1024) or vCPUs"),
        "{err}"
    );
}

#[test]
fn a_memory_ecs_would_refuse_is_exit_2_naming_it() {
    let out = render()
        .args(["--memory", "abc"])
        .stdin_json(&one(web()))
        .run();
    let err = out.failure(2);
    assert!(
        err.contains("--memory \"abc\": expected MiB (512, 2048) or GB"),
        "{err}"
    );
}

#[test]
fn cpu_and_memory_in_the_forms_ecs_reads_are_kept() {
    for (cpu, memory) in [("256", "512"), ("1 vCPU", "2 GB"), (".25 vcpu", "0.5GB")] {
        let doc = render()
            .args(["--cpu", cpu, "--memory", memory])
            .stdin_json(&one(web()))
            .run()
            .success();
        assert_eq!(doc["taskDefinition"]["cpu"], cpu);
        assert_eq!(doc["taskDefinition"]["memory"], memory);
    }
}

#[test]
fn a_jq_value_nested_too_deep_is_exit_2_not_a_crash() {
    let out = render()
        .args(["--jq", ".x = (reduce range(10000) as $i (1; [.]))"])
        .stdin_json(&one(web()))
        .run();
    let err = out.failure(2);
    assert!(err.contains("nested more than 128 levels deep"), "{err}");
}

#[test]
fn an_error_raised_with_an_arg_masks_the_whole_value() {
    let out = render()
        .args(["--arg", "pw", "hunter2 99 abc", "--jq", "error($pw)"])
        .stdin_json(&one(web()))
        .run();
    let err = out.failure(2);
    assert!(!err.contains("hunter") && !err.contains("abc"), "{err}");
}

#[test]
fn an_empty_image_uri_on_stdin_is_said_to_be_empty() {
    let mut doc = one(web());
    doc["image"] = json!({"uri": ""});
    let out = render().stdin_json(&doc).run();
    let err = out.failure(2);
    assert!(
        err.contains("stdin: \"image.uri\" is empty, expected the image URI"),
        "{err}"
    );
}

#[test]
fn a_jq_value_built_deep_inside_the_filter_is_no_crash() {
    // Never output: built, freed and compared inside the filter.
    let out = render()
        .args(["--jq", "(reduce range(1000000) as $i (1; [.])) as $d | . "])
        .stdin_json(&one(web()))
        .run();
    out.success();
}
