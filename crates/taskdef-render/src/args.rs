//! The command line, as clap parses it. Nothing here is checked beyond what
//! clap knows; [`crate::config::Config`] validates it all before any work.

use std::path::PathBuf;

use clap::Parser;
use deploykit::aws::AwsArgs;

const EXAMPLES: &str = "\
Examples:
  # Swap the image in a definition kept in the repository
  taskdef-render --task-definition ecs/task-definition.json --container web \\
      --image 123456789012.dkr.ecr.us-east-1.amazonaws.com/web:1.4.2 > out.json

  # Start from what is registered now, with its tags, and change the environment
  taskdef-render --family web --container web --env NODE_ENV=production --unset-env DEBUG

  # The aws CLI in, the aws CLI out
  aws ecs describe-task-definition --task-definition web --include TAGS \\
    | taskdef-render --container web --image \"$IMAGE\" --output-file td.json
  aws ecs register-task-definition --cli-input-json file://td.json

  # Any other edit, as jq would make it
  taskdef-render -t td.json --jq '.containerDefinitions[].cpu = $n' --argjson n 256

  # In the pipeline: oci-push writes image.uri, which becomes the image
  oci-push --from image.tar --repository web --tag \"$GIT_SHA\" \\
    | taskdef-render -t ecs/task-definition.json --container web --env \"GIT_SHA=$GIT_SHA\" \\
    | ecs-deploy --cluster prod --service web

