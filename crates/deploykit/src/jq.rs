//! `--jq FILTER`: any edit, in-process, with jaq (jaq-core 3, jaq-std 3,
//! jaq-json 2), so scripts no longer need `jq` for the step it did.
//!
//! The filter is compiled once, before any work (a bad filter is exit 2 with
//! the filter, a caret under the place, and the reason); `$ENV` and the
//! `--arg`/`--argjson` variables are global variables, as in jq.

use jaq_core::load::{Arena, File, Loader};
use jaq_core::{Compiler, Ctx, Native, Vars, data, unwrap_valr};
use jaq_json::Val;
use serde_json::Value;

use crate::error::{Error, Result};

/// A compiled filter with its variables' values.
pub struct Filter {
    text: String,
    filter: jaq_core::compile::Filter<Native<data::JustLut<Val>>>,
    values: Vec<Val>,
    /// What an error message must not show (see [`Filter::compile`]).
    secrets: Vec<String>,
}

impl std::fmt::Debug for Filter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Filter")
            .field("text", &self.text)
            .finish_non_exhaustive()
    }
}

impl Filter {
    /// Compiles `text` with the named variables (`name` without the `$`);
    /// as in jq, `$ENV` holds the process environment and `$ARGS` is
    /// `{"positional": [], "named": {name: value, ...}}`.
    pub fn compile(text: &str, vars: &[(String, Value)]) -> Result<Self> {
        let named: serde_json::Map<String, Value> = vars.iter().cloned().collect();
        let args = serde_json::json!({"positional": [], "named": named});
        let mut names: Vec<String> = vec!["$ENV".to_string(), "$ARGS".to_string()];
        let mut values = vec![env_val(), to_val(&args)?];
        for (name, value) in vars {
            names.push(format!("${name}"));
            values.push(to_val(value)?);
        }

        let defs = jaq_core::defs()
            .chain(jaq_std::defs())
            .chain(jaq_json::defs());
        let funs = jaq_core::funs()
            .chain(jaq_std::funs())
            .chain(jaq_json::funs());
        let arena = Arena::default();
        let modules = Loader::new(defs)
            .load(
                &arena,
                File {
                    code: text,
                    path: (),
                },
            )
            .map_err(|errs| {
                let mut reasons = Vec::new();
                for (_file, err) in errs {
                    reasons.extend(load_reasons(text, err));
                }
                syntax_error(text, reasons)
            })?;
        let filter = Compiler::default()
            .with_funs(funs)
            .with_global_vars(names.iter().map(String::as_str))
            .compile(modules)
            .map_err(|errs| {
                let mut reasons = Vec::new();
                for (_file, undefined) in errs {
                    for (name, what) in undefined {
                        reasons.push((
                            offset(text, name),
                            format!("undefined {}", undefined_kind(&what, name)),
                        ));
                    }
                }
                syntax_error(text, reasons)
            })?;
        // Every string an --arg or --argjson holds, and every environment
        // value: what an error raised with one (`error($pw)`) must not show.
        let mut secrets: Vec<String> = Vec::new();
        for (_, value) in vars {
            string_leaves(value, 1, &mut secrets);
        }
        secrets.extend(
            std::env::vars()
                .map(|(_, v)| v)
                .filter(|v| v.chars().count() >= 6),
        );
        Ok(Filter {
            text: text.to_string(),
            filter,
            values,
            secrets,
        })
    }

    /// Runs the filter on `input` and returns every output.
    pub fn run(&self, input: &Value) -> Result<Vec<Value>> {
        let ctx = Ctx::<data::JustLut<Val>>::new(&self.filter.lut, Vars::new(self.values.clone()));
        let mut outputs = Vec::new();
        for out in self.filter.id.run((ctx, to_val(input)?)).map(unwrap_valr) {
            let val = out.map_err(|e| {
                // Strings of the input (environment values) and of the
                // variables are masked whole, wherever they show.
                let mut known = self.secrets.clone();
                string_leaves(input, 4, &mut known);
                Error::usage(format!("--jq: {}", redact(&mask(&e.to_string(), known))))
            })?;
            if nested_deeper_than(&val, MAX_DEPTH) {
                // Printing or even dropping it recurses once a level: a
                // value made to be deep (`reduce range(1e5) as $i (1; [.])`)
                // would overflow the stack. The process ends soon anyway.
                std::mem::forget(val);
                return Err(Error::usage(format!(
                    "--jq: the filter produced a value nested more than {MAX_DEPTH} levels deep; a task definition is not"
                )));
            }
            outputs.push(from_val(&val)?);
        }
        Ok(outputs)
    }
}

