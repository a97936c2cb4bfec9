//! What taskdef-render's test files share: the binary, the fixtures, and the
//! read-only fields, written out here on purpose rather than taken from the
//! code under test, so that a change to that list has to change a test too.

#![allow(dead_code)] // each test file uses its own part of this

use std::path::PathBuf;

use deploy_tests::{Tool, leaves};
use serde_json::Value;

/// A run of the real binary.
pub fn render() -> Tool {
    deploy_tests::tool(env!("CARGO_BIN_EXE_taskdef-render"))
}

/// A file in `tests/fixtures/`.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The fields of describe-task-definition output that register refuses.
pub const READ_ONLY: [&str; 9] = [
    "taskDefinitionArn",
    "revision",
    "status",
    "requiresAttributes",
    "compatibilities",
    "registeredAt",
    "registeredBy",
    "deregisteredAt",
    "deleteRequestedAt",
];

/// The leaves of a definition that register takes (read-only fields left
/// out), and, with `tags: false`, without the `tags` member either.
pub fn writable_leaves(td: &Value, tags: bool) -> Vec<(String, Value)> {
    leaves(td)
        .into_iter()
        .filter(|(path, _)| {
            let top = path.split(['.', '[']).next().unwrap_or("");
            !READ_ONLY.contains(&top) && (tags || top != "tags")
        })
        .collect()
}
