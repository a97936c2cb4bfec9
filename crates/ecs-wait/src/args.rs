//! The command line, as clap parses it. Nothing here is checked beyond what
//! clap knows; [`crate::config`] validates it all before any call.

use clap::Parser;
use deploykit::aws::AwsArgs;
use deploykit::ecs::wait::WaitArgs;

const EXAMPLES: &str = "\
Examples:
  # In the pipeline: deploy, then wait for the rollout (exit 1 if ECS rolls it back)
  ecs-deploy -t ecs/task-definition.json --cluster prod --service web | ecs-wait --timeout 15m

  # The aws CLI in: wait for the deployment that update-service started
  aws ecs update-service --cluster prod --service web --force-new-deployment | ecs-wait

  # By name, several services at once, each reported
  ecs-wait --cluster prod --service web --service worker

  # The classic waiter's rule (one deployment, running == desired), polled every 5 s
  ecs-wait --cluster prod --service web --until stable --interval 5s

What it follows: the service deployment that stdin's service names
(currentServiceDeployment, as ecs-deploy and aws ecs update-service print it),
through DescribeServiceDeployments; where the service names none (older
deployments, emulators), its PRIMARY deployment in DescribeServices, by id and
rolloutState. --deployment ARN|ID picks one. Several services: a services list
on stdin, or --service repeated.

Success (--until deployed, the default): the service deployment is SUCCESSFUL,
or the followed deployment's rolloutState is COMPLETED (with no rollout state:
it is the only deployment and running == desired). --until stable: one
deployment and running == desired, whatever the rollout says. --until paused:
also ends at a PAUSE lifecycle hook awaiting action. After ecs-deploy --rollback
(a rollback key on stdin), the rollback finishing is success.

Failure (exit 1): rolled back (ROLLBACK_SUCCESSFUL, or the followed deployment
vanished and another is PRIMARY), ROLLBACK_FAILED, STOPPED, rolloutState FAILED,
the service DRAINING, INACTIVE or missing, --max-failed-tasks reached. stderr
then shows the reason, the circuit breaker and alarms, and each stopped task of
the deployment: stoppedReason, stopCode, every container's exit code and reason,
and the last 20 lines each crashed container logged (its awslogs settings;
environment values masked); when the events say tasks failed the load
balancer's health checks, each unhealthy target's reason code, what it most
often means, and the port and path checked.

Polling: every 2 s for the first 30 s, then every --interval; never more than
20 DescribeServices calls a minute. New service events and count changes go to
stderr once each. A poll ECS fails to answer after the SDK's retries
(throttling, a 5xx, a time-out, a dropped connection) is said and tried again a
whole --interval later; five in a row fail the wait (exit 1). A refusal (access denied) fails
it at once, but for a missing ecs:DescribeServiceDeployments permission: then the PRIMARY
deployment is followed by rolloutState, as said on stderr.

Output: the stdin object (or {}) with wait set to {status, service, deployment,
source, state, reason, lifecycleStage, circuitBreaker, alarms, servingRevision,
elapsedSeconds, events, stoppedTasks, targetHealth} (several services: waits, a
list of the same), printed in every outcome; error is added on failure and
time-out.

GitHub Actions: with $GITHUB_STEP_SUMMARY set, a section is appended to the job
summary (each service's end, and a failure's tasks, log lines and targets);
$GITHUB_OUTPUT gets status=.

Exit codes: 0 deployed (or stable, or paused as asked); 1 the rollout failed or
AWS refused; 2 bad flag or input, nothing sent; 3 --timeout ran out (default
30m). An object on stdin that carries \"error\" (an earlier step failed) is passed
on untouched, and ecs-wait exits with that step's code. Any other failure prints
the stdin object (or {}) with error: {tool, message, exitCode} unless stdout is a
terminal.";

/// Wait for an ECS rollout, notice its end within seconds, and when it fails, say why in one screen.
#[derive(Parser, Debug, Default)]
#[command(name = "ecs-wait", version, after_long_help = EXAMPLES, after_help = "Examples and details: ecs-wait --help")]
pub struct Args {
    /// Do not read stdin (jq's -n), for a loop or script whose stdin is something else
    #[arg(long, short = 'n')]
    pub null_input: bool,

    /// Cluster of the services (default: the one stdin's service names, else "default")
    #[arg(long, value_name = "NAME", help_heading = "Target")]
    pub cluster: Option<String>,

    /// Service to wait for (repeatable: waited for together, each reported); default: stdin's service or services
    #[arg(
        long = "service",
        short = 's',
        value_name = "NAME",
        help_heading = "Target"
    )]
    pub services: Vec<String>,

    /// The deployment to follow: a service deployment ARN, or a deployment id (ecs-svc/...)
    #[arg(long, value_name = "ARN|ID", help_heading = "Target")]
    pub deployment: Option<String>,

    #[command(flatten)]
    pub wait: WaitArgs,

    #[command(flatten)]
    pub aws: AwsArgs,
}

impl deploykit::cli::Streams for Args {
    fn null_input(&self) -> bool {
        self.null_input
    }
}