/// Every string in `value` (keys too) of at least `min` characters.
fn string_leaves(value: &Value, min: usize, out: &mut Vec<String>) {
    let mut stack = vec![value];
    while let Some(value) = stack.pop() {
        match value {
            Value::String(s) if s.chars().count() >= min => out.push(s.clone()),
            Value::Array(items) => stack.extend(items),
            Value::Object(map) => {
                out.extend(map.keys().filter(|k| k.chars().count() >= min).cloned());
                stack.extend(map.values());
            }
            _ => {}
        }
    }
}

/// `message` with every one of `values` in it replaced by `…`, the longest
/// first (a value may hold another).
fn mask(message: &str, mut values: Vec<String>) -> String {
    values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    let mut message = message.to_string();
    for value in values.iter().filter(|v| !v.is_empty()) {
        // As it is, and as it shows inside a JSON string (escaped).
        let quoted = serde_json::to_string(value).unwrap_or_default();
        let escaped = quoted.trim_start_matches('"').trim_end_matches('"');
        // jaq also escapes DEL, which serde_json leaves as it is.
        let jaq_lower = escaped.replace('\u{7f}', "\\u007f");
        let jaq_upper = escaped.replace('\u{7f}', "\\u007F");
        for form in [value.as_str(), escaped, &jaq_lower, &jaq_upper] {
            if !form.is_empty() && message.contains(form) {
                message = message.replace(form, "…");
            }
        }
    }
    message
}

/// How deep a value `--jq` produces may be nested: serde_json reads no
/// deeper (its recursion limit), and no task definition comes near.
const MAX_DEPTH: usize = 128;

/// Whether `val` holds arrays or objects nested more than `limit` deep,
/// found without recursion (the value may be deep enough to overflow it).
fn nested_deeper_than(val: &Val, limit: usize) -> bool {
    let mut stack = vec![(val, 0usize)];
    while let Some((val, depth)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Val>> = match val {
            Val::Arr(items) => Box::new(items.iter()),
            Val::Obj(map) => Box::new(map.values()),
            _ => continue,
        };
        if depth >= limit {
            return true;
        }
        stack.extend(children.map(|child| (child, depth + 1)));
    }
    false
}

fn env_val() -> Val {
    let env: serde_json::Map<String, Value> = std::env::vars()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    to_val(&Value::Object(env)).unwrap_or_default()
}

fn to_val(value: &Value) -> Result<Val> {
    serde_json::from_value(value.clone())
        .map_err(|e| Error::usage(format!("--jq: cannot pass value to jaq: {e}")))
}

/// jaq prints its values as JSON; parse that text back.
fn from_val(val: &Val) -> Result<Value> {
    serde_json::from_str(&val.to_string()).map_err(|e| {
        // The value itself is not shown: it is the definition, secrets and all.
        Error::usage(format!(
            "--jq: the filter produced a value that is not JSON (nan, infinite, or nested too deep): {e}"
        ))
    })
}

