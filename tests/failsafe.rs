//! Fail safe (ARCHITECTURE.md, "Failure travels down the pipe"): every
//! failure of a tool in the pipe prints the object it received (or `{}`)
//! with `error`, so the steps after it do nothing and the last exit status
//! tells; a password or a file read from stdin is never echoed; raw-text
//! outputs print no object; a closed or full stdout never turns a failure
//! into success. The real binaries, no emulator needed.

use deploy_tests::{Output, Stdout, workspace_bin};
use serde_json::{Value, json};

const RECEIVED: &str = r#"{"image": {"uri": "r.example/web@sha256:0f"}, "keep": [1, "two"]}"#;

fn run(tool: &str, args: &[&str], stdin: &str) -> Output {
    deploy_tests::tool(workspace_bin(tool))
        .args(args)
        .stdin(stdin)
        .run()
}

/// What the run was given, with `error` from `tool` added: the report of a
/// failure that has nothing of its own to say.
fn received_with_error(out: &Output, tool: &str, code: i32) -> Value {
    out.failure(code);
    error_from(out, tool)
}

/// `{}` with `error` from `tool`: the report of a failure whose stdin was
/// not the pipe's object (a password, a file), never echoed.
fn unechoed_with_error(out: &Output, tool: &str, code: i32) -> Value {
    out.failure_unechoed(code);
    error_from(out, tool)
}

fn error_from(out: &Output, tool: &str) -> Value {
    let doc = out.json();
    assert_eq!(doc["error"]["tool"], tool, "{doc}");
    doc
}

/// Every tool in the pipe: a flag clap refuses is a usage error like any
/// other, reported with the object received, so the next step passes it on.
macro_rules! a_flag_that_does_not_parse_reports_the_object_received {
    ($($name:ident: $tool:literal,)*) => {$(
        #[test]
        fn $name() {
            let out = run($tool, &["--zzz"], RECEIVED);
            let doc = received_with_error(&out, $tool, 2);
            let mut want: Value = serde_json::from_str(RECEIVED).unwrap();
            want["error"] = doc["error"].clone();
            assert_eq!(doc, want);
            assert_eq!(
                doc["error"]["message"],
                format!("unexpected argument '--zzz' found (see {} --help)", $tool)
            );
        }
    )*};
}

a_flag_that_does_not_parse_reports_the_object_received! {
    ecr_login_reports_a_bad_flag_with_the_object: "ecr-login",
    oci_push_reports_a_bad_flag_with_the_object: "oci-push",
    taskdef_render_reports_a_bad_flag_with_the_object: "taskdef-render",
    ecs_deploy_reports_a_bad_flag_with_the_object: "ecs-deploy",
    ecs_wait_reports_a_bad_flag_with_the_object: "ecs-wait",
    ecs_run_reports_a_bad_flag_with_the_object: "ecs-run",
}

#[test]
fn a_value_clap_did_not_expect_is_not_repeated_in_the_report() {
    // A secret typed after a space lands as a stray argument.
    let out = run(
        "taskdef-render",
        &["--env", "PASSWORD=", "s3cr3t-value"],
        "",
    );
    let doc = received_with_error(&out, "taskdef-render", 2);
    assert!(!out.stdout.contains("s3cr3t"), "{}", out.stdout);
    assert!(!out.stderr.contains("s3cr3t"), "{}", out.stderr);
    assert_eq!(doc.as_object().unwrap().len(), 1, "{doc}");
}

#[test]
fn a_usage_error_from_run_reports_the_object_received() {
    // Parsed by clap, refused by the tool's own check.
    let out = run(
        "oci-push",
        &["--from", "/nonexistent", "--repository", "web"],
        RECEIVED,
    );
    let doc = received_with_error(&out, "oci-push", 2);
    assert_eq!(doc["keep"], json!([1, "two"]));
}

