//! The command line, as clap parses it; [`crate::config::Config`] checks
//! it all before any call.

use clap::{Parser, ValueEnum};
use deploykit::aws::AwsArgs;

const EXAMPLES: &str = "\
Examples:
  # The migration between push and deploy: register once, migrate, deploy that revision
  taskdef-render -t ecs/task-definition.json --container web --image \"$IMAGE\" \\
    | ecs-deploy \\
    | ecs-run --cluster prod --like-service web --command 'pnpm db:migrate' \\
    | ecs-deploy --cluster prod --service web

  # A registered revision, its placement given by hand
  ecs-run --cluster prod --family web:12 --launch-type FARGATE \\
    --subnet subnet-0abc --security-group sg-0abc --command '[\"./manage.py\", \"migrate\"]'

  # Another container of the task, more environment, stopped when it runs too long
  ecs-run --cluster prod --family web --like-service web -c worker \\
    --env DRY_RUN=1 --timeout 15m --stop-on-timeout

Input: --family FAMILY[:REV]|ARN (a registered revision), else --task-definition FILE
(- for stdin; bare or as describe-task-definition prints it), else stdin's
taskDefinition (as taskdef-render and ecs-deploy print it). A definition with no taskDefinitionArn is
registered first, as ecs-deploy registers it (cleaned, checked against the ECS API
model, sent as its own JSON), and written back into taskDefinition, so that the
ecs-deploy after it registers nothing; one that names its revision and equals it
registers nothing.

Placement: copied from --like-service S (launch type or capacity provider strategy,
platform version, awsvpc subnets, security groups, public IP), or given with
--launch-type, --capacity-provider, --platform-version, --subnet, --security-group,
--assign-public-ip; a flag given wins over the service's.

The task: --container (default: the only container, else the first essential one)
runs --command (a JSON array, or shell words) with --env KEY=VALUE added. ecs-run
waits until the task stops (--timeout, default 30m), streaming the container's
CloudWatch Logs (awslogs driver) to stderr as they come, each line once (--no-logs:
none).

Output: the stdin object (or {}) with task: {taskArn, lastStatus, stoppedReason,
stopCode, containers: [{name, exitCode, reason}]} (and taskDefinition when it was
registered here), printed on failure too, with error set, so that the ecs-deploy
after a failed migration deploys nothing.

GitHub Actions: with $GITHUB_STEP_SUMMARY set, a section is appended to the job
summary (the task, how long, each container's exit code, a failed one's last log
lines); $GITHUB_OUTPUT gets task-arn= and exit-code=.

Exit codes: 0 the container exited 0; 1 it exited non-zero (the code is in the
output), the task never started, or AWS refused; 2 bad flag or input, nothing sent;
3 --timeout reached (with --stop-on-timeout the task is stopped first). Any other
failure prints the stdin object (or {}) with error: {tool, message, exitCode} unless
stdout is a terminal; an object on stdin that carries \"error\" (an earlier step
failed) is passed on untouched with that step's exit code, nothing run.";

/// Run a one-off ECS task (a database migration), stream its logs, and pass
/// or fail on its exit code.
#[derive(Parser, Debug, Default)]
#[command(name = "ecs-run", version, after_long_help = EXAMPLES, after_help = "Examples and details: ecs-run --help")]
pub struct Args {
    /// Do not read stdin (jq's -n), for a loop or script whose stdin is something else (no -n here: it reads as \"dry run\" and would deploy)
    #[arg(long, help_heading = "Input")]
    pub null_input: bool,

    /// Cluster to run the task in
    #[arg(long, value_name = "NAME", default_value = "default")]
    pub cluster: String,

    /// Task definition file to register and run, bare or as describe-task-definition prints it ("-" for stdin)
    #[arg(long, short = 't', value_name = "FILE", help_heading = "Input")]
    pub task_definition: Option<String>,