/// jaq's run-time errors quote the values involved (`cannot index
/// [{"name":"DB_PASSWORD","value":"..."}] with "foo"`), and those may be an
/// environment value or an `--arg` secret: every string in the message
/// becomes `"…"` and every number `…`, so the shape of the failure stays
/// and no value does.
fn redact(message: &str) -> String {
    // An error raised with a string (`error("...")`, and jaq's own
    // `cannot parse "..."`) prints as that JSON string: read it first.
    if let Ok(Value::String(inner)) = serde_json::from_str::<Value>(message) {
        return redact(&inner);
    }
    let mut out = String::with_capacity(message.len());
    let mut chars = message.chars().peekable();
    while let Some(c) = chars.next() {
        // A number may be a secret too (`--argjson PIN 1234`): `…` for it.
        if c.is_ascii_digit() {
            while chars
                .peek()
                .is_some_and(|n| n.is_ascii_digit() || *n == '.')
            {
                chars.next();
            }
            out.push('…');
            continue;
        }
        if c != '"' {
            out.push(c);
            continue;
        }
        out.push_str("\"…\"");
        let mut escaped = false;
        for c in chars.by_ref() {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => break,
                _ => {}
            }
        }
    }
    out
}

/// Where a piece of the filter text starts (jaq's errors hold slices of it).
fn offset(text: &str, piece: &str) -> usize {
    let start = text.as_ptr() as usize;
    let at = piece.as_ptr() as usize;
    if at >= start && at <= start + text.len() {
        at - start
    } else {
        text.find(piece).unwrap_or(0)
    }
}

fn load_reasons(text: &str, err: jaq_core::load::Error<&str>) -> Vec<(usize, String)> {
    use jaq_core::load::Error as E;
    match err {
        E::Io(errs) => errs
            .into_iter()
            .map(|(path, e)| (offset(text, path), e))
            .collect(),
        E::Lex(errs) => errs
            .into_iter()
            .map(|(expect, at)| (offset(text, at), format!("expected {}", expect.as_str())))
            .collect(),
        E::Parse(errs) => errs
            .into_iter()
            .map(|(expect, at)| {
                let found = if at.is_empty() {
                    "end of filter".to_string()
                } else {
                    format!("{:?}", first_token(at))
                };
                (
                    offset(text, at),
                    format!("expected {}, found {found}", expect.as_str()),
                )
            })
            .collect(),
    }
}

fn first_token(rest: &str) -> &str {
    let end = rest
        .char_indices()
        .skip(1)
        .find(|(_, c)| c.is_whitespace())
        .map_or(rest.len(), |(i, _)| i);
    &rest[..end.min(20)]
}

fn undefined_kind(what: &jaq_core::compile::Undefined, name: &str) -> String {
    use jaq_core::compile::Undefined as U;
    match what {
        U::Var => format!("variable {name} (pass it with --arg or --argjson)"),
        U::Filter(arity) => format!("function {name}/{arity}"),
        U::Mod => format!("module {name}"),
        U::Label => format!("label {name}"),
        _ => format!("name {name}"),
    }
}