#[test]
fn a_bad_flag_after_a_failed_step_passes_that_report_on() {
    let upstream = r#"{"registry": {"endpoint": "x"}, "error": {"tool": "oci-push", "message": "registry refused: 403", "exitCode": 1}}"#;
    let out = run("taskdef-render", &["--zzz"], upstream);
    let doc = out.failure_report(1);
    assert_eq!(doc, serde_json::from_str::<Value>(upstream).unwrap());
    assert!(
        out.stderr
            .contains("taskdef-render: unexpected argument '--zzz' found"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("taskdef-render: skipped: oci-push failed before it (exit 1)"),
        "{}",
        out.stderr
    );
}

#[test]
fn stdin_that_is_not_json_is_reported_with_an_empty_object() {
    let out = run(
        "ecs-deploy",
        &["--service", "web"],
        "Error: access denied\n",
    );
    let doc = received_with_error(&out, "ecs-deploy", 2);
    assert_eq!(doc.as_object().unwrap().len(), 1, "{doc}");
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("stdin: not valid JSON"),
        "{doc}"
    );
}

#[test]
fn stdin_that_is_not_utf8_is_reported_with_an_empty_object() {
    let out = deploy_tests::tool(workspace_bin("ecs-wait"))
        .args(["--service", "web"])
        .stdin(b"{\"a\": \"\xff\"}".to_vec())
        .run();
    let doc = received_with_error(&out, "ecs-wait", 2);
    assert_eq!(doc.as_object().unwrap().len(), 1, "{doc}");
}

fn panicking(place: &str) -> Output {
    deploy_tests::tool(workspace_bin("taskdef-render"))
        .args(["--image", "x:1"])
        .env("DEPLOYKIT_PANIC", place)
        .stdin(RECEIVED)
        .run()
}

#[test]
fn a_panic_on_the_main_thread_reports_the_object_received() {
    let out = panicking("main");
    let doc = received_with_error(&out, "taskdef-render", 1);
    assert_eq!(doc["keep"], json!([1, "two"]));
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("internal error: the tool panicked at "),
        "{doc}"
    );
    assert!(out.stderr.contains("panicked at"), "{}", out.stderr);
}

#[test]
fn a_panic_on_a_worker_thread_reports_the_object_received() {
    let out = panicking("thread");
    let doc = received_with_error(&out, "taskdef-render", 1);
    assert_eq!(doc["image"]["uri"], "r.example/web@sha256:0f");
}

#[test]
fn a_password_on_stdin_is_never_echoed_in_a_report() {
    // A password that happens to read as a JSON object.
    let out = run(
        "oci-push",
        &[
            "--username",
            "u",
            "--password-stdin",
            "--from",
            "/nonexistent",
            "--to",
            "127.0.0.1:1/web",
            "--tag",
            "a",
        ],
        r#"{"pw": "s3cr3t-pw"}"#,
    );
    let doc = unechoed_with_error(&out, "oci-push", 2);
    assert_eq!(doc.as_object().unwrap().len(), 1, "{doc}");
    assert!(!out.stdout.contains("s3cr3t"), "{}", out.stdout);
}

#[test]
fn a_password_on_stdin_is_never_echoed_when_the_flags_do_not_parse() {
    let out = run(
        "oci-push",
        &["--username", "u", "--password-stdin", "--zzz"],
        r#"{"pw": "s3cr3t-pw"}"#,
    );
    let doc = unechoed_with_error(&out, "oci-push", 2);
    assert_eq!(doc.as_object().unwrap().len(), 1, "{doc}");
    assert!(!out.stdout.contains("s3cr3t"), "{}", out.stdout);
}

#[test]
fn a_task_definition_read_from_stdin_is_not_echoed_in_a_report() {
    let td = r#"{"family": "f", "containerDefinitions": [{"name": "web", "image": "i",
        "environment": [{"name": "DB_PASSWORD", "value": "s3cr3t-env"}]}]}"#;
    let out = run("taskdef-render", &["-t", "-", "--container", "nosuch"], td);
    let doc = unechoed_with_error(&out, "taskdef-render", 2);
    assert_eq!(doc.as_object().unwrap().len(), 1, "{doc}");
    assert!(!out.stdout.contains("s3cr3t"), "{}", out.stdout);
}

