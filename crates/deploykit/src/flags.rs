//! Flag values that every tool splits the same way (`KEY=VALUE`, a bare
//! `NAME`), with errors that never repeat the value: a malformed argument
//! may be a secret typed in the wrong place (`--env "$DB_PASSWORD"`,
//! `--unset-env DB_PASSWORD=s3cr3t`). An error names the flag, which use of
//! it, and the key, never what came after `=`.

use crate::error::{Error, Result};

/// `KEY=VALUE`, split at the first `=`; the key must not be empty. `form`
/// is how the flag's help spells it (`KEY=VALUE`, `NAME=VALUE_FROM`).
pub fn pair(flag: &str, arg: &str, form: &str) -> Result<(String, String)> {
    match arg.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => Ok((key.to_string(), value.to_string())),
        Some(_) => Err(Error::usage(format!(
            "{flag}: the name before \"=\" is empty"
        ))),
        None => Err(Error::usage(format!(
            "{flag}: expected {form}, got a value without \"=\" (not repeated here: it may be a secret)"
        ))),
    }
}

/// [`pair`] for every use of a repeatable flag; an error says which use.
pub fn pairs(flag: &str, args: &[String], form: &str) -> Result<Vec<(String, String)>> {
    args.iter()
        .enumerate()
        .map(|(i, arg)| pair(flag, arg, form).map_err(|e| which(e, flag, i, args.len())))
        .collect()
}

/// An environment variable name, one rule for every tool and the env-file
/// parser: a letter or `_`, then letters, digits, `_`, `.` and `-`, at most
/// 255 characters. ECS takes any string, but a container's shell and most
/// runtimes read these; a dotted `spring.profiles.active` or a dashed
/// `app-mode` is fine, and a pasted URL or sentence (a secret, likely, put
/// where the name goes) is refused.
pub fn env_name_ok(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && name.len() <= 255
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// [`pairs`] of environment variables: each name checked with
/// [`env_name_ok`], a bad one named by its place (`use 2 of 3`), never its
/// text: it may be a secret pasted whole.
pub fn env_pairs(flag: &str, args: &[String]) -> Result<Vec<(String, String)>> {
    let pairs = pairs(flag, args, "KEY=VALUE")?;
    for (i, (key, _)) in pairs.iter().enumerate() {
        if !env_name_ok(key) {
            return Err(Error::usage(format!(
                "{flag} (use {} of {}): the name before \"=\" is no environment variable name (a letter or _, then letters, digits, _, . and -)",
                i + 1,
                pairs.len()
            )));
        }
    }
    Ok(pairs)
}

/// A bare name (`--unset-env KEY`). A `KEY=VALUE` here is almost always
/// `--env` meant: the key is named, the value is not.
pub fn name(flag: &str, arg: &str, meant: &str) -> Result<String> {
    match arg.split_once('=') {
        _ if arg.trim().is_empty() => Err(Error::usage(format!("{flag}: the name is empty"))),
        Some((key, _)) if !key.trim().is_empty() => Err(Error::usage(format!(
            "{flag} {key}: expected a name alone, got {key}=... (the value is not repeated here; to set it, use {meant})"
        ))),
        Some(_) => Err(Error::usage(format!(
            "{flag}: expected a name alone, got a value with \"=\" (not repeated here: it may be a secret)"
        ))),
        None => Ok(arg.to_string()),
    }
}

/// [`name`] for every use of a repeatable flag.
pub fn names(flag: &str, args: &[String], meant: &str) -> Result<Vec<String>> {
    args.iter()
        .enumerate()
        .map(|(i, arg)| name(flag, arg, meant).map_err(|e| which(e, flag, i, args.len())))
        .collect()
}

/// `2nd of 3 --env flags: ...`, when there is more than one.
fn which(e: Error, flag: &str, index: usize, count: usize) -> Error {
    if count > 1 {
        e.context(format!("{} of {count} {flag} flags", ordinal(index + 1)))
    } else {
        e
    }
}

fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// An AWS account id: 12 digits.
pub fn is_account_id(id: &str) -> bool {
    id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit())
}

/// `--command`: a JSON array of strings (`'["npm","start"]'`, the form
/// ECS stores) or shell words (`'npm run "start:prod"'`). Empty is refused
/// in either form: `[]` would not clear a command but leave the image's
/// (ECS ignores an empty override), which is not what was typed. The text
/// is the user's command and may hold a secret (a connection string): an
/// error never repeats it, nor serde's reading of it.
pub fn command(text: &str) -> Result<Vec<String>> {
    let words = if text.trim_start().starts_with('[') {
        serde_json::from_str::<Vec<String>>(text).map_err(|_| {
            Error::usage("--command: starts with '[' but is not a JSON array of strings")
        })?
    } else {
        shlex::split(text)
            .ok_or_else(|| Error::usage("--command: unbalanced quotes, so not valid shell words"))?
    };
    if words.is_empty() {
        return Err(Error::usage(
            "--command: empty (to keep the image's own command, leave --command out)",
        ));
    }
    Ok(words)
}