fn syntax_error(text: &str, reasons: Vec<(usize, String)>) -> Error {
    let mut message = String::from("--jq: invalid filter");
    for (at, reason) in reasons {
        // The caret goes under the character at `at`, counted in chars.
        let col = text[..at.min(text.len())].chars().count();
        let line_start = text[..at.min(text.len())].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[line_start..]
            .find('\n')
            .map_or(text.len(), |i| line_start + i);
        let col_in_line = col - text[..line_start].chars().count();
        message.push_str(&format!(
            "\n    {}\n    {}^ {reason}",
            &text[line_start..line_end],
            " ".repeat(col_in_line)
        ));
    }
    Error::usage(message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn edits_with_arguments() {
        let f = Filter::compile(
            ".containerDefinitions[0].image = $img | .cpu = $n",
            &[("img".into(), json!("repo:1")), ("n".into(), json!(256))],
        )
        .unwrap();
        let out = f
            .run(&json!({"containerDefinitions": [{"name": "web"}]}))
            .unwrap();
        assert_eq!(
            out,
            [json!({"containerDefinitions": [{"name": "web", "image": "repo:1"}], "cpu": 256})]
        );
    }

    #[test]
    fn args_holds_the_named_variables_as_jq_does() {
        let f = Filter::compile(
            "$ARGS",
            &[("a".into(), json!("-1")), ("b".into(), json!(-1))],
        )
        .unwrap();
        assert_eq!(
            f.run(&json!({})).unwrap(),
            [json!({"positional": [], "named": {"a": "-1", "b": -1}})]
        );
    }

    #[test]
    fn env_is_available() {
        let f = Filter::compile("$ENV | has(\"PATH\")", &[]).unwrap();
        assert_eq!(f.run(&json!({})).unwrap(), [json!(true)]);
    }

    #[test]
    fn an_error_raised_with_a_secret_masks_it_whole() {
        let f = Filter::compile("error($pw)", &[("pw".into(), json!("hunter2 99 abc"))]).unwrap();
        let text = f.run(&json!({})).unwrap_err().to_string();
        assert!(!text.contains("hunter") && !text.contains("abc"), "{text}");
        let f =
            Filter::compile(".containerDefinitions[0].environment[0].value | error", &[]).unwrap();
        let text = f
            .run(&json!({"containerDefinitions": [{"environment": [{"name": "DB", "value": "s3cr3t-db"}]}]}))
            .unwrap_err()
            .to_string();
        assert!(!text.contains("s3cr3t"), "{text}");
        // A value jaq escapes otherwise than serde_json (DEL).
        let f = Filter::compile("error($pw)", &[("pw".into(), json!("pa\u{7f}ssword"))]).unwrap();
        let text = f.run(&json!({})).unwrap_err().to_string();
        assert!(!text.contains("ssword"), "{text}");
        // The filter's own words stay.
        let f = Filter::compile("error(\"image not set\")", &[]).unwrap();
        let text = f.run(&json!({})).unwrap_err().to_string();
        assert!(text.contains("image not set"), "{text}");
    }

    #[test]
    fn a_value_nested_too_deep_is_refused_not_overflowed() {
        let f = Filter::compile("reduce range(100000) as $i (1; [.])", &[]).unwrap();
        let e = f.run(&json!({})).unwrap_err();
        assert_eq!(e.exit().code(), 2);
        assert!(
            e.to_string().contains("nested more than 128 levels deep"),
            "{e}"
        );
        let f = Filter::compile("reduce range(100) as $i (1; [.])", &[]).unwrap();
        assert_eq!(f.run(&json!({})).unwrap().len(), 1);
    }

    #[test]
    fn parse_errors_point_at_the_place() {
        let e = Filter::compile(".a = (1 +", &[]).unwrap_err();
        assert_eq!(e.exit().code(), 2);
        let text = e.to_string();
        assert!(text.contains(".a = (1 +"), "{text}");
        assert!(text.contains('^'), "{text}");
    }

    #[test]
    fn undefined_names_are_named() {
        let e = Filter::compile(".a = $missing", &[]).unwrap_err();
        assert!(e.to_string().contains("undefined variable $missing"), "{e}");
        let e = Filter::compile("nosuchfn(1)", &[]).unwrap_err();
        assert!(e.to_string().contains("nosuchfn/1"), "{e}");
    }

    #[test]
    fn runtime_errors_never_repeat_a_string_value() {
        let f = Filter::compile(".env.foo", &[]).unwrap();
        let e = f
            .run(&json!({"env": [{"name": "DB_PASSWORD", "value": "s3cr3t \\\" x"}]}))
            .unwrap_err();
        let text = e.to_string();
        assert!(
            !text.contains("s3cr3t") && !text.contains("DB_PASSWORD"),
            "{text}"
        );
        assert!(text.contains("cannot index"), "{text}");
    }

    #[test]
    fn runtime_errors_never_repeat_a_number() {
        let f = Filter::compile(".a | .b", &[]).unwrap();
        let e = f.run(&json!({"a": [987654]})).unwrap_err();
        assert!(!e.to_string().contains("987654"), "{e}");
    }

    #[test]
    fn runtime_errors_are_input_errors() {
        let f = Filter::compile(".a + 1", &[]).unwrap();
        let e = f.run(&json!({"a": "x"})).unwrap_err();
        assert_eq!(e.exit().code(), 2);
    }
}
