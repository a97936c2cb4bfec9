//! `deploykit`: the six tools in one binary, in the shape of uutils'
//! `coreutils`. The AWS SDK and the rest they share are in it once, so it
//! is far smaller than the six, and one download installs them all.
//!
//! - Called by a tool's name (a link: `ecs-deploy -> deploykit`), it is
//!   that tool; `docker-credential-ecr-login` is ecr-login's credential
//!   helper, as the separate binary's link is.
//! - Called as `deploykit TOOL ARGS...`, it is TOOL with ARGS.
//! - `deploykit --help` lists the tools; an unknown tool is a usage error
//!   (exit 2, listing them), reported as every tool reports one: on
//!   stderr, and as the object with `error` when stdout is a pipe.
//!
//! Each tool runs exactly as its own binary does: the same `main`, given
//! the command line with the tool's name first.

use std::ffi::OsString;
use std::path::Path;
use std::process::ExitCode;

use clap::Parser;
use deploykit::stream::Stdin;
use deploykit::{Error, Outcome, Result};

/// A tool's whole command, given its command line.
type Main = fn(Vec<OsString>) -> ExitCode;

/// The tools, by name, with their `main`.
const TOOLS: [(&str, Main); 6] = [
    ("ecr-login", ecr_login::main),
    ("oci-push", oci_push::main),
    ("taskdef-render", taskdef_render::main),
    ("ecs-deploy", ecs_deploy::main),
    ("ecs-wait", ecs_wait::main),
    ("ecs-run", ecs_run::main),
];

const ABOUT: &str = "\
The deploy toolkit's six tools in one binary: from a CI job's image to a healthy ECS service.

Tools:
  ecr-login        log in to Amazon ECR, the login where registry clients look
  oci-push         push an image (OCI layout, oci-archive, docker save) with no daemon
  taskdef-render   put an image, env, secrets, logs or a jq edit in a task definition
  ecs-deploy       register the task definition and update the services (--plan first)
  ecs-wait         wait for the rollout, and when it fails say why
  ecs-run          run a one-off task and pass or fail on its exit code

Call a tool as `deploykit TOOL ARGS...`, or through a link named as the tool
(`make install` makes them: ecs-deploy -> deploykit). `deploykit TOOL --help`
shows the tool's own help.";

/// `deploykit TOOL ARGS...`: only parsed when TOOL is not a tool, to report
/// it (and for `--help`, `--version`).
#[derive(Parser, Debug)]
#[command(name = "deploykit", version, about = ABOUT)]
struct Args {
    /// The tool to run: ecr-login, oci-push, taskdef-render, ecs-deploy, ecs-wait or ecs-run
    tool: String,
    /// Its arguments
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<OsString>,
}

impl deploykit::cli::Streams for Args {}

fn main() -> ExitCode {
    let mut argv: Vec<OsString> = std::env::args_os().collect();
    let called = argv
        .first()
        .and_then(|a| Path::new(a).file_stem())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if called.starts_with("docker-credential-") {
        // ecr-login's own main turns the name into `credential-helper`.
        return ecr_login::main(argv);
    }
    if let Some((_, main)) = TOOLS.iter().find(|(name, _)| *name == called) {
        return main(argv);
    }
    let wanted = argv.get(1).map(|a| a.to_string_lossy().into_owned());
    if let Some((name, main)) = TOOLS
        .iter()
        .find(|(name, _)| Some(*name) == wanted.as_deref())
    {
        argv.remove(0);
        argv[0] = OsString::from(*name);
        return main(argv);
    }
    deploykit::cli::main_from("deploykit", argv, unknown)
}

/// `deploykit NAME` where NAME is no tool.
fn unknown(args: Args, _stdin: Stdin) -> Result<Outcome> {
    let names: Vec<&str> = TOOLS.iter().map(|(name, _)| *name).collect();
    Err(Error::usage(format!(
        "no tool named {:?}: the tools are {} (deploykit TOOL ARGS..., or a link named as the tool)",
        args.tool,
        names.join(", ")
    )))
}