/// `500ms`, `90s`, `30m`, `1h`, `1h30m`, `2d`; a bare number is seconds.
pub fn duration(text: &str) -> Option<std::time::Duration> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if let Ok(secs) = text.parse::<u64>() {
        return Some(std::time::Duration::from_secs(secs));
    }
    let mut total_ms = 0u64;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let n: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let (unit_ms, len) = if rest.starts_with("ms") {
            (1, 2)
        } else {
            match rest.bytes().next()? {
                b's' => (1000, 1),
                b'm' => (60_000, 1),
                b'h' => (3_600_000, 1),
                b'd' => (86_400_000, 1),
                _ => return None,
            }
        };
        total_ms = total_ms.checked_add(n.checked_mul(unit_ms)?)?;
        rest = &rest[len..];
    }
    Some(std::time::Duration::from_millis(total_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_split_at_the_first_equals() {
        assert_eq!(
            pair("--env", "A=b=c", "KEY=VALUE").unwrap(),
            ("A".into(), "b=c".into())
        );
    }

    #[test]
    fn an_empty_value_is_a_value() {
        assert_eq!(
            pair("--env", "A=", "KEY=VALUE").unwrap(),
            ("A".into(), String::new())
        );
    }

    #[test]
    fn a_pair_without_equals_is_not_echoed() {
        let e = pair("--env", "s3cr3t", "KEY=VALUE").unwrap_err();
        assert_eq!(e.exit().code(), 2);
        assert!(!e.to_string().contains("s3cr3t"), "{e}");
    }

    #[test]
    fn an_empty_key_is_refused() {
        let e = pair("--env", "=s3cr3t", "KEY=VALUE").unwrap_err();
        assert!(e.to_string().contains("the name before"), "{e}");
        assert!(!e.to_string().contains("s3cr3t"), "{e}");
    }

    #[test]
    fn which_use_of_a_repeated_flag() {
        let args = ["A=1".to_string(), "oops".to_string()];
        let e = pairs("--env", &args, "KEY=VALUE").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("2nd of 2 --env flags: --env: expected KEY=VALUE"),
            "{e}"
        );
    }

    #[test]
    fn a_name_with_a_value_names_the_key_not_the_value() {
        let e = name("--unset-env", "DB_PASSWORD=s3cr3t", "--env").unwrap_err();
        assert_eq!(e.exit().code(), 2);
        let text = e.to_string();
        assert!(
            text.contains("--unset-env DB_PASSWORD: expected a name alone"),
            "{text}"
        );
        assert!(text.contains("use --env"), "{text}");
        assert!(!text.contains("s3cr3t"), "{text}");
    }

    #[test]
    fn a_name_that_is_all_value_is_not_echoed() {
        let e = name("--unset-env", "=s3cr3t", "--env").unwrap_err();
        assert!(!e.to_string().contains("s3cr3t"), "{e}");
    }

    #[test]
    fn ordinals() {
        let got: Vec<_> = [1, 2, 3, 4, 11, 12, 13, 21, 22, 101].map(ordinal).to_vec();
        assert_eq!(
            got,
            [
                "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st"
            ]
        );
    }

    #[test]
    fn commands_as_json_or_shell_words() {
        assert_eq!(command(r#"["a", "b c"]"#).unwrap(), ["a", "b c"]);
        assert_eq!(command("pnpm db:migrate").unwrap(), ["pnpm", "db:migrate"]);
        assert_eq!(
            command(r#"sh -c 'echo "hi there"'"#).unwrap(),
            ["sh", "-c", "echo \"hi there\""]
        );
        for bad in ["[1, 2]", "echo 'open", "  ", "[]", "[ ]"] {
            let e = command(bad).unwrap_err();
            assert_eq!(e.exit().code(), 2, "{bad}");
        }
    }

    #[test]
    fn command_errors_do_not_repeat_it() {
        for bad in [
            "psql 'postgres://u:hunter2@db",
            r#"["psql", hunter2]"#,
            r#"["hunter2", 1]"#,
        ] {
            let e = command(bad).unwrap_err();
            assert!(!e.to_string().contains("hunter2"), "{e}");
        }
    }

    #[test]
    fn durations() {
        use std::time::Duration;
        assert_eq!(duration("90s"), Some(Duration::from_secs(90)));
        assert_eq!(duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(duration("2d"), Some(Duration::from_secs(172_800)));
        assert_eq!(duration("600"), Some(Duration::from_secs(600)));
        assert_eq!(duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(duration("1m30s"), Some(Duration::from_secs(90)));
        for bad in [
            "",
            "h",
            "1x",
            "1h30",
            "-1h",
            "1.5h",
            "9223372036854775807d",
            "9223372036854775807s",
            "ms",
        ] {
            assert_eq!(duration(bad), None, "{bad}");
        }
    }
}
