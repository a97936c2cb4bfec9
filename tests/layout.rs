//! The workspace's shape, as ARCHITECTURE.md states it: no tool crate is
//! the library of another (what two tools share lives in deploykit), and
//! deploykit depends on no tool.

use deploy_tests::{TOOLS, root};

/// The names of the dependencies (of every kind) a Cargo.toml declares.
fn dependencies(crate_dir: &str) -> Vec<String> {
    let path = root().join("crates").join(crate_dir).join("Cargo.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut in_deps = false;
    let mut names = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_deps = line.ends_with("dependencies]");
            continue;
        }
        if !in_deps || line.is_empty() || line.starts_with('#') {
            continue;
        }
        let name = line.split(['=', '.', ' ']).next().unwrap_or_default();
        names.push(name.trim().to_string());
    }
    assert!(
        !names.is_empty(),
        "{} lists no dependencies",
        path.display()
    );
    names
}

#[test]
fn no_tool_crate_depends_on_another_tool() {
    for tool in TOOLS {
        let deps = dependencies(tool);
        assert!(deps.iter().any(|d| d == "deploykit"), "{tool}: {deps:?}");
        for other in TOOLS.iter().filter(|t| **t != tool) {
            assert!(
                !deps.iter().any(|d| d == other),
                "{tool} depends on the tool crate {other}: move what they share into deploykit"
            );
        }
    }
}

#[test]
fn deploykit_depends_on_no_tool() {
    let deps = dependencies("deploykit");
    assert!(deps.iter().any(|d| d == "serde_json"), "{deps:?}");
    for tool in TOOLS {
        assert!(
            !deps.iter().any(|d| d == tool),
            "deploykit depends on {tool}"
        );
    }
}