#[test]
fn a_task_definition_file_on_stdin_still_passes_an_upstream_failure_on() {
    let upstream = r#"{"error": {"tool": "oci-push", "message": "m", "exitCode": 1}}"#;
    let out = run("ecs-deploy", &["-t", "-", "--service", "web"], upstream);
    assert_eq!(
        out.failure_report(1),
        serde_json::from_str::<Value>(upstream).unwrap()
    );
}

#[test]
fn a_password_printed_raw_fails_with_no_object() {
    // Its reader is `docker login --password-stdin`: an object would be
    // taken for the password.
    let out = run(
        "ecr-login",
        &["--password-stdout", "--region", "not a region"],
        RECEIVED,
    );
    let err = out.failure_without_object(2);
    assert!(err.contains("ecr-login: --region"), "{err}");
}

#[test]
fn a_password_printed_raw_fails_with_no_object_when_the_flags_do_not_parse() {
    let out = run("ecr-login", &["--password-stdout", "--zzz"], RECEIVED);
    out.failure_without_object(2);
}

#[test]
fn a_failure_on_a_terminal_prints_no_object() {
    // `script` gives the tool a terminal for stdout (and stderr).
    let command = format!(
        "{} --zzz </dev/null",
        workspace_bin("taskdef-render").display()
    );
    let out = deploy_tests::tool("script")
        .args(["-qec", &command, "/dev/null"])
        .run();
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert!(
        out.stdout
            .contains("taskdef-render: unexpected argument '--zzz' found"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("exitCode"), "{}", out.stdout);
}

// A closed or full stdout (the exit code is decided before writing).

fn render_into(target: Stdout, args: &[&str]) -> Output {
    deploy_tests::tool(workspace_bin("taskdef-render"))
        .args(args)
        .stdin(r#"{"taskDefinition": {"family": "f", "containerDefinitions": [{"name": "web", "image": "old"}]}}"#)
        .stdout_to(target)
        .run()
}

#[test]
fn a_usage_error_into_a_closed_pipe_stays_exit_2_and_says_why() {
    let out = render_into(Stdout::ClosedPipe, &["--container", "nosuch"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("taskdef-render: container \"nosuch\" not found"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_success_into_a_closed_pipe_is_exit_0_and_quiet() {
    let out = render_into(Stdout::ClosedPipe, &["--image", "new:1"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stderr.contains("stdout"), "{}", out.stderr);
}

#[test]
fn a_usage_error_into_a_full_disk_stays_exit_2() {
    let out = render_into(Stdout::Full, &["--container", "nosuch"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("taskdef-render: container \"nosuch\" not found"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_success_into_a_full_disk_is_exit_1() {
    let out = render_into(Stdout::Full, &["--image", "new:1"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("taskdef-render: writing stdout: no space left on device"),
        "{}",
        out.stderr
    );
}

// Standard input: --null-input, and a pipe that stays silent.

/// A task definition file with one container, `web`.
fn definition_file(dir: &tempfile::TempDir) -> String {
    let path = dir.path().join("td.json");
    std::fs::write(
        &path,
        r#"{"family": "f", "containerDefinitions": [{"name": "web", "image": "old"}]}"#,
    )
    .unwrap();
    path.display().to_string()
}

/// `sleep 1000 | tool --null-input ...`: stdin stays open with an object in
/// it, and the tool neither waits for it nor reads it. Without the flag
/// each of these hangs until the test's time-out.
macro_rules! null_input_leaves_an_open_stdin_unread {
    ($($name:ident: $tool:literal, |$td:ident| [$($arg:expr),*], $code:expr;)*) => {$(
        #[test]
        fn $name() {
            let dir = tempfile::tempdir().unwrap();
            let $td = definition_file(&dir);
            let _ = &$td;
            let out = deploy_tests::tool(workspace_bin($tool))
                .args([$($arg),*])
                .stdin(r#"{"keep": 1, "error": {"tool": "x", "exitCode": 3}}"#)
                .stdin_held_open()
                .timeout(std::time::Duration::from_secs(20))
                .run();
            assert_eq!(out.code, $code, "{}", out.stderr);
            assert!(!out.stderr.contains("unexpected argument"), "{}", out.stderr);
            assert!(!out.stdout.contains("keep"), "stdin was read: {}", out.stdout);
            assert!(!out.stderr.contains("skipped"), "stdin was read: {}", out.stderr);
        }
    )*};
}

null_input_leaves_an_open_stdin_unread! {
    ecr_login_null_input_reads_no_stdin: "ecr-login", |td| ["-n", "--region", "not a region"], 2;
    oci_push_null_input_reads_no_stdin: "oci-push", |td| ["-n", "--from", "/nonexistent", "--repository", "web", "--tag", "a"], 2;
    taskdef_render_null_input_reads_no_stdin: "taskdef-render", |td| ["-n", "-t", &td, "--image", "new:1"], 0;
    ecs_deploy_null_input_reads_no_stdin: "ecs-deploy", |td| ["--null-input", "--service", "web"], 2;
    ecs_wait_null_input_reads_no_stdin: "ecs-wait", |td| ["-n"], 2;
    ecs_run_null_input_reads_no_stdin: "ecs-run", |td| ["--null-input"], 2;
}

#[test]
fn null_input_with_a_task_definition_from_stdin_is_exit_2() {
    let out = run("taskdef-render", &["-n", "-t", "-"], RECEIVED);
    let err = out.failure_unechoed(2);
    assert!(
        err.contains(
            "taskdef-render: --null-input leaves stdin unread, but --task-definition - reads it: give one of them"
        ),
        "{err}"
    );
}

#[test]
fn null_input_with_an_env_file_from_stdin_is_exit_2() {
    let out = run(
        "taskdef-render",
        &["--null-input", "--env-file", "-"],
        "A=1\n",
    );
    assert!(
        out.failure_unechoed(2)
            .contains("but --env-file - reads it"),
        "{}",
        out.stderr
    );
}

#[test]
fn null_input_with_a_password_on_stdin_is_exit_2_and_reads_nothing() {
    let out = run(
        "oci-push",
        &[
            "-n",
            "--username",
            "u",
            "--password-stdin",
            "--to",
            "127.0.0.1:1/web",
            "--from",
            "/x",
            "--tag",
            "a",
        ],
        r#"{"pw": "s3cr3t-pw"}"#,
    );
    let doc = unechoed_with_error(&out, "oci-push", 2);
    assert_eq!(doc.as_object().unwrap().len(), 1, "{doc}");
    assert!(
        out.stderr.contains("but --password-stdin reads it"),
        "{}",
        out.stderr
    );
}

/// `-n` reads as "dry run" to make and git users: where it would deploy or
/// run a task it is not a flag at all.
#[test]
fn ecs_deploy_and_ecs_run_have_no_short_n() {
    for tool in ["ecs-deploy", "ecs-run"] {
        let out = run(tool, &["-n"], "");
        assert!(
            out.failure(2).contains("unexpected argument '-n' found"),
            "{tool}: {}",
            out.stderr
        );
    }
}

#[test]
fn a_loop_without_null_input_is_told_how_to_leave_stdin_unread() {
    let dir = tempfile::tempdir().unwrap();
    let td = definition_file(&dir);
    let out = run("taskdef-render", &["-t", &td, "--image", "x:1"], "a\nb\n");
    assert!(
        out.failure(2)
            .contains("(stdin is read as the pipe's JSON object; --null-input leaves it unread)"),
        "{}",
        out.stderr
    );
}

/// A step before that prints nothing for a while (a long push) is waited
/// for, and after 10 s stderr says what the tool is waiting for and how to
/// skip it; the object that comes at last is used.
#[test]
fn a_silent_stdin_is_named_on_stderr_and_then_read() {
    let dir = tempfile::tempdir().unwrap();
    let td = definition_file(&dir);
    let script = format!(
        "(sleep 11; echo '{{\"keep\": 1}}') | {r} -t {td} --image new:1",
        r = workspace_bin("taskdef-render").display(),
    );
    let out = deploy_tests::tool("bash")
        .args(["-c", &script])
        .timeout(std::time::Duration::from_secs(40))
        .run();
    let doc = out.success();
    assert_eq!(doc["keep"], 1);
    assert!(
        out.stderr.contains(
            "taskdef-render: waiting for stdin: nothing has come in 10s (the step before is still at work, or nothing writes to this pipe); give --null-input if this tool should not read stdin"
        ),
        "{}",
        out.stderr
    );
}

// What a first review of the rule found: every way a secret on stdin could
// still be echoed, or an object land where raw text goes.

#[test]
fn a_credential_helper_after_a_global_flag_never_echoes_its_stdin() {
    let login = r#"{"ServerURL": "x", "Username": "u", "Secret": "s3cr3t-login"}"#;
    for args in [
        &[
            "--region",
            "us-east-1",
            "credential-helper",
            "store",
            "--zzz",
        ][..],
        &["--region", "us-east-1", "credential-helper", "stor"][..],
    ] {
        let out = run("ecr-login", args, login);
        let err = out.failure_without_object(2);
        assert!(!err.contains("s3cr3t"), "{args:?}: {err}");
    }
}

#[test]
fn a_password_flag_written_otherwise_is_never_echoed() {
    for flag in ["--password-stdin=true", "--password-std"] {
        let out = run(
            "oci-push",
            &[
                "--from",
                "x",
                "--to",
                "127.0.0.1:1/r",
                "--username",
                "u",
                flag,
            ],
            r#"{"pw": "s3cr3t-pw", "error": {"exitCode": 5}}"#,
        );
        unechoed_with_error(&out, "oci-push", 2);
        assert!(!out.stdout.contains("s3cr3t"), "{flag}: {}", out.stdout);
    }
}

#[test]
fn a_raw_password_flag_written_otherwise_prints_no_object() {
    let out = run("ecr-login", &["--password-stdout=yes"], RECEIVED);
    out.failure_without_object(2);
}

#[test]
fn an_upstream_failure_is_not_printed_where_a_raw_password_goes() {
    let out = run(
        "ecr-login",
        &["--password-stdout"],
        r#"{"a": 1, "error": {"tool": "x", "exitCode": 4}}"#,
    );
    assert!(
        out.failure_without_object(4)
            .contains("ecr-login: skipped: x failed before it (exit 4)"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_task_definition_from_dev_stdin_is_read_as_from_dash() {
    let td = r#"{"family": "f", "containerDefinitions": [{"name": "web", "image": "old"}]}"#;
    let out = run(
        "taskdef-render",
        &["-t", "/dev/stdin", "--image", "new:2"],
        td,
    );
    let doc = out.success();
    assert_eq!(
        doc["taskDefinition"]["containerDefinitions"][0]["image"],
        "new:2"
    );
}

#[test]
fn a_task_definition_from_dev_stdin_is_not_echoed_in_a_report() {
    let td = r#"{"family": "f", "containerDefinitions": [{"name": "web", "image": "i",
        "environment": [{"name": "DB_PASSWORD", "value": "s3cr3t-env"}]}]}"#;
    for tool in ["taskdef-render", "ecs-deploy"] {
        let out = run(
            tool,
            &[
                "-t",
                "/dev/stdin",
                "--container",
                "nosuch",
                "--service",
                "web",
            ],
            td,
        );
        assert!(!out.stdout.contains("s3cr3t"), "{tool}: {}", out.stdout);
        unechoed_with_error(&out, tool, 2);
    }
}

#[test]
fn an_unknown_subcommand_is_not_repeated() {
    let out = run("ecr-login", &["--public", "s3cr3t-value"], "");
    out.failure(2);
    assert!(!out.stdout.contains("s3cr3t"), "{}", out.stdout);
    assert!(!out.stderr.contains("s3cr3t"), "{}", out.stderr);
}

#[test]
fn a_bad_positional_value_names_the_argument() {
    let out = run("ecr-login", &["credential-helper", "s3cr3t-value"], "");
    let err = out.failure_without_object(2);
    assert!(!err.contains("s3cr3t"), "{err}");
    assert!(err.contains("<ACTION>"), "{err}");
}

#[test]
fn version_into_a_full_disk_is_exit_1() {
    let out = deploy_tests::tool(workspace_bin("taskdef-render"))
        .args(["--version"])
        .stdout_to(Stdout::Full)
        .run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("no space left on device"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_bad_flag_is_named_even_when_stdin_cannot_be_read() {
    let command = format!("{} --zzz < /", workspace_bin("taskdef-render").display());
    let out = deploy_tests::tool("bash").args(["-c", &command]).run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("taskdef-render: unexpected argument '--zzz' found"),
        "{}",
        out.stderr
    );
}

/// One region check, in deploykit, exit 2 before any call in every tool,
/// naming the value (a region is no secret).
macro_rules! a_malformed_region_is_exit_2 {
    ($($name:ident: $tool:literal, [$($arg:expr),*];)*) => {$(
        #[test]
        fn $name() {
            let out = deploy_tests::tool(workspace_bin($tool))
                .args(["--region", "eu west 1", $($arg),*])
                .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
                .env("AWS_ACCESS_KEY_ID", "x")
                .env("AWS_SECRET_ACCESS_KEY", "x")
                .run();
            let err = out.failure(2);
            assert!(
                err.contains("--region \"eu west 1\": expected a region name such as us-east-1"),
                "{err}"
            );
        }
    )*};
}

a_malformed_region_is_exit_2! {
    ecr_login_refuses_a_malformed_region: "ecr-login", [];
    taskdef_render_refuses_a_malformed_region: "taskdef-render", ["--family", "web"];
    ecs_deploy_refuses_a_malformed_region: "ecs-deploy", ["--service", "web", "--family", "web:1"];
    ecs_wait_refuses_a_malformed_region: "ecs-wait", ["--service", "web"];
    ecs_run_refuses_a_malformed_region: "ecs-run", ["--family", "web:1"];
}

// One command line (issue "one command line", item 1): the old spellings
// warn and still work, the new rules hold. No AWS needed: each run ends at
// a usage error after the flags were read.

#[test]
fn ecs_deploy_task_definition_arn_is_family_with_a_warning() {
    let out = run(
        "ecs-deploy",
        &["--task-definition-arn", "web:latest", "--service", "web"],
        "",
    );
    let err = out.failure(2);
    assert!(
        err.contains("ecs-deploy: warning: --task-definition-arn is now --family"),
        "{err}"
    );
    assert!(err.contains("ecs-deploy: --family: "), "{err}");
}

#[test]
fn oci_push_timeout_in_seconds_is_idle_timeout_with_a_warning() {
    let out = run(
        "oci-push",
        &[
            "--timeout",
            "60",
            "--from",
            "/nonexistent",
            "--to",
            "127.0.0.1:1/web",
            "--tag",
            "a",
        ],
        "",
    );
    let err = out.failure(2);
    assert!(
        err.contains("oci-push: warning: --timeout is now --idle-timeout, which takes a duration (--idle-timeout 60s)"),
        "{err}"
    );
}

#[test]
fn oci_push_idle_timeout_takes_a_duration() {
    let out = run(
        "oci-push",
        &[
            "--idle-timeout",
            "soon",
            "--from",
            "/x",
            "--to",
            "127.0.0.1:1/web",
            "--tag",
            "a",
        ],
        "",
    );
    assert!(
        out.failure(2)
            .contains("--idle-timeout: expected a duration"),
        "{}",
        out.stderr
    );
}

#[test]
fn oci_push_region_other_than_the_ecr_hosts_is_exit_2() {
    let out = run(
        "oci-push",
        &[
            "--region",
            "eu-west-1",
            "--from",
            "/x",
            "--to",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/web",
            "--tag",
            "a",
        ],
        "",
    );
    assert!(
        out.failure(2).contains("--region \"eu-west-1\", but the ECR registry 123456789012.dkr.ecr.us-east-1.amazonaws.com is in \"us-east-1\""),
        "{}",
        out.stderr
    );
}

#[test]
fn taskdef_render_task_definition_and_family_is_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let td = definition_file(&dir);
    let out = run("taskdef-render", &["-t", &td, "--family", "web"], "");
    assert!(
        out.failure(2)
            .contains("--task-definition and --family: give one"),
        "{}",
        out.stderr
    );
}

#[test]
fn an_environment_name_follows_one_rule_in_every_tool() {
    let dir = tempfile::tempdir().unwrap();
    let td = definition_file(&dir);
    // Dotted and dashed names are names (ecs-run refused them).
    let doc = run(
        "taskdef-render",
        &[
            "-t",
            &td,
            "-e",
            "spring.profiles.active=prod",
            "-e",
            "app-mode=x",
        ],
        "",
    )
    .success();
    assert_eq!(
        doc["taskDefinition"]["containerDefinitions"][0]["environment"][0]["name"],
        "spring.profiles.active"
    );
    // A name with a space is refused everywhere (taskdef-render took it).
    for (tool, source) in [
        ("taskdef-render", ["-t", td.as_str()]),
        ("ecs-run", ["--family", "x"]),
    ] {
        let out = run(tool, &[source[0], source[1], "--env", "my secret=1"], "");
        let err = out.failure(2);
        assert!(
            err.contains(
                "--env (use 1 of 1): the name before \"=\" is no environment variable name"
            ),
            "{tool}: {err}"
        );
        assert!(!err.contains("my secret"), "{err}");
    }
}

#[test]
fn a_malformed_region_inside_an_arn_is_named_as_the_arns() {
    let out = run(
        "ecs-wait",
        &[
            "-n",
            "--cluster",
            "arn:aws:ecs:EU-West-1:123456789012:cluster/prod",
            "--service",
            "web",
        ],
        "",
    );
    let err = out.failure_unechoed(2);
    assert!(
        err.contains("--cluster: its ARN names the region \"EU-West-1\", which is no region name"),
        "{err}"
    );
}

#[test]
fn a_like_service_arn_in_another_region_than_the_cluster_is_exit_2() {
    let out = run(
        "ecs-run",
        &[
            "--family",
            "web:1",
            "--cluster",
            "arn:aws:ecs:us-east-1:123456789012:cluster/prod",
            "--like-service",
            "arn:aws:ecs:eu-west-1:123456789012:service/prod/web",
        ],
        "",
    );
    assert!(
        out.failure(2).contains("one run works in one region"),
        "{}",
        out.stderr
    );
}

/// A name read from stdin with a line break and a GitHub Actions workflow
/// command after it: the command never starts a line of the log.
#[test]
fn a_name_on_stdin_cannot_forge_a_workflow_command() {
    let cluster = deploy_tests::unique("forge");
    deploy_tests::moto_ecs("CreateCluster", &json!({"clusterName": cluster}));
    let out = deploy_tests::tool(workspace_bin("ecs-wait"))
        .aws()
        .args(["--timeout", "3s"])
        .stdin_json(&json!({"service": {"serviceName": "web\n::error title=forged::deploy succeeded", "clusterArn": cluster}}))
        .run();
    assert!(
        out.stderr.contains("forged"),
        "the name was printed: {}",
        out.stderr
    );
    assert!(
        !out.stderr.lines().any(|l| l.trim_start().starts_with("::")),
        "{}",
        out.stderr
    );
}
