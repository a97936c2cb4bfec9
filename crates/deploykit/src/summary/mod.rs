//! What a run leaves for the people and the later steps of a GitHub
//! Actions job, besides stdout: a short Markdown section appended to
//! `$GITHUB_STEP_SUMMARY` (GitHub shows it on the job's page) and the key
//! facts appended to `$GITHUB_OUTPUT` (`steps.<id>.outputs.<key>`).
//!
//! A tool says what goes in its [`Section`] and hands it to
//! [`crate::Outcome::with_summary`]; [`crate::cli`] does the rest, for the
//! tools whose `main` asks for it ([`crate::cli::main_with_summary_from`]):
//!
//! - both paths are checked before any work ([`Github::from_env`]): one that
//!   cannot be appended to is exit 2 naming the variable, with nothing sent;
//! - both files are appended to, never truncated: several steps, and
//!   several tools in one step, add to the same files, in the pipe's order
//!   (a tool appends before it prints the object the next one reads);
//! - a section that cannot be written after the work is a warning: the
//!   deploy it describes happened. A key fact that cannot be written fails
//!   a run that succeeded (a later step would read nothing), as a failed
//!   stdout does;
//! - every failure gets a section, the error as a table, whether the tool
//!   had a report to give ([`crate::Outcome::failed`]) or not;
//! - a section holds only the fields a tool picks from its object, never
//!   the object itself: a task definition holds environment values, and
//!   stdin may have held a password.
//!
//! [`markdown`] escapes whatever comes from elsewhere; [`ecs`] (feature
//! `ecs`) renders the rollout and task reports that ecs-wait, ecs-deploy
//! --wait and ecs-run share.

pub mod markdown;

#[cfg(feature = "ecs")]
pub mod ecs;

#[cfg(any(test, feature = "summary-parse"))]
pub mod parsed;

use std::path::{Path, PathBuf};

pub use markdown::{Inline, Markdown};

use crate::{Error, Result, cli, output};

/// The variable GitHub Actions names the step summary file in.
pub const SUMMARY_VAR: &str = "GITHUB_STEP_SUMMARY";

/// The variable GitHub Actions names the step outputs file in.
pub const OUTPUT_VAR: &str = "GITHUB_OUTPUT";

/// What one run of a tool says of itself: a title for its heading
/// (`oci-push: pushed`), the Markdown under it, and the key facts for
/// `$GITHUB_OUTPUT`.
#[derive(Debug, Clone, Default)]
pub struct Section {
    title: String,
    body: Markdown,
    outputs: Vec<(&'static str, String)>,
}

impl Section {
    /// A section titled `title` (after the tool's name), empty so far.
    pub fn new(title: impl Into<String>) -> Self {
        Section {
            title: title.into(),
            ..Section::default()
        }
    }

    /// The Markdown under the heading, to add blocks to.
    pub fn body(&mut self) -> &mut Markdown {
        &mut self.body
    }

    /// A key fact for `$GITHUB_OUTPUT`; an empty value is left out.
    pub fn output(&mut self, key: &'static str, value: impl Into<String>) -> &mut Self {
        let value = value.into();
        if !value.is_empty() {
            self.outputs.retain(|(k, _)| *k != key);
            self.outputs.push((key, value));
        }
        self
    }

