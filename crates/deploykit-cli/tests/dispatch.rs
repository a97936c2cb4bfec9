//! The multicall binary finds its tool: by the name it is called by (a
//! link), by `deploykit TOOL`, and says which tools there are when the
//! name is none of them. That each tool then behaves as its own binary is
//! the tools' own tests' job, run through the links (DEPLOY_TESTS_LINKS).

use std::path::PathBuf;

use deploy_tests::{TOOLS, tool};

fn deploykit() -> &'static str {
    env!("CARGO_BIN_EXE_deploykit")
}

/// A directory with `name -> deploykit`.
fn link(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::os::unix::fs::symlink(deploykit(), &path).unwrap();
    (dir, path)
}

#[test]
fn a_link_named_as_a_tool_is_that_tool() {
    for name in TOOLS {
        let (_dir, path) = link(name);
        let out = tool(&path).args(["--version"]).run();
        assert_eq!(out.code, 0, "{name}: {}", out.stderr);
        assert_eq!(
            out.stdout.trim(),
            format!("{name} {}", env!("CARGO_PKG_VERSION"))
        );
    }
}

#[test]
fn deploykit_tool_args_is_that_tool() {
    let td = deploy_tests::root().join("examples/task-definition.json");
    let out = tool(deploykit())
        .args(["taskdef-render", "-t"])
        .args([&td])
        .args(["--container", "web", "--image", "r.example/web:2"])
        .run();
    let doc = out.success();
    assert_eq!(
        doc["taskDefinition"]["containerDefinitions"][0]["image"], "r.example/web:2",
        "{doc}"
    );
    // Its own name in its messages, as its own binary says it.
    let out = tool(deploykit())
        .args(["ecs-wait", "--until", "nowhere"])
        .run();
    out.failure(2);
    assert!(out.stderr.starts_with("ecs-wait: "), "{}", out.stderr);
}

#[test]
fn the_credential_helper_link_is_ecr_login_s_helper() {
    let (_dir, path) = link("docker-credential-ecr-login");
    // `list` answers the protocol's JSON, never the pipe's object.
    let out = tool(&path).args(["list"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout.trim(), "{}");
}

#[test]
fn an_unknown_tool_is_exit_2_listing_the_tools() {
    let out = tool(deploykit())
        .args(["ecs-deplyo", "--cluster", "c"])
        .run();
    let message = out.failure(2).to_string();
    assert!(
        message.contains("no tool named \"ecs-deplyo\""),
        "{message}"
    );
    for name in TOOLS {
        assert!(message.contains(name), "{name} not listed: {message}");
    }
    // The object, as every tool reports a usage error into a pipe.
    let doc = out.failure_report(2);
    assert_eq!(doc["error"]["tool"], "deploykit");
}

#[test]
fn a_link_of_another_name_is_deploykit_itself() {
    let (_dir, path) = link("dk");
    let out = tool(&path).args(["ecs-run", "--version"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.starts_with("ecs-run "), "{}", out.stdout);
}

#[test]
fn deploykit_help_lists_every_tool() {
    let out = tool(deploykit()).args(["--help"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    for name in TOOLS {
        assert!(
            out.stdout.contains(&format!("  {name} ")),
            "{name}: {}",
            out.stdout
        );
    }
}
