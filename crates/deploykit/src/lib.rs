//! What every tool of the deploy toolkit shares, so that each tool's own
//! crate holds only what that tool does:
//!
//! - [`stream`]: the one JSON object read from stdin and written to stdout,
//!   unknown keys passed through in order (DESIGN.md, "The stream");
//! - [`error`]: the error type and the exit codes 0/1/2/3, in one place;
//! - [`cli`]: the `main` wrapper every binary calls, and warnings on stderr;
//! - [`aws`] (feature `aws`): the SDK configuration from the default chain,
//!   `--region`/`--profile`, and SDK errors a person can read;
//! - [`jq`] (feature `jq`): `--jq` filters run in-process with jaq.

pub mod cli;
pub mod error;
pub mod stream;

#[cfg(feature = "aws")]
pub mod aws;
#[cfg(feature = "jq")]
pub mod jq;

pub use error::{Error, Exit, Result};
