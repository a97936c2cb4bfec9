//! `--expand-env`: `${VAR}` and `${VAR:-default}` in string values become the
//! environment's value, so one checked-in template serves every stage.
//! Only the braced form is touched: `$VAR` alone stays as it is, and so does
//! the shell text the container runs (`command`, `entryPoint`,
//! `healthCheck.command`), where `${PORT}` is the container's own variable,
//! not the CI machine's. `${VAR:-default}` takes the default when VAR is
//! unset or empty, as the shell does. An unset variable (without a default)
//! is exit 2 naming it and where it is; its value is never printed.

use deploykit::{Error, Result};
use serde_json::Value;

use deploykit::path::{self, Path};

use deploykit::ecs::check::is_shell_text;

/// Expands every string in `td` with `lookup`.
pub fn expand(td: &mut Value, lookup: impl Fn(&str) -> Option<String>) -> Result<()> {
    let mut missing: Vec<(String, Path)> = Vec::new();
    path::strings_mut(td, &mut |at, s| {
        if s.contains("${") && !is_shell_text(at) {
            *s = expand_str(s, &lookup, &mut |name| {
                missing.push((name.to_string(), at.clone()))
            });
        }
    });
    if missing.is_empty() {
        return Ok(());
    }
    let lines: Vec<String> = missing
        .iter()
        .map(|(name, at)| format!("  ${{{name}}} in {}", at.describe(td)))
        .collect();
    Err(Error::usage(format!(
        "--expand-env: {} not set in the environment:\n{}",
        if missing.len() == 1 {
            "a variable is"
        } else {
            "variables are"
        },
        lines.join("\n")
    )))
}

fn expand_str(
    s: &str,
    lookup: &impl Fn(&str) -> Option<String>,
    missing: &mut impl FnMut(&str),
) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return out;
        };
        let inner = &after[..end];
        let (name, default) = match inner.split_once(":-") {
            Some((name, default)) => (name, Some(default)),
            None => (inner, None),
        };
        if is_name(name) {
            match (lookup(name), default) {
                (Some(value), Some(default)) if value.is_empty() => out.push_str(default),
                (Some(value), _) => out.push_str(&value),
                (None, Some(default)) => out.push_str(default),
                (None, None) => missing(name),
            }
        } else {
            // Not ours (`${1}`, `${a b}`): leave it as written.
            out.push_str(&rest[start..start + 3 + end]);
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn env(name: &str) -> Option<String> {
        match name {
            "STAGE" => Some("prod".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn expands_braced_names_and_defaults() {
        let mut td = json!({"family": "app-${STAGE}", "x": "${MISSING:-dflt}/${EMPTY}", "y": "$STAGE ${1} ${a b} ${STAGE", "n": 3});
        expand(&mut td, env).unwrap();
        assert_eq!(
            td,
            json!({"family": "app-prod", "x": "dflt/", "y": "$STAGE ${1} ${a b} ${STAGE", "n": 3})
        );
    }

    #[test]
    fn a_default_is_taken_for_an_empty_variable_as_the_shell_does() {
        let mut td = json!({"image": "web:${EMPTY:-latest}", "x": "[${EMPTY}]"});
        expand(&mut td, env).unwrap();
        assert_eq!(td, json!({"image": "web:latest", "x": "[]"}));
    }

    #[test]
    fn the_containers_shell_text_is_left_alone() {
        let mut td = json!({"containerDefinitions": [{
            "command": ["sh", "-c", "exec app --stage ${STAGE} --port ${PORT}"],
            "entryPoint": ["${STAGE}"],
            "healthCheck": {"command": ["CMD-SHELL", "curl localhost:${PORT}"]},
            "image": "web:${STAGE}"
        }]});
        let before = td.clone();
        expand(&mut td, env).unwrap();
        assert_eq!(td["containerDefinitions"][0]["image"], "web:prod");
        for field in ["command", "entryPoint", "healthCheck"] {
            assert_eq!(
                td["containerDefinitions"][0][field], before["containerDefinitions"][0][field],
                "{field}"
            );
        }
    }

    #[test]
    fn unset_names_are_listed_with_their_place() {
        let mut td =
            json!({"containerDefinitions": [{"name": "web", "image": "${REGISTRY}/web:${TAG}"}]});
        let e = expand(&mut td, env).unwrap_err();
        assert_eq!(e.exit().code(), 2);
        let text = e.to_string();
        assert!(
            text.contains(r#"${REGISTRY} in containerDefinitions[0].image (container "web")"#),
            "{text}"
        );
        assert!(text.contains("${TAG}"), "{text}");
    }
}
