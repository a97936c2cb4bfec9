//! action.yml, the release workflow and every example workflow, checked
//! against GitHub's published schemas by @action-validator/cli (which
//! scripts/test.sh installs into target/tools/npm), as GitHub would
//! refuse them: a misspelled key fails.

use std::path::{Path, PathBuf};

use deploy_tests::{Output, root, tool};

fn validator() -> PathBuf {
    let bin = root().join("target/tools/npm/node_modules/.bin/action-validator");
    assert!(
        bin.exists(),
        "{} is not installed: run `make test` (scripts/test.sh installs it)",
        bin.display()
    );
    bin
}

fn validate(file: &Path) -> Output {
    tool(validator()).args([file]).run()
}

/// The workflow files, and action.yml.
fn files() -> Vec<PathBuf> {
    let mut files = vec![
        root().join("action.yml"),
        root().join(".github/workflows/release.yml"),
    ];
    for entry in std::fs::read_dir(root().join("examples")).unwrap() {
        let workflow = entry.unwrap().path().join("workflow.yml");
        if workflow.exists() {
            files.push(workflow);
        }
    }
    files
}

#[test]
fn the_action_and_every_workflow_pass_github_s_schemas() {
    let dir = tempfile::tempdir().unwrap();
    let files = files();
    assert!(files.len() >= 8, "{files:?}");
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        // The validator's schema (0.6.0, the newest) predates the
        // `attestations` permission, which actions/attest-build-provenance
        // needs: checked here by hand, the rest by the schema.
        let checked: String = if text.contains("attestations: write") {
            assert!(
                text.contains("id-token: write"),
                "{}: attestations need id-token: write",
                file.display()
            );
            text.lines()
                .filter(|l| l.trim() != "attestations: write")
                .map(|l| format!("{l}\n"))
                .collect()
        } else {
            text
        };
        let copy = dir.path().join(file.file_name().unwrap());
        std::fs::write(&copy, checked).unwrap();
        let out = validate(&copy);
        assert_eq!(
            out.code,
            0,
            "{}: {}{}",
            file.display(),
            out.stdout,
            out.stderr
        );
    }
}

#[test]
fn a_misspelled_key_fails_the_validator() {
    let dir = tempfile::tempdir().unwrap();
    for (file, from, to) in [
        ("action.yml", "\nruns:", "\nrunz:"),
        (
            "examples/1-push-and-deploy/workflow.yml",
            "runs-on:",
            "runs_on:",
        ),
    ] {
        let text = std::fs::read_to_string(root().join(file)).unwrap();
        assert!(text.contains(from), "{file} has no {from:?}");
        let copy = dir.path().join(Path::new(file).file_name().unwrap());
        std::fs::write(&copy, text.replacen(from, to, 1)).unwrap();
        let out = validate(&copy);
        assert_ne!(out.code, 0, "{file} with {to:?} passed");
        let said = format!("{}{}", out.stdout, out.stderr);
        assert!(
            said.contains(&format!(
                "Additional property '{}'",
                to.trim().trim_end_matches(':')
            )),
            "{file}: {said}"
        );
    }
}
