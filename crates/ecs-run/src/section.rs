//! ecs-run's section of the job summary: the task, how long the run took,
//! each container's exit code and reason, and the watched container's last
//! log lines when the report has them. For later steps: `task-arn` and
//! `exit-code` (the watched container's).

use std::time::Duration;

use deploykit::Outcome;
use deploykit::ecs::api::name_of;
use deploykit::summary::{Inline, Section, duration, ecs};

/// `outcome` with its section: `watched` is the container whose exit code
/// decides the run, once known; `took`, how long the run took.
pub fn attach(outcome: Outcome, cluster: &str, watched: Option<&str>, took: Duration) -> Outcome {
    let Some(doc) = outcome.object() else {
        return outcome;
    };
    let title = match outcome.failure().map(|e| e.exit().code()) {
        None => "task succeeded",
        Some(3) => "task timed out",
        Some(_) => "task failed",
    };
    let mut section = Section::new(title);
    let task = doc.get("task").cloned().unwrap_or_default();
    let arn = task["taskArn"].as_str().unwrap_or_default();
    let exit = watched.and_then(|name| {
        task["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["name"] == name)
            .and_then(|c| c["exitCode"].as_i64())
    });
    let md = section.body();
    let mut said = vec![];
    if !arn.is_empty() {
        said.push(Inline::join(
            [Inline::text("Task"), Inline::code(name_of(arn))],
            " ",
        ));
    }
    said.push(Inline::text(&format!("in cluster {}", name_of(cluster))));
    said.push(Inline::text(&format!("took {}", duration(took.as_secs()))));
    if let Some(name) = watched {
        said.push(Inline::join(
            [
                Inline::text("container"),
                Inline::code(name),
                Inline::text(&match exit {
                    Some(code) => format!("exited with {code}"),
                    None => "has no exit code".to_string(),
                }),
            ],
            " ",
        ));
    }
    md.paragraph(Inline::join(said, ", "));
    if !arn.is_empty() {
        md.table(
            &["Task", "Container", "Exit code", "Reason"],
            &ecs::container_rows(&task, None),
        );
        ecs::container_logs(md, &task, None);
    }
    section.output("task-arn", arn);
    if let Some(code) = exit {
        section.output("exit-code", code.to_string());
    }
    outcome.with_summary(section)
}
