//! The checks a rendered definition must pass before it is written: what
//! RegisterTaskDefinition requires of it (a family; each container a name
//! and an image, names unique; each environment entry a name; each secret a
//! name and a valueFrom; the field types the model wants), and what would
//! register but deploy something broken: a template left unfilled.
//! All problems are reported at once, each with the field's path.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::error::{Error, Result};
use crate::path::{self, Path, Seg};
use regex_lite::Regex;
use serde_json::Value;

/// The text every template uses for "fill this in".
const REPLACE_ME: &str = "REPLACE_ME";

/// Checks `td`; `placeholders` is `None` when that check is off (the hint
/// about filling them names taskdef-render's flags: it is the tool that
/// fills templates), and `wrong_types` are the type check's refusals,
/// listed with the rest. Exit 2 listing every problem.
pub fn check(td: &Value, placeholders: Option<&[Regex]>, wrong_types: Vec<String>) -> Result<()> {
    let mut problems = Vec::new();

    match td.get("family") {
        Some(Value::String(f)) if !f.is_empty() => {}
        Some(other) if !other.is_null() => problems.push(format!(
            "\"family\" is {}, not a name",
            crate::stream::kind(other)
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
                named_entries(c, &label, &mut problems);
                for (field, what) in [
                    ("environment", "environment variable"),
                    ("secrets", "secret"),
                ] {
                    duplicates(c, field, what, &label, &mut problems);
                }
            }
            duplicate_containers(containers, &mut problems);
        }
    }
    problems.extend(wrong_types);

    let mut unfilled = false;
    if let Some(patterns) = placeholders {
        path::strings(td, &mut |at, s| {
            if let Some((token, form)) = placeholder(at, s, patterns) {
                unfilled = true;
                // A value there may be a secret: name the form, not the text.
                problems.push(if may_be_secret(at) {
                    format!(
                        "{} still holds a placeholder: {form} (the value is not shown: it may be a secret)",
                        at.describe(td)
                    )
                } else {
                    format!("{} still holds the placeholder {token:?}", at.describe(td))
                });
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
    if unfilled {
        message.push_str("\n(fill placeholders with --image, --env, --*-arn, --expand-env or --jq; --no-placeholder-check turns this check off)");
    }
    Err(Error::usage(message))
}

/// Each environment entry has a name; each secret a name and a valueFrom.
fn named_entries(container: &Value, label: &str, problems: &mut Vec<String>) {
    for (field, required) in [
        ("environment", &["name"][..]),
        ("secrets", &["name", "valueFrom"][..]),
    ] {
        for (j, entry) in container[field]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            let missing: Vec<&str> = required
                .iter()
                .copied()
                .filter(|key| entry[*key].as_str().is_none_or(str::is_empty))
                .collect();
            if missing.is_empty() {
                continue;
            }
            let which = match entry["name"].as_str() {
                Some(name) if !name.is_empty() => format!("{field}[{j}] ({name:?})"),
                _ => format!("{field}[{j}]"),
            };
            problems.push(format!(
                "{label}: {which} has no {}",
                missing
                    .iter()
                    .map(|k| format!("\"{k}\""))
                    .collect::<Vec<_>>()
                    .join(" and ")
            ));
        }
    }
}

fn duplicate_containers(containers: &[Value], problems: &mut Vec<String>) {
    for (name, at) in repeated_names(containers) {
        let places: Vec<String> = at
            .iter()
            .map(|i| format!("containerDefinitions[{i}]"))
            .collect();
        problems.push(format!(
            "{} containers are named {name:?} ({}): names must be unique",
            at.len(),
            places.join(", ")
        ));
    }
}

/// The `name`s that more than one item carries, each with the items'
/// indexes, in the order the names first appear.
fn repeated_names(items: &[Value]) -> Vec<(&str, Vec<usize>)> {
    let mut seen: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut order = Vec::new();
    for (i, item) in items.iter().enumerate() {
        if let Some(name) = item["name"].as_str() {
            let at = seen.entry(name).or_default();
            if at.is_empty() {
                order.push(name);
            }
            at.push(i);
        }
    }
    order
        .into_iter()
        .filter_map(|name| {
            seen.remove(name)
                .filter(|at| at.len() > 1)
                .map(|at| (name, at))
        })
        .collect()
}

/// Environment values, log options (a Splunk or Datadog token) and labels
/// may be secrets: text found there is never repeated in messages.
fn may_be_secret(at: &Path) -> bool {
    under(
        at,
        &[
            "environment",
            "logConfiguration",
            "dockerLabels",
            "firelensConfiguration",
        ],
    )
}

/// Log options and labels are where Docker's own Go templates live
/// (`"tag": "{{.ImageName}}/{{.Name}}"`): `{{.Field}}` there is a value.
fn takes_go_templates(at: &Path) -> bool {
    under(
        at,
        &["logConfiguration", "dockerLabels", "firelensConfiguration"],
    )
}

fn under(at: &Path, keys: &[&str]) -> bool {
    at.0.iter()
        .any(|s| matches!(s, Seg::Key(k) if keys.contains(&k.as_str())))
}

/// Shell text the container runs: `${PORT}` and `<html>` there are its own
/// business, not a template's (neither checked nor expanded).
pub fn is_shell_text(at: &Path) -> bool {
    match at.0.as_slice() {
        [Seg::Key(c), Seg::Index(_), Seg::Key(k), ..] if c == "containerDefinitions" => {
            k == "command"
                || k == "entryPoint"
                || (k == "healthCheck"
                    && matches!(at.0.get(3), Some(Seg::Key(h)) if h == "command"))
        }
        _ => false,
    }
}

struct Forms {
    github: Regex,
    shell_var: Regex,
    mustache: Regex,
    dunder: Regex,
    your: Regex,
    arn_account: Regex,
    ecr_account: Regex,
}

fn forms() -> &'static Forms {
    static FORMS: OnceLock<Forms> = OnceLock::new();
    FORMS.get_or_init(|| {
        let re = |p: &str| Regex::new(p).expect("a valid built-in pattern");
        Forms {
            github: re(r"\$\{\{[^}]*\}\}"),
            shell_var: re(r"\$\{[A-Za-z_][A-Za-z0-9_]*(:?[-=?+][^}]*)?\}"),
            mustache: re(r"\{\{[^{}]*\}\}"),
            dunder: re(r"__[A-Z][A-Z0-9_]*__"),
            your: re(r"\bYOUR_[A-Z0-9_]+\b"),
            arn_account: re(r"\barn:aws[a-z-]*:[^:\s]*:[^:\s]*:([^:\s]*):"),
            ecr_account: re(r"^([^./:]+)\.dkr\.ecr(-fips)?\.[a-z0-9-]+\.amazonaws\.com"),
        }
    })
}

/// A placeholder in `s`, as (the text found, the form's name).
fn placeholder(at: &Path, s: &str, patterns: &[Regex]) -> Option<(String, String)> {
    let found = |m: &str, form: &str| Some((m.to_string(), form.to_string()));
    let f = forms();
    if s.contains(REPLACE_ME) {
        return found(REPLACE_ME, "REPLACE_ME");
    }
    if let Some(m) = f.github.find(s) {
        return found(m.as_str(), "${{ expression }}");
    }
    if let Some(m) = patterns.iter().find_map(|re| re.find(s)) {
        return found(m.as_str(), "matching --placeholder");
    }
    if is_shell_text(at) {
        return None;
    }
    if let Some(m) = f.shell_var.find(s) {
        return found(m.as_str(), "${VAR} (see --expand-env)");
    }
    let go_template = |m: &str| m[2..].trim_start().starts_with('.');
    if let Some(m) = f
        .mustache
        .find_iter(s)
        .find(|m| !(takes_go_templates(at) && go_template(m.as_str())))
    {
        return found(m.as_str(), "{{ template }}");
    }
    if let Some(m) = f.dunder.find(s) {
        return found(m.as_str(), "__NAME__");
    }
    if let Some(word) = angle_word(s) {
        return found(word, "<WORD>");
    }
    if let Some(m) = f.your.find(s) {
        return found(m.as_str(), "YOUR_...");
    }
    for caps in f.arn_account.captures_iter(s) {
        let account = caps.get(1).map_or("", |m| m.as_str());
        if !valid_account(account) {
            return found(account, "an ARN account that is not 12 digits");
        }
    }
    if let Some(caps) = f.ecr_account.captures(s) {
        let account = caps.get(1).map_or("", |m| m.as_str());
        if !crate::flags::is_account_id(account) {
            return found(account, "an ECR registry account that is not 12 digits");
        }
    }
    None
}

/// An ARN's account field: 12 digits, empty (S3) or `aws` (managed policies).
fn valid_account(account: &str) -> bool {
    account.is_empty() || account == "aws" || crate::flags::is_account_id(account)
}

/// `<account-id>` in `123.dkr.ecr/<account-id>/x`: a `<`, a word of
/// letters, digits, `_` and `-`, a `>`. An e-mail address in brackets
/// (`App <noreply@example.com>`) and a few HTML tags are not placeholders.
fn angle_word(s: &str) -> Option<&str> {
    const TAGS: [&str; 14] = [
        "b", "i", "u", "p", "br", "hr", "em", "div", "span", "html", "body", "strong", "code",
        "none",
    ];
    let mut rest = s;
    while let Some(open) = rest.find('<') {
        let after = &rest[open + 1..];
        let end = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'));
        match end {
            Some(close)
                if close > 0
                    && after[close..].starts_with('>')
                    && !TAGS.contains(&after[..close].to_ascii_lowercase().as_str()) =>
            {
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
    for (name, at) in repeated_names(entries) {
        let places: Vec<String> = at.iter().map(|i| format!("{field}[{i}]")).collect();
        problems.push(format!(
            "{label} sets the {what} {name:?} {} times ({})",
            at.len(),
            places.join(", ")
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(td: Value, patterns: Option<&[Regex]>) -> Result<()> {
        check(&td, patterns, Vec::new())
    }

    /// The message for a one-container definition whose container is `c`.
    fn problems(c: Value) -> String {
        let td = json!({"family": "f", "containerDefinitions": [c]});
        match run(td, Some(&[])) {
            Ok(()) => String::new(),
            Err(e) => e.to_string(),
        }
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
    fn a_secret_without_value_from_is_refused_by_name() {
        let text = problems(json!({"name": "w", "image": "i", "secrets": [{"name": "S"}]}));
        assert!(
            text.contains(r#"container "w": secrets[0] ("S") has no "valueFrom""#),
            "{text}"
        );
    }

    #[test]
    fn an_environment_entry_without_a_name_is_refused() {
        let text = problems(json!({"name": "w", "image": "i", "environment": [{"value": "x"}]}));
        assert!(
            text.contains(r#"container "w": environment[0] has no "name""#),
            "{text}"
        );
    }

    #[test]
    fn duplicate_secret_names_are_refused() {
        let text = problems(
            json!({"name": "w", "image": "i", "secrets": [{"name": "S", "valueFrom": "a"}, {"name": "S", "valueFrom": "b"}]}),
        );
        assert!(
            text.contains(r#"container "w" sets the secret "S" 2 times (secrets[0], secrets[1])"#),
            "{text}"
        );
    }

    #[test]
    fn duplicate_container_names_are_refused() {
        let td = json!({"family": "f", "containerDefinitions": [{"name": "w", "image": "i"}, {"name": "w", "image": "j"}]});
        let text = run(td, None).unwrap_err().to_string();
        assert!(
            text.contains(
                r#"2 containers are named "w" (containerDefinitions[0], containerDefinitions[1])"#
            ),
            "{text}"
        );
    }

    #[test]
    fn type_refusals_are_listed_with_the_rest() {
        let td = json!({"family": "f", "containerDefinitions": [{"name": "w", "image": "i"}]});
        let text = check(
            &td,
            None,
            vec!["cpu: an array where the ECS API wants a string".into()],
        )
        .unwrap_err()
        .to_string();
        assert!(text.contains("\n  cpu: an array where"), "{text}");
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

    /// One case per placeholder form: `flags!(name, container, found)` says
    /// the container's definition is refused naming `found`; `passes!` that
    /// it is not.
    macro_rules! flags {
        ($name:ident, $c:tt, $found:expr) => {
            #[test]
            fn $name() {
                let text = problems(json!($c));
                assert!(
                    text.contains("still holds") && text.contains("placeholder"),
                    "not refused:\n{text}"
                );
                assert!(text.contains($found), "expected {:?} in:\n{text}", $found);
            }
        };
    }
    macro_rules! passes {
        ($name:ident, $c:tt) => {
            #[test]
            fn $name() {
                let text = problems(json!($c));
                assert_eq!(text, "", "refused");
            }
        };
    }

    flags!(replace_me_anywhere, {"name": "w", "image": "i", "command": ["REPLACE_ME"]}, "\"REPLACE_ME\"");
    flags!(shell_var_in_an_image, {"name": "w", "image": "${REGISTRY}/web:1"}, "\"${REGISTRY}\"");
    flags!(shell_var_with_default_in_a_log_option, {"name": "w", "image": "i", "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "${GROUP:-x}"}}}, "placeholder: ${VAR}");
    flags!(github_expression, {"name": "w", "image": "i", "secrets": [{"name": "S", "valueFrom": "${{ secrets.DB_ARN }}"}]}, "\"${{ secrets.DB_ARN }}\"");
    flags!(github_expression_even_in_a_command, {"name": "w", "image": "i", "command": ["run", "${{ env.X }}"]}, "${{ env.X }}");
    flags!(mustache, {"name": "w", "image": "{{ image }}"}, "\"{{ image }}\"");
    flags!(double_underscore_name, {"name": "w", "image": "web:__TAG__"}, "\"__TAG__\"");
    flags!(your_account_id_in_an_ecr_host, {"name": "w", "image": "YOUR_ACCOUNT_ID.dkr.ecr.us-east-1.amazonaws.com/web"}, "\"YOUR_ACCOUNT_ID\"");
    flags!(ecr_host_account_of_x, {"name": "w", "image": "XXXXXXXXXXXX.dkr.ecr.us-east-1.amazonaws.com/web"}, "\"XXXXXXXXXXXX\"");
    flags!(arn_account_word, {"name": "w", "image": "i", "secrets": [{"name": "S", "valueFrom": "arn:aws:ssm:us-east-1:ACCOUNT_ID:parameter/x"}]}, "\"ACCOUNT_ID\"");
    flags!(arn_account_of_x, {"name": "w", "image": "i", "secrets": [{"name": "S", "valueFrom": "arn:aws:secretsmanager:us-east-1:XXXXXXXXXXXX:secret:x"}]}, "\"XXXXXXXXXXXX\"");
    flags!(arn_account_of_eleven_digits, {"name": "w", "image": "i", "secrets": [{"name": "S", "valueFrom": "arn:aws:ssm:us-east-1:12345678901:parameter/x"}]}, "\"12345678901\"");
    flags!(angle_word_in_an_environment_value_is_named_by_form, {"name": "w", "image": "i", "environment": [{"name": "URL", "value": "http://<host>:11434"}]}, "placeholder: <WORD>");
    passes!(an_s3_arn_has_no_account, {"name": "w", "image": "i", "environmentFiles": [{"value": "arn:aws:s3:::bucket/app.env", "type": "s3"}]});
    passes!(an_aws_managed_arn, {"name": "w", "image": "i", "secrets": [{"name": "P", "valueFrom": "arn:aws:iam::aws:policy/ReadOnlyAccess"}]});
    passes!(a_twelve_digit_arn, {"name": "w", "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:1", "secrets": [{"name": "S", "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/x"}]});
    passes!(shell_var_in_a_command, {"name": "w", "image": "i", "command": ["sh", "-c", "exec app --port ${PORT}"]});
    passes!(shell_var_in_an_entry_point, {"name": "w", "image": "i", "entryPoint": ["${APP}"]});
    passes!(shell_var_in_a_health_check, {"name": "w", "image": "i", "healthCheck": {"command": ["CMD-SHELL", "curl -f http://localhost:${PORT}/ || exit 1"]}});
    passes!(html_in_a_command, {"name": "w", "image": "i", "command": ["echo", "<html>"]});
    passes!(go_template_in_a_log_option, {"name": "w", "image": "i", "logConfiguration": {"logDriver": "json-file", "options": {"tag": "{{.ImageName}}/{{ .Name }}"}}});
    passes!(an_email_in_brackets, {"name": "w", "image": "i", "environment": [{"name": "FROM", "value": "App <noreply@example.com>"}]});
    passes!(html_in_an_environment_value, {"name": "w", "image": "i", "environment": [{"name": "MOTD", "value": "<b>Welcome</b>"}]});
    flags!(mustache_in_a_log_option_that_is_no_go_template, {"name": "w", "image": "i", "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "{{ group }}"}}}, "placeholder: {{ template }}");
    passes!(a_plain_dollar_var, {"name": "w", "image": "i", "environment": [{"name": "P", "value": "$HOME/x"}]});

    #[test]
    fn an_environment_value_is_never_repeated() {
        let text = problems(
            json!({"name": "w", "image": "i", "environment": [{"name": "PW", "value": "s3cr3t-<pw>"}]}),
        );
        assert!(text.contains("environment[0].value"), "{text}");
        assert!(!text.contains("s3cr3t") && !text.contains("<pw>"), "{text}");
    }

    #[test]
    fn placeholders_in_task_fields() {
        let td = json!({"family": "app-<stage>", "cpu": "{{cpu}}", "memory": "${MEMORY}", "containerDefinitions": [{"name": "w", "image": "i"}]});
        let text = run(td, Some(&[])).unwrap_err().to_string();
        for want in [
            "family still holds",
            "cpu still holds",
            "memory still holds",
        ] {
            assert!(text.contains(want), "{want}: {text}");
        }
    }
}
