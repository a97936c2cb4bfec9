//! ecs-wait: wait for an ECS rollout, notice its end within seconds, and
//! when it fails, say why in one screen.
//!
//! [`run`] goes Args -> [`Plan`] (flags and stdin checked: exit 2 with
//! nothing sent) -> [`wait`] -> the object that `deploykit::cli::main`
//! prints. The wait engine is `deploykit::ecs::wait`, shared with
//! ecs-deploy --wait; it is re-exported here for the tests.

mod args;
mod config;

use aws_sdk_ecs::Client;
use deploykit::aws;
use deploykit::ecs::api::{self, name_of};
use deploykit::stream::Stdin;
use deploykit::{Outcome, Result, cli, summary};

pub use args::Args;
pub use config::plan;
pub use deploykit::ecs::wait::*;

/// The whole tool: flags and stdin in, the JSON object out.
pub fn run(args: Args, stdin: Stdin) -> Result<Outcome> {
    let envelope = stdin.envelope()?;
    let plan = config::plan(&args, &envelope)?;
    let mut aws_args = args.aws.clone();
    aws_args.check()?;
    aws_args.follow_arns(config::arns(&args, &envelope))?;
    aws::runtime()?.block_on(async {
        let sdk = aws::load_within(&aws_args, plan.timeout).await?;
        let region = sdk.region().map(ToString::to_string).unwrap_or_default();
        let client = Client::from_conf(
            aws_sdk_ecs::config::Builder::from(&sdk)
                .interceptor(aws::StallWatch)
                .build(),
        );
        for t in &plan.targets {
            cli::note(format!(
                "waiting for service {:?} (deployments at {})",
                name_of(&t.service),
                api::console_url(&region, name_of(&t.cluster), name_of(&t.service))
            ));
        }
        let waited = wait(&client, &SystemClock::start(), &plan, &|line| {
            cli::note(line)
        })
        .await;
        Ok(with_section(waited.into_outcome(envelope)))
    })
}

/// The job summary's section: how each rollout ended (status, deployment,
/// how long, why), and for a failed one its stopped tasks and their last
/// log lines; `status` for later steps.
fn with_section(outcome: Outcome) -> Outcome {
    let Some(doc) = outcome.object() else {
        return outcome;
    };
    let reports = summary::ecs::wait_reports(doc);
    let status = summary::ecs::overall_status(&reports);
    let title = match status {
        Some("timeout") => "timed out",
        Some(status) => status,
        None if outcome.failure().is_some() => "failed",
        None => "done",
    };
    let mut section = summary::Section::new(title);
    summary::ecs::rollout(section.body(), &reports);
    if let Some(status) = status {
        section.output("status", status);
    }
    outcome.with_summary(section)
}

/// The whole command, `argv` as a process gets it: the `ecs-wait` binary
/// passes its own, the multicall `deploykit` binary the one it was given.
pub fn main(argv: Vec<std::ffi::OsString>) -> std::process::ExitCode {
    deploykit::cli::main_with_summary_from("ecs-wait", argv, run)
}
