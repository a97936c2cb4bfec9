//! The command line, as clap parses it. Nothing here is checked beyond what
//! clap knows; [`crate::config::Config`] validates it all before any call.

use clap::{Parser, ValueEnum};
use deploykit::aws::AwsArgs;

const EXAMPLES: &str = "\
Examples:
  # In the pipeline: render, then register and update the service
  taskdef-render -t ecs/task-definition.json --container web --image \"$IMAGE\" \\
    | ecs-deploy --cluster prod --service web

  # The aws CLI in: deploy a new image on what is registered now
  aws ecs describe-task-definition --task-definition web --include TAGS \\
    | taskdef-render --container web --image \"$IMAGE\" \\
    | ecs-deploy --cluster prod --service web --force-new-deployment

  # One revision, several services at once, each reported
  ecs-deploy -t ecs/task-definition.json --cluster prod --service web --service worker

  # Only register (no --service); skip the register when nothing changed
  ecs-deploy --task-definition ecs/task-definition.json
  ecs-deploy -t ecs/task-definition.json --cluster prod --service web --skip-unchanged

  # A revision registered elsewhere (Terraform, CDK), and old revisions cleaned up
  ecs-deploy --family web:1 --cluster prod --service web --keep-revisions 5

  # Back to the revision the service ran before
  ecs-deploy --rollback --cluster prod --service web

  # A rollout paused at a PAUSE hook: approve it, and wait for the rest
  ecs-wait --cluster prod --service web --until paused | ecs-deploy --continue | ecs-wait

  # Stop the deployment in flight where it is (no rollback)
  ecs-deploy --stop --cluster prod --service web

  # Plan first: what would change against what the service runs (nothing changed);
  # the same object, approved, deploys unless the service moved since
  taskdef-render -t ecs/task-definition.json --container web --image \"$IMAGE\" \\
    | ecs-deploy --cluster prod --service web --plan | tee plan.json
  ecs-deploy --cluster prod --service web < plan.json

  # Check first (--plan's checks; a failed one deploys nothing), deploy, and wait
  # for the rollout in one step (ecs-wait's wait, its flags)
  ecs-deploy -t ecs/task-definition.json --cluster prod --service web --verify error \\
    --wait --timeout 15m

