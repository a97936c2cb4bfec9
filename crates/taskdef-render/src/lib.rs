//! taskdef-render: put a new image, environment variables, secrets, log
//! settings, labels or any jq edit into an ECS task definition, and make it
//! valid RegisterTaskDefinition input.
//!
//! [`run`] goes Args -> [`Config`] (everything validated, exit 2 on a
//! mistake) -> input (file, stdin or ECS) -> [`render::render`] -> the
//! object that `deploykit::cli::main` prints.

mod args;
mod config;
mod dotenv;
mod expand;
mod fargate;
pub mod render;

use deploykit::aws::{self, AwsArgs};
use deploykit::ecs::api;
use deploykit::stream::{self, Envelope, Stdin};
use deploykit::{Error, Outcome, Result};
use serde_json::Value;

pub use args::Args;
pub use config::{Config, Source};

/// The whole tool: flags and stdin in, the JSON object out.
pub fn run(args: Args, stdin: Stdin) -> Result<Outcome> {
    let config = Config::from_args(args, &stdin)?;
    config.aws.check()?;
    // Stdin read as a file (`-t -`, `--env-file -`) is no pipe object.
    let envelope = if config.stdin_is_a_file {
        Envelope::new()
    } else {
        stdin.envelope()?
    };
    let file = match &config.source {
        Source::File(path) => Some(stream::read_file(path, "task definition", &stdin)?),
        Source::Stdin { .. } => None,
    };
    let output = render::render(&config, envelope, file, &|family| {
        fetch(&config.aws, family)
    })?;
    if let Some(path) = &config.output_file {
        write_definition(path, &output["taskDefinition"])?;
    }
    Ok(Outcome::success(output))
}

/// DescribeTaskDefinition with its tags, as the JSON ECS sent: every field,
/// even one newer than this SDK build, reaches the output.
fn fetch(aws_args: &AwsArgs, family: &str) -> Result<Value> {
    // An ARN's region is where the definition is.
    let mut aws_args = aws_args.clone();
    aws_args.follow_arns([("--family".to_string(), family)])?;
    aws::runtime()?.block_on(async {
        let config = aws::load(&aws_args).await?;
        let client = aws_sdk_ecs::Client::from_conf(
            aws_sdk_ecs::config::Builder::from(&config)
                .interceptor(aws::StallWatch)
                .build(),
        );
        api::describe_task_definition(&client, family).await
    })
}

/// The bare definition, as `write_json` prints it, into `--output-file`:
/// 0600 when new (it can hold environment values), atomically.
fn write_definition(path: &std::path::Path, td: &Value) -> Result<()> {
    let mut bytes = Vec::new();
    stream::write_json(&mut bytes, td)
        .map_err(|e| Error::output(format!("writing {}", path.display()), &e))?;
    deploykit::output::write("--output-file", path, &bytes)
}

/// The whole command, `argv` as a process gets it: the `taskdef-render` binary
/// passes its own, the multicall `deploykit` binary the one it was given.
pub fn main(argv: Vec<std::ffi::OsString>) -> std::process::ExitCode {
    deploykit::cli::main_from("taskdef-render", argv, run)
}