    /// The key facts, in the order they were given.
    pub fn outputs(&self) -> &[(&'static str, String)] {
        &self.outputs
    }
}

/// The whole section a run appends: `### tool: title`, then the failure
/// (exit code and message) as a table when the run failed, then the
/// tool's body. A run that failed before it had anything to say
/// (`section` none) gets its heading and the failure alone.
pub fn render(tool: &str, section: Option<&Section>, failure: Option<&Error>) -> String {
    let mut md = Markdown::new();
    let title = match (section, failure) {
        (Some(s), _) if !s.title.is_empty() => s.title.as_str(),
        (_, Some(_)) => "failed",
        _ => "done",
    };
    md.heading(3, format!("{tool}: {title}"));
    if let Some(e) = failure {
        md.table(
            &["Exit code", "Error"],
            &[vec![
                Inline::text(&e.exit().code().to_string()),
                Inline::text(e.message()),
            ]],
        );
    }
    if let Some(s) = section {
        md.append(&s.body);
    }
    md.as_str().to_string()
}

/// `key=value` lines for `$GITHUB_OUTPUT`; a value with a line break in it
/// as GitHub's multi-line form (`key<<DELIMITER`), with a delimiter the
/// value does not hold.
pub fn output_lines(outputs: &[(&'static str, String)]) -> String {
    let mut text = String::new();
    for (key, value) in outputs {
        if value.contains('\n') || value.contains('\r') {
            let mut delimiter = "DEPLOYKIT_EOF".to_string();
            while value.contains(&delimiter) {
                delimiter.push('_');
            }
            text.push_str(&format!("{key}<<{delimiter}\n{value}\n{delimiter}\n"));
        } else {
            text.push_str(&format!("{key}={value}\n"));
        }
    }
    text
}

/// Where this run's summary and key facts go: the files GitHub Actions
/// names, when it names them, both checked for appending.
#[derive(Debug, Default, Clone)]
pub struct Github {
    summary: Option<PathBuf>,
    outputs: Option<PathBuf>,
}

impl Github {
    /// Reads `$GITHUB_STEP_SUMMARY` and `$GITHUB_OUTPUT` (unset or empty:
    /// not written) and checks, before any work, that each can be appended
    /// to: exit 2 naming the variable and the path otherwise.
    pub fn from_env() -> Result<Self> {
        let path = |var: &str| {
            std::env::var_os(var)
                .filter(|p| !p.is_empty())
                .map(PathBuf::from)
        };
        let github = Github {
            summary: path(SUMMARY_VAR),
            outputs: path(OUTPUT_VAR),
        };
        if let Some(p) = &github.summary {
            output::check_append(&format!("${SUMMARY_VAR}"), p)?;
        }
        if let Some(p) = &github.outputs {
            output::check_append(&format!("${OUTPUT_VAR}"), p)?;
        }
        Ok(github)
    }

    /// Nothing to write anywhere.
    pub fn none() -> Self {
        Github::default()
    }

    /// The step summary file, when there is one.
    pub fn summary_path(&self) -> Option<&Path> {
        self.summary.as_deref()
    }

    /// Appends the section's key facts to `$GITHUB_OUTPUT`, when it is set
    /// and there are any. Exit 1 when that fails.
    pub fn write_outputs(&self, section: Option<&Section>) -> Result<()> {
        let (Some(path), Some(section)) = (&self.outputs, section) else {
            return Ok(());
        };
        if section.outputs.is_empty() {
            return Ok(());
        }
        output::append(
            &format!("${OUTPUT_VAR}"),
            path,
            output_lines(&section.outputs).as_bytes(),
        )
    }

    /// Appends the run's section ([`render`]) to `$GITHUB_STEP_SUMMARY`,
    /// when it is set. A failure is a warning on stderr: it never changes
    /// how the run ends.
    pub fn write_summary(&self, tool: &str, section: Option<&Section>, failure: Option<&Error>) {
        let Some(path) = &self.summary else {
            return;
        };
        // A blank line first: the file may end without a line break, and
        // a heading must begin a line.
        let text = format!("\n{}", render(tool, section, failure));
        if let Err(e) = output::append(&format!("${SUMMARY_VAR}"), path, text.as_bytes()) {
            cli::warn(format!(
                "{e}; the job summary goes without this step's section"
            ));
        }
    }
}

/// A duration in whole seconds as people read it: `42s`, `3m 05s`, `1h 02m`.
pub fn duration(seconds: u64) -> String {
    match seconds {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m {:02}s", s / 60, s % 60),
        s => format!("{}h {:02}m", s / 3600, s % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parsed::{Block, blocks};

    #[test]
    fn a_failure_without_a_section_is_its_heading_and_the_error_table() {
        let e = Error::usage("--tag: \"a|b\" is not a tag");
        assert_eq!(
            blocks(&render("oci-push", None, Some(&e))),
            vec![
                Block::Heading("oci-push: failed".into()),
                Block::Table(vec![
                    vec!["Exit code".into(), "Error".into()],
                    vec!["2".into(), "--tag: \"a|b\" is not a tag".into()],
                ]),
            ]
        );
    }

    #[test]
    fn a_failure_with_a_section_comes_first_then_the_body() {
        let mut section = Section::new("failed");
        section.body().paragraph("the body");
        let e = Error::timeout("still IN_PROGRESS");
        let got = blocks(&render("ecs-wait", Some(&section), Some(&e)));
        assert_eq!(got[0], Block::Heading("ecs-wait: failed".into()));
        assert!(matches!(&got[1], Block::Table(rows) if rows[1] == ["3", "still IN_PROGRESS"]));
        assert_eq!(got[2], Block::Paragraph("the body".into()));
    }

    #[test]
    fn output_lines_are_key_value_and_multi_line_values_use_a_delimiter() {
        let lines = output_lines(&[
            ("digest", "sha256:ab".into()),
            ("odd", "a\nDEPLOYKIT_EOF\nb".into()),
        ]);
        assert_eq!(
            lines,
            "digest=sha256:ab\nodd<<DEPLOYKIT_EOF_\na\nDEPLOYKIT_EOF\nb\nDEPLOYKIT_EOF_\n"
        );
    }

    #[test]
    fn an_empty_output_value_is_left_out_and_a_repeated_key_written_once() {
        let mut s = Section::new("x");
        s.output("a", "").output("b", "1").output("b", "2");
        assert_eq!(s.outputs(), [("b", "2".to_string())]);
    }

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(duration(7), "7s");
        assert_eq!(duration(65), "1m 05s");
        assert_eq!(duration(3720), "1h 02m");
    }
}
