//! The command line, as clap parses it; [`crate::config::Config`] checks it.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use deploykit::aws::AwsRegionsArgs;

const EXAMPLES: &str = "\
Examples:
  # Log in to the account's registry; docker, skopeo, crane, buildah and oci-push use it
  ecr-login --region us-east-1

  # Several regions and registries in one run, concurrently
  ecr-login --region us-east-1 --region eu-west-1 \\
      --registry-id 123456789012 --registry-id 210987654321

  # The password alone, into a pipe, as aws ecr get-login-password prints it
  ecr-login --password-stdout \\
    | docker login --username AWS --password-stdin 123456789012.dkr.ecr.us-east-1.amazonaws.com

  # In the pipeline: oci-push takes registry.endpoint from the object
  ecr-login | oci-push --from image.tar --repository web --tag \"$GIT_SHA\"

  # On a long-lived runner: reuse a login valid for at least another hour
  ecr-login --min-validity 1h

  # No secret stored at all: docker asks ecr-login each time
  ln -s \"$(command -v ecr-login)\" /usr/local/bin/docker-credential-ecr-login
  #   and in ~/.docker/config.json:
  #   {\"credHelpers\": {\"123456789012.dkr.ecr.us-east-1.amazonaws.com\": \"ecr-login\"}}

Output: the stdin object (or {}) with registry: {endpoint, expiresAt, credentialsIn};
with several logins also registries, a list of the same (registry is the first).
endpoint is the host alone (123456789012.dkr.ecr.us-east-1.amazonaws.com). The
password is never in the output, on stderr or in a message; it goes only into the
Docker config (auths[endpoint].auth, written atomically, mode 0600, every other key
kept) or, with --password-stdout, to stdout alone. With $GITHUB_OUTPUT set,
registry=<endpoint> (and registries=<json>) are appended to it.

Exit codes: 0 logged in; 1 AWS refused or the token is unusable; 2 bad flag or
Docker config, nothing sent. An object on stdin that carries \"error\" (an earlier
step failed) is passed on untouched with that step's exit code. Any other failure
prints the stdin object (or {}) with error: {tool, message, exitCode} unless stdout
is a terminal, or the password's place (--password-stdout: nothing).";

/// Log in to Amazon ECR through the AWS SDK credential chain, and store the
/// login where registry clients look for it, never printing the secret.
#[derive(Parser, Debug, Default)]
#[command(name = "ecr-login", version, after_long_help = EXAMPLES, after_help = "Examples and details: ecr-login --help")]
pub struct Args {
    /// Do not read stdin (jq's -n), for a loop or script whose stdin is something else
    #[arg(long, short = 'n')]
    pub null_input: bool,

    /// Registry (AWS account) id to log in to, 12 digits (repeatable; default: the caller's account)
    #[arg(long, value_name = "ID")]
    pub registry_id: Vec<String>,

    /// Log in to ECR Public (public.ecr.aws); its token API is in us-east-1
    #[arg(long)]
    pub public: bool,

    /// Directory of the Docker config.json to write (default: $DOCKER_CONFIG, then ~/.docker)
    #[arg(long, value_name = "DIR", conflicts_with = "password_stdout")]
    pub docker_config: Option<PathBuf>,

    /// Print the password alone on stdout (for docker login --password-stdin); write nothing to disk
    #[arg(long)]
    pub password_stdout: bool,

    /// Reuse a login an earlier run wrote when it is still valid for this long (90s, 30m, 1h, 1h30m) instead of calling AWS
    #[arg(long, value_name = "DURATION", conflicts_with = "password_stdout")]
    pub min_validity: Option<String>,

    #[command(flatten, next_help_heading = "AWS")]
    pub aws: AwsRegionsArgs,

    #[command(subcommand)]
    pub command: Option<Command>,
}

impl deploykit::cli::Streams for Args {
    fn stdin_role(&self) -> deploykit::cli::StdinRole {
        match self.command {
            // The helper protocol's stdin: a server URL, or a login to store.
            Some(Command::CredentialHelper { .. }) => {
                deploykit::cli::StdinRole::Secret("credential-helper")
            }
            None => deploykit::cli::StdinRole::Object,
        }
    }

    fn null_input(&self) -> bool {
        self.null_input
    }

    fn stdout_is_text(&self) -> bool {
        self.password_stdout || self.command.is_some()
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// The Docker credential-helper protocol (also run as docker-credential-ecr-login):
    /// reads the server URL on stdin and prints its credentials
    CredentialHelper {
        #[arg(value_enum)]
        action: HelperAction,
    },
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum HelperAction {
    Get,
    Store,
    Erase,
    List,
}
