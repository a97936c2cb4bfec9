//! The checks a rendered definition must pass before it is written: what
//! RegisterTaskDefinition would refuse, and what would register but deploy
//! something broken (a `REPLACE_ME` image, an `<account-id>` in a role ARN).
//! All problems are reported at once, each with the field's path.

use std::collections::HashMap;

use deploykit::{Error, Result};
use regex_lite::Regex;
use serde_json::Value;

use crate::path::{self, Path};

/// The text every template uses for "fill this in".
const REPLACE_ME: &str = "REPLACE_ME";

/// Checks `td`; `placeholders` is `None` when that check is off.
pub fn check(td: &Value, placeholders: Option<&[Regex]>) -> Result<()> {
    let mut problems = Vec::new();

    match td.get("family") {
        Some(Value::String(f)) if !f.is_empty() => {}
        Some(other) if !other.is_null() => problems.push(format!(
            "\"family\" is {}, not a name",
            deploykit::stream::kind(other)
        )),
        _ => problems.push("no \"family\": every task definition needs one".to_string()),
    }

    match td.get("containerDefinitions").and_then(Value::as_array) {
        None => problems.push("no \"containerDefinitions\"".to_string()),
        Some(containers) if containers.is_empty() => {
            problems.push("\"containerDefinitions\" is empty".to_string())
        }
        Some(containers) => {
            for (i, c) in containers.iter().enumerate() {
                let label = match c["name"].as_str() {
                    Some(name) => format!("container {name:?}"),
                    None => {
                        problems.push(format!("containerDefinitions[{i}] has no \"name\""));
                        format!("containerDefinitions[{i}]")
                    }
                };
                if !c["image"].is_string() {
                    problems.push(format!("{label} has no \"image\" (set one with --image)"));
                }
                for (field, what) in [
                    ("environment", "environment variable"),
                    ("secrets", "secret"),
                ] {
                    duplicates(c, field, what, &label, &mut problems);
                }
            }
        }
    }

    if let Some(patterns) = placeholders {
        path::strings(td, &mut |at, s| {
            if let Some(found) = placeholder(at, s, patterns) {
                problems.push(format!(
                    "{} still holds the placeholder {found:?}",
                    at.describe(td)
                ));
            }
        });
    }

    if problems.is_empty() {
        return Ok(());
    }
    let family = td.get("family").and_then(Value::as_str).unwrap_or("?");
    let mut message = format!("task definition {family:?} is not ready to register:");
    for p in &problems {
        message.push_str("\n  ");
        message.push_str(p);
    }
    if problems.iter().any(|p| p.contains("placeholder")) {
        message.push_str("\n(fill placeholders with --image, --env, --*-arn or --jq; --no-placeholder-check turns this check off)");
    }
    Err(Error::usage(message))
}

/// The placeholder text in `s`, if any: `REPLACE_ME` anywhere, an
/// `<angle-bracket>` word in an image or ARN, or a match of a user pattern.
fn placeholder(at: &Path, s: &str, patterns: &[Regex]) -> Option<String> {
    if s.contains(REPLACE_ME) {
        return Some(REPLACE_ME.to_string());
    }
    let key = at.last_key().unwrap_or("");
    if (key == "image" || key.ends_with("Arn") || key == "valueFrom")
        && let Some(found) = angle_word(s)
    {
        return Some(found.to_string());
    }
    patterns
        .iter()
        .find_map(|re| re.find(s).map(|m| m.as_str().to_string()))
}

/// `<account-id>` in `123.dkr.ecr/<account-id>/x`: a `<`, a word without
/// spaces or brackets, a `>`.
fn angle_word(s: &str) -> Option<&str> {
    let mut rest = s;
    while let Some(open) = rest.find('<') {
        let after = &rest[open + 1..];
        let end = after.find(|c: char| c == '>' || c == '<' || c.is_whitespace());
        match end {
            Some(close) if close > 0 && after[close..].starts_with('>') => {
                return Some(&rest[open..open + close + 2]);
            }
            _ => rest = after,
        }
    }
    None
}

fn duplicates(container: &Value, field: &str, what: &str, label: &str, problems: &mut Vec<String>) {
    let Some(entries) = container[field].as_array() else {
        return;
    };
    let mut seen: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut order = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        if let Some(name) = entry["name"].as_str() {
            let at = seen.entry(name).or_default();
            if at.is_empty() {
                order.push(name);
            }
            at.push(i);
        }
    }
    for name in order {
        let at = &seen[name];
        if at.len() > 1 {
            let places: Vec<String> = at.iter().map(|i| format!("{field}[{i}]")).collect();
            problems.push(format!(
                "{label} sets the {what} {name:?} {} times ({})",
                at.len(),
                places.join(", ")
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(td: Value, patterns: Option<&[Regex]>) -> Result<()> {
        check(&td, patterns)
    }

    #[test]
    fn a_good_definition_passes() {
        run(json!({"family": "f", "containerDefinitions": [{"name": "w", "image": "nginx:1", "command": ["echo", "<not an arn>"]}]}), Some(&[])).unwrap();
    }

    #[test]
    fn every_problem_is_listed() {
        let td = json!({
            "containerDefinitions": [
                {"name": "web", "image": "<account-id>.dkr.ecr.us-east-1.amazonaws.com/web",
                 "environment": [{"name": "A", "value": "1"}, {"name": "A", "value": "2"}],
                 "secrets": [{"name": "S", "valueFrom": "REPLACE_ME"}]},
                {"image": "x"}
            ],
            "executionRoleArn": "arn:aws:iam::<account>:role/x"
        });
        let text = run(td, Some(&[])).unwrap_err().to_string();
        for want in [
            "no \"family\"",
            "containerDefinitions[1] has no \"name\"",
            r#"container "web" sets the environment variable "A" 2 times (environment[0], environment[1])"#,
            r#"containerDefinitions[0].image (container "web") still holds the placeholder "<account-id>""#,
            r#"containerDefinitions[0].secrets[0].valueFrom (container "web") still holds the placeholder "REPLACE_ME""#,
            r#"executionRoleArn still holds the placeholder "<account>""#,
        ] {
            assert!(text.contains(want), "missing {want:?} in:\n{text}");
        }
    }

    #[test]
    fn user_patterns_and_switching_off() {
        let td = json!({"family": "f", "containerDefinitions": [{"name": "w", "image": "x:TODO"}]});
        let re = [Regex::new("TODO|FIXME").unwrap()];
        assert!(
            run(td.clone(), Some(&re))
                .unwrap_err()
                .to_string()
                .contains("\"TODO\"")
        );
        let td =
            json!({"family": "f", "containerDefinitions": [{"name": "w", "image": "REPLACE_ME"}]});
        run(td, None).unwrap();
    }
}
