//! `--env-file`: the dotenv files people already keep beside docker compose.
//!
//! Supported: `KEY=VALUE`, an `export ` prefix, `#` comment lines and blank
//! lines, `# comments` after an unquoted value, single quotes (literal),
//! double quotes (with `\n`, `\t`, `\"`, `\\` escapes, and spanning lines).
//! Errors name the file and line, never the value: it may be a secret.

use deploykit::{Error, Result};

/// Parses a dotenv file's text into ordered pairs.
pub fn parse(text: &str, source: &str) -> Result<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    let mut lines = text.lines().enumerate().peekable();
    while let Some((index, raw)) = lines.next() {
        let line_no = index + 1;
        let line = raw.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").map_or(line, str::trim_start);
        let Some((key, rest)) = line.split_once('=') else {
            return Err(Error::usage(format!(
                "{source}: line {line_no}: expected KEY=VALUE"
            )));
        };
        let key = key.trim();
        if !valid_key(key) {
            return Err(Error::usage(format!(
                "{source}: line {line_no}: not a KEY=VALUE line: the part before \"=\" is not a variable name (the line is not repeated here: it may be a secret)"
            )));
        }
        let rest = rest.trim_start();
        let value = if let Some(body) = rest.strip_prefix('\'') {
            let Some(end) = body.find('\'') else {
                return Err(Error::usage(format!(
                    "{source}: line {line_no}: {key}: no closing single quote"
                )));
            };
            body[..end].to_string()
        } else if let Some(body) = rest.strip_prefix('"') {
            // A double-quoted value may go on over the next lines.
            let mut text = body.to_string();
            loop {
                if let Some(value) = unescape_until_quote(&text) {
                    break value;
                }
                match lines.next() {
                    Some((_, more)) => {
                        text.push('\n');
                        text.push_str(more);
                    }
                    None => {
                        return Err(Error::usage(format!(
                            "{source}: line {line_no}: {key}: no closing double quote"
                        )));
                    }
                }
            }
        } else {
            let value = match rest.find(" #").or_else(|| rest.find("\t#")) {
                Some(i) => &rest[..i],
                None => rest,
            };
            value.trim_end().to_string()
        };
        pairs.push((key.to_string(), value));
    }
    Ok(pairs)
}

/// The value up to the first unescaped `"`, or `None` when there is none yet.
fn unescape_until_quote(text: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some(other) => out.push(other),
                None => return None,
            },
            c => out.push(c),
        }
    }
    None
}

fn valid_key(key: &str) -> bool {
    deploykit::flags::env_name_ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_usual_forms() {
        let text = "# app settings\n\nexport NODE_ENV=production\nA = plain value # note\nB='single # kept'\nC=\"line\\nbreak \\\"q\\\"\"\nD=\nE=\"two\nlines\"\nURL=http://x/#frag\n";
        let pairs = parse(text, ".env").unwrap();
        let want: Vec<(String, String)> = [
            ("NODE_ENV", "production"),
            ("A", "plain value"),
            ("B", "single # kept"),
            ("C", "line\nbreak \"q\""),
            ("D", ""),
            ("E", "two\nlines"),
            ("URL", "http://x/#frag"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(pairs, want);
    }

    #[test]
    fn errors_name_the_line_not_the_value() {
        let e = parse("OK=1\nsecret-without-equals\n", "x.env").unwrap_err();
        assert_eq!(e.to_string(), "x.env: line 2: expected KEY=VALUE");
        let e = parse("K=\"s3cr3t\n", "x.env").unwrap_err();
        assert!(!e.to_string().contains("s3cr3t"), "{e}");
        assert_eq!(e.exit().code(), 2);
    }
}