Input, first found wins: --task-definition FILE (- for stdin; a bare definition or
the {\"taskDefinition\": ...} that describe-task-definition prints), the
taskDefinition key of the JSON object on stdin, then --family fetched from ECS.

Order of the work: the definition is read; --expand-env fills its ${VAR}s (the
template as read, so values given below arrive verbatim); then --image, --env-file,
--env (a name given twice: the last wins), --unset-env, --secret, the log, label and
command flags, the task flags; then --jq; then the cleaning, the type check against
the ECS API model, and the checks.

Output: the stdin object (or {}) with taskDefinition set to the rendered definition:
read-only fields (taskDefinitionArn, revision, status, ...) removed, null and empty
values dropped, every other field kept in value and order.

Exit codes: 0 rendered; 1 ECS refused (--family); 2 bad flag or input, nothing written.
An object on stdin that carries \"error\" (an earlier step failed) is passed on
untouched, and taskdef-render exits with that step's code, doing nothing. Any failure
prints the stdin object (or {}; never a file read from -) with error: {tool, message,
exitCode} unless stdout is a terminal.";

/// Put a new image, environment, secrets, log settings, labels or any jq edit
/// into an ECS task definition, and make it valid RegisterTaskDefinition input.
#[derive(Parser, Debug, Default)]
#[command(name = "taskdef-render", version, after_long_help = EXAMPLES, after_help = "Examples and details: taskdef-render --help")]
pub struct Args {
    /// Do not read stdin (jq's -n), for a loop or script whose stdin is something else
    #[arg(long, short = 'n', help_heading = "Input")]
    pub null_input: bool,

    /// Task definition file to edit, bare or as describe-task-definition prints it ("-" for stdin)
    #[arg(long, short = 't', value_name = "FILE", help_heading = "Input")]
    pub task_definition: Option<String>,

    /// Fetch the task definition and its tags from ECS: FAMILY, FAMILY:REVISION or an ARN
    #[arg(long, value_name = "FAMILY[:REV]|ARN", help_heading = "Input")]
    pub family: Option<String>,

    /// Container to edit; may be left out when the definition has one container
    #[arg(
        long,
        short = 'c',
        value_name = "NAME",
        help_heading = "Container edits"
    )]
    pub container: Option<String>,

    /// Image URI for the container (default: image.uri of the stdin object, as oci-push writes it)
    #[arg(
        long,
        short = 'i',
        value_name = "URI",
        help_heading = "Container edits"
    )]
    pub image: Option<String>,

    /// Set an environment variable: replaces the entry with that name in place, or appends (repeatable; the last of one name wins)
    #[arg(
        long = "env",
        short = 'e',
        value_name = "KEY=VALUE",
        help_heading = "Container edits"
    )]
    pub env: Vec<String>,

    /// Set environment variables from a dotenv file, before --env (repeatable)
    #[arg(long, value_name = "FILE", help_heading = "Container edits")]
    pub env_file: Vec<String>,

    /// Remove an environment variable (repeatable)
    #[arg(long, value_name = "KEY", help_heading = "Container edits")]
    pub unset_env: Vec<String>,

    /// Set a secret from Secrets Manager or SSM: NAME=ARN_OR_PARAMETER (repeatable)
    #[arg(long, value_name = "NAME=VALUE_FROM", help_heading = "Container edits")]
    pub secret: Vec<String>,

    /// Log driver (awslogs, firelens, json-file, ...)
    #[arg(long, value_name = "DRIVER", help_heading = "Container edits")]
    pub log_driver: Option<String>,

    /// Merge an option into logConfiguration.options (repeatable)
    #[arg(long, value_name = "KEY=VALUE", help_heading = "Container edits")]
    pub log_option: Vec<String>,

    /// Merge a Docker label into dockerLabels (repeatable)
    #[arg(long, value_name = "KEY=VALUE", help_heading = "Container edits")]
    pub docker_label: Vec<String>,

    /// Container command: a JSON array, or a string split as a shell would split it
    #[arg(
        long,
        value_name = "COMMAND",
        allow_hyphen_values = true,
        help_heading = "Container edits"
    )]
    pub command: Option<String>,

    /// IAM role the task's containers assume
    #[arg(long, value_name = "ARN", help_heading = "Task edits")]
    pub task_role_arn: Option<String>,

    /// IAM role ECS uses to pull the image and read secrets
    #[arg(long, value_name = "ARN", help_heading = "Task edits")]
    pub execution_role_arn: Option<String>,

    /// Task CPU units ("256", "1 vCPU", ...)
    #[arg(long, value_name = "UNITS", help_heading = "Task edits")]
    pub cpu: Option<String>,

    /// Task memory ("512", "2 GB", ...)
    #[arg(long, value_name = "MIB", help_heading = "Task edits")]
    pub memory: Option<String>,

    /// Any edit as a jq filter over the task definition (run with jaq, after the flags above); must yield one object
    #[arg(
        long,
        value_name = "FILTER",
        allow_hyphen_values = true,
        help_heading = "Task edits"
    )]
    pub jq: Option<String>,

    /// Pass a string to --jq as $NAME, and in $ARGS.named (repeatable)
    #[arg(long, num_args = 2, value_names = ["NAME", "VALUE"], allow_hyphen_values = true, help_heading = "Task edits")]
    pub arg: Vec<String>,

    /// Pass a JSON value to --jq as $NAME, and in $ARGS.named (repeatable)
    #[arg(long, num_args = 2, value_names = ["NAME", "JSON"], allow_hyphen_values = true, help_heading = "Task edits")]
    pub argjson: Vec<String>,

    /// Replace ${VAR} (and ${VAR:-default}) in the definition as read, before any edit, with the environment's value (not in command, entryPoint or healthCheck.command); an unset VAR is an error
    #[arg(long, help_heading = "Task edits")]
    pub expand_env: bool,

    /// Also write the bare rendered definition here (for register-task-definition --cli-input-json file://PATH)
    #[arg(long, value_name = "PATH", help_heading = "Output")]
    pub output_file: Option<PathBuf>,

    /// Another pattern that marks a value as an unfilled placeholder (repeatable)
    #[arg(long, value_name = "REGEX", help_heading = "Output")]
    pub placeholder: Vec<String>,

    /// Do not fail on placeholders left in the output (REPLACE_ME, <WORD>, ${VAR}, {{ x }}, __NAME__, an ARN without its account)
    #[arg(long, help_heading = "Output")]
    pub no_placeholder_check: bool,

    #[command(flatten, next_help_heading = "AWS (for --family)")]
    pub aws: AwsArgs,
}

impl deploykit::cli::Streams for Args {
    fn null_input(&self) -> bool {
        self.null_input
    }

    fn stdin_role(&self) -> deploykit::cli::StdinRole {
        let env_file = self
            .env_file
            .iter()
            .find(|f| deploykit::stream::is_stdin_path(f))
            .map(String::as_str);
        deploykit::cli::StdinRole::of_files([
            ("--task-definition -", self.task_definition.as_deref()),
            ("--env-file -", env_file),
        ])
    }
}
