//! What every tool of the deploy toolkit shares, so that each tool's own
//! crate holds only what that tool does:
//!
//! - [`stream`]: the one JSON object read from stdin and written to stdout,
//!   unknown keys passed through in order (ARCHITECTURE.md, "The stream");
//! - [`error`]: the error type and the exit codes 0/1/2/3, in one place;
//! - [`cli`]: the `main` wrapper every binary calls (flags, stdin, the
//!   upstream-failure rule, the exit status), and warnings on stderr;
//! - [`flags`]: `KEY=VALUE` and bare-name flag values, split without ever
//!   echoing a value;
//! - [`output`]: files written besides stdout (`--output-file`,
//!   `--digest-file`, `$GITHUB_OUTPUT`): checked before any work, written
//!   0600 when new (an existing file keeps its mode), atomically;
//! - [`summary`]: the section a run appends to `$GITHUB_STEP_SUMMARY` and
//!   the key facts it appends to `$GITHUB_OUTPUT` (GitHub Actions), with
//!   Markdown that text from elsewhere cannot break out of;
//! - [`path`]: paths into a JSON document for messages
//!   (`containerDefinitions[1].image (container "web")`);
//! - [`aws`] (feature `aws`): the SDK configuration from the default chain,
//!   `--region`/`--profile`, and SDK errors a person can read;
//! - [`registry`] (feature `registry`): the Docker client config
//!   (`config.json`) and credential helpers, shared by ecr-login and oci-push;
//! - [`jq`] (feature `jq`): `--jq` filters run in-process with jaq;
//! - [`ecs`] (feature `ecs`): the ECS API model at run time, to check a task
//!   definition's field names and types before anything is sent; the one
//!   cleaning rule; register from JSON, describe with the raw JSON kept,
//!   readable ECS errors.

pub mod cli;
pub mod error;
pub mod flags;
pub mod output;
pub mod path;
pub mod stream;
pub mod summary;

#[cfg(feature = "aws")]
pub mod aws;
#[cfg(feature = "ecs")]
pub mod ecs;
#[cfg(feature = "jq")]
pub mod jq;
#[cfg(feature = "registry")]
pub mod registry;

pub use cli::Outcome;
pub use error::{Error, Exit, Result};