    /// A registered revision to run: FAMILY[:REV] or an ARN (default: stdin's taskDefinition)
    #[arg(long, value_name = "FAMILY[:REV]|ARN", help_heading = "Input")]
    pub family: Option<String>,

    /// Send fields this build's ECS API model does not know when registering stdin's definition
    #[arg(long, help_heading = "Input")]
    pub allow_unknown_fields: bool,

    /// Copy the placement (launch type or capacity providers, platform version, network) of this service
    #[arg(long, value_name = "SERVICE", help_heading = "Placement")]
    pub like_service: Option<String>,

    /// Launch type
    #[arg(long, value_enum, value_name = "TYPE", help_heading = "Placement")]
    pub launch_type: Option<LaunchType>,

    /// Capacity provider, NAME or NAME:WEIGHT (repeatable; instead of --launch-type)
    #[arg(long, value_name = "NAME", help_heading = "Placement")]
    pub capacity_provider: Vec<String>,

    /// Fargate platform version
    #[arg(long, value_name = "VERSION", help_heading = "Placement")]
    pub platform_version: Option<String>,

    /// awsvpc subnet (repeatable)
    #[arg(long, value_name = "ID", help_heading = "Placement")]
    pub subnet: Vec<String>,

    /// awsvpc security group (repeatable)
    #[arg(long, value_name = "ID", help_heading = "Placement")]
    pub security_group: Vec<String>,

    /// Give the task a public IP (awsvpc)
    #[arg(long, help_heading = "Placement")]
    pub assign_public_ip: bool,

    /// The container to run the command in and watch (default: the only one, else the first essential one)
    #[arg(long, short = 'c', value_name = "NAME", help_heading = "Task")]
    pub container: Option<String>,

    /// The command: a JSON array of strings, or shell words
    #[arg(long, value_name = "COMMAND", help_heading = "Task")]
    pub command: Option<String>,

    /// Environment variable for the container (repeatable)
    #[arg(long, short = 'e', value_name = "KEY=VALUE", help_heading = "Task")]
    pub env: Vec<String>,

    /// startedBy of the task
    #[arg(
        long,
        value_name = "TEXT",
        default_value = "ecs-run",
        help_heading = "Task"
    )]
    pub started_by: String,

    /// Resource tag for the task (repeatable)
    #[arg(long, value_name = "KEY=VALUE", help_heading = "Task")]
    pub tags: Vec<String>,

    /// The old name of --tags (a deprecation warning)
    #[arg(long = "tag", value_name = "KEY=VALUE", hide = true)]
    pub old_tag: Vec<String>,

    /// How long to wait for the task to stop (90s, 15m, 1h)
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "30m",
        help_heading = "Waiting"
    )]
    pub timeout: String,

    /// Stop the task (StopTask) when --timeout is reached
    #[arg(long, help_heading = "Waiting")]
    pub stop_on_timeout: bool,

    /// How often to ask ECS about the task (and CloudWatch Logs for new lines), after every second for the first 15 s
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "5s",
        help_heading = "Waiting"
    )]
    pub interval: String,

    /// Do not stream the container's logs
    #[arg(long, help_heading = "Waiting")]
    pub no_logs: bool,

    #[command(flatten)]
    pub aws: AwsArgs,
}

impl deploykit::cli::Streams for Args {
    fn stdin_role(&self) -> deploykit::cli::StdinRole {
        deploykit::cli::StdinRole::of_files([(
            "--task-definition -",
            self.task_definition.as_deref(),
        )])
    }

    fn null_input(&self) -> bool {
        self.null_input
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "UPPER")]
pub enum LaunchType {
    Fargate,
    Ec2,
    External,
}

impl LaunchType {
    pub fn as_str(self) -> &'static str {
        match self {
            LaunchType::Fargate => "FARGATE",
            LaunchType::Ec2 => "EC2",
            LaunchType::External => "EXTERNAL",
        }
    }
}