Input, first found wins: --family; --task-definition FILE (- for stdin;
a bare definition or the {\"taskDefinition\": ...} that describe-task-definition
prints); the taskDefinition key of the JSON object on stdin.

Register: the definition is cleaned (read-only fields removed with a warning each,
null and empty values dropped, tags kept), its field names and types checked
against the ECS API model (an unknown field is exit 2 naming its path;
--allow-unknown-fields sends it), and its JSON sent as it is, so no field is lost.
A definition that carries taskDefinitionArn (describe output, ecs-deploy's own
output) and equals that revision is not registered again: that revision deploys.

Update: DescribeServices first (a missing or inactive service, a missing cluster, a
CODE_DEPLOY or EXTERNAL deployment controller: exit 1 before anything is registered
when no service can take the update), then UpdateService for every --service at
once. The console link to each service's deployments goes to stderr.

Output: the stdin object (or {}) with taskDefinition set to the registered
definition (taskDefinitionArn, revision) and service set to UpdateService's service
object as ECS sent it (several services: services, a list of the same); with
--rollback, rollback: {from, to, method} too; with --continue, continued:
{serviceDeployment, hookId}; with --stop, stopped: {serviceDeployment,
stopType}. Pipe it into ecs-wait (after --stop, the deployment stopping is
success).

Steer: --continue and --stop act on the service deployment that --service
names (its currentServiceDeployment), else stdin's wait (its deployment) or
service. Nothing to act on (no hook awaits action; a deployment that is not
PENDING or IN_PROGRESS) is exit 1 with the deployment's state.

Verify: --plan checks that the definition fits each service (launch type,
Fargate's network mode and size, the load balancers' and Service Connect's
ports), that its log groups, roles (trusting ECS tasks) and secrets exist (no
value read), and that its images exist for its runtimePlatform (asked of the registry with the
Docker config's login, $CONTAINERS_REGISTRIES_CONF read). A deploy runs them with
--verify error (a failed check deploys nothing: exit 2 for a misfit, else 1) or
--verify warn; the checks go in the object as verify: {mode, checks}. A check
the caller may not make, or a registry that cannot be reached, is skipped,
said in one line.

Wait: with --wait, once every service is updated, the rollout is waited for by
ecs-wait's own code (--until, --timeout, --interval, --max-failed-tasks as in
ecs-wait --help), and the output gets ecs-wait's wait (or waits) key.

GitHub Actions: with $GITHUB_STEP_SUMMARY set, a section is appended to the job
summary (the revision, each service with its console link; with --wait, how the
rollout ended); $GITHUB_OUTPUT gets task-definition-arn= (and status= with --wait).

Exit codes: 0 deployed; 1 AWS refused or a service failed (the object is still
printed, each service's result in it, with error set); 2 bad flag or input, nothing
sent; 3 --wait ran out of --timeout. An object on stdin that carries \"error\" (an
earlier step failed) is passed on untouched, and ecs-deploy exits with that step's
code, deploying nothing. Any other failure prints the stdin object (or {}) with
error: {tool, message, exitCode} unless stdout is a terminal.";

/// Register an ECS task definition, losing no field, and roll it out to one or many services.
#[derive(Parser, Debug, Default)]
#[command(name = "ecs-deploy", version, after_long_help = EXAMPLES, after_help = "Examples and details: ecs-deploy --help")]
pub struct Args {
    /// Do not read stdin (jq's -n), for a loop or script whose stdin is something else (no -n here: it reads as \"dry run\" and would deploy)
    #[arg(long, help_heading = "Input")]
    pub null_input: bool,

    /// Task definition file, bare or as describe-task-definition prints it ("-" for stdin)
    #[arg(long, short = 't', value_name = "FILE", help_heading = "Input")]
    pub task_definition: Option<String>,

    /// Deploy this registered revision as it is: FAMILY[:REV] or an ARN (nothing is registered)
    #[arg(long, value_name = "FAMILY[:REV]|ARN", help_heading = "Input")]
    pub family: Option<String>,

    /// The old name of --family (a deprecation warning)
    #[arg(long, value_name = "ARN", hide = true)]
    pub task_definition_arn: Option<String>,

    /// Send fields that this build's ECS API model does not know, as they are (fields newer than this build)
    #[arg(long, help_heading = "Input")]
    pub allow_unknown_fields: bool,

    /// Cluster of the services
    #[arg(
        long,
        value_name = "NAME",
        default_value = "default",
        help_heading = "Target"
    )]
    pub cluster: String,

    /// Service to update (repeatable: one revision, every service at once); none: register only
    #[arg(
        long = "service",
        short = 's',
        value_name = "NAME",
        help_heading = "Target"
    )]
    pub services: Vec<String>,

    /// Start new tasks even when the task definition did not change (new image under the same tag)
    #[arg(long, help_heading = "Update")]
    pub force_new_deployment: bool,

    /// Set the service's desired task count
    #[arg(long, value_name = "N", help_heading = "Update")]
    pub desired_count: Option<i32>,

    /// Turn on ECS managed tags for the service's tasks
    #[arg(long, help_heading = "Update")]
    pub enable_ecs_managed_tags: bool,

    /// Copy tags to the tasks from the task definition or the service
    #[arg(long, value_enum, value_name = "FROM", help_heading = "Update")]
    pub propagate_tags: Option<PropagateTags>,

    /// Register nothing when the definition equals the one the first service runs now; deploy that one
    #[arg(long, help_heading = "Update")]
    pub skip_unchanged: bool,

    /// After the update, deregister the family's ACTIVE revisions older than the newest N (never one a service runs)
    #[arg(long, value_name = "N", help_heading = "Update")]
    pub keep_revisions: Option<u32>,

    /// Roll the service back: stop its deployment in progress with a rollback, or go back to the revision it ran before
    #[arg(long, help_heading = "Rollback")]
    pub rollback: bool,

    /// With --rollback: the revision of the service's family to go back to
    #[arg(
        long,
        value_name = "N",
        requires = "rollback",
        help_heading = "Rollback"
    )]
    pub to_revision: Option<u32>,

    /// Change nothing: print what the deploy would change (plan: the definition's diff against what each service runs, values hidden; the settings); a deploy given this object refuses if a service moved since
    #[arg(long, help_heading = "Plan", conflicts_with_all = ["rollback", "continue_", "stop", "wait"])]
    pub plan: bool,

    /// Before a deploy, run --plan's checks (fit, log groups, roles, secrets, images): error refuses the deploy when one fails, warn says so and deploys, off skips them (--plan always checks)
    #[arg(
        long,
        value_enum,
        value_name = "MODE",
        default_value = "off",
        help_heading = "Plan",
        conflicts_with_all = ["plan", "rollback", "continue_", "stop"]
    )]
    pub verify: Verify,

    /// Resume the service deployment waiting at a PAUSE lifecycle hook (stdin's service or wait, or --service)
    #[arg(long = "continue", help_heading = "Steer", conflicts_with_all = ["rollback", "stop"])]
    pub continue_: bool,

    /// With --continue: the hook to resume, when several wait
    #[arg(
        long,
        value_name = "ID",
        requires = "continue_",
        help_heading = "Steer"
    )]
    pub hook: Option<String>,

    /// Stop the service deployment in flight where it is, without rolling back (--rollback rolls back)
    #[arg(long, help_heading = "Steer", conflicts_with = "rollback")]
    pub stop: bool,

    /// After the update, wait for the rollout as ecs-wait does (exit 1 if it fails, 3 on --timeout)
    #[arg(long, help_heading = "Wait")]
    pub wait: bool,

    #[command(flatten)]
    pub wait_args: deploykit::ecs::wait::WaitArgs,

    #[command(flatten)]
    pub aws: AwsArgs,
}

impl deploykit::cli::Streams for Args {
    fn null_input(&self) -> bool {
        self.null_input
    }

    fn stdin_role(&self) -> deploykit::cli::StdinRole {
        deploykit::cli::StdinRole::of_files([(
            "--task-definition -",
            self.task_definition.as_deref(),
        )])
    }
}

/// `--propagate-tags`, as ECS spells its values.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
#[value(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PropagateTags {
    TaskDefinition,
    Service,
    None,
}

impl PropagateTags {
    /// The API's word for it (`TASK_DEFINITION`).
    pub fn as_api(&self) -> &'static str {
        match self {
            PropagateTags::TaskDefinition => "TASK_DEFINITION",
            PropagateTags::Service => "SERVICE",
            PropagateTags::None => "NONE",
        }
    }
}

/// `--verify`: what a failed check does to a deploy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum Verify {
    /// Refuse the deploy (exit 2 for a misfit, else 1), nothing registered.
    Error,
    /// Say so on stderr, and deploy.
    Warn,
    /// Run no check.
    #[default]
    Off,
}
