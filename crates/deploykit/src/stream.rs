//! The stream contract (ARCHITECTURE.md, "The stream"): at most one JSON
//! object on stdin, exactly one on stdout, and every key a tool does not own
//! passed through in order (serde_json's `preserve_order` keeps insertion
//! order).
//!
//! Text a user hands us may come from Windows: a UTF-8 byte-order mark, or
//! UTF-16 with one (what PowerShell's `>` and `Out-File` write), is decoded
//! here, once, for every file and for stdin.

use std::borrow::Cow;
use std::io::{self, IsTerminal, Read, Write};
use std::sync::mpsc::RecvTimeoutError;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// How long stdin may stay silent before the tool says it is waiting on it.
pub const STDIN_QUIET: Duration = Duration::from_secs(10);

/// The document that flows down a pipeline.
pub type Envelope = Map<String, Value>;

/// What came on stdin, read once by [`crate::cli::main_from`] before the tool
/// runs: the bytes, none when stdin is a terminal.
#[derive(Debug, Default, Clone)]
pub struct Stdin {
    bytes: Vec<u8>,
}

impl Stdin {
    /// Reads all of stdin, or nothing when it is a terminal. A pipe that
    /// stays open with nothing in it is waited on (the step before may be
    /// pushing a large image), but after [`STDIN_QUIET`] stderr says so,
    /// once, and how to leave stdin unread.
    pub fn read() -> Result<Self> {
        if io::stdin().is_terminal() {
            return Ok(Self::default());
        }
        let (first_byte, quiet) = std::sync::mpsc::channel::<()>();
        std::thread::spawn(move || {
            if quiet.recv_timeout(STDIN_QUIET) == Err(RecvTimeoutError::Timeout) {
                crate::cli::note(format!(
                    "waiting for stdin: nothing has come in {}s (the step before is still at work, or nothing writes to this pipe); give --null-input if this tool should not read stdin",
                    STDIN_QUIET.as_secs()
                ));
            }
        });
        let mut stdin = io::stdin().lock();
        let reading = |e: io::Error| Error::input("reading stdin", &e);
        let mut chunk = [0u8; 8192];
        let n = loop {
            match stdin.read(&mut chunk) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other.map_err(reading)?,
            }
        };
        let _ = first_byte.send(());
        let mut bytes = chunk[..n].to_vec();
        if n > 0 {
            stdin.read_to_end(&mut bytes).map_err(reading)?;
        }
        Ok(Stdin { bytes })
    }

    /// Stdin as given (for tests and for tools that read a file from `-`).
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> Self {
        Stdin {
            bytes: bytes.into(),
        }
    }

    /// The raw bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The JSON object on stdin; empty when there was none, exit 2 when it
    /// is not exactly one object (saying how to leave stdin unread: a loop's
    /// list read by the first call is the common cause).
    pub fn envelope(&self) -> Result<Envelope> {
        parse_envelope(&self.bytes, "stdin").map_err(|e| {
            Error::usage(format!(
                "{e} (stdin is read as the pipe's JSON object; --null-input leaves it unread)"
            ))
        })
    }

    /// The `error` that an upstream tool reported, when stdin carries one
    /// (the rule "failure travels down the pipe"): the object as it came,
    /// and the exit code to end with.
    pub fn upstream_failure(&self) -> Option<(Envelope, u8)> {
        // Any non-null `error` counts, whatever its shape: a tool that wrote
        // one failed. Stdin that does not parse is the tool's to report.
        let doc = self.envelope().ok()?;
        let error = doc.get("error").filter(|e| !e.is_null())?;
        let code = error
            .get("exitCode")
            .and_then(Value::as_u64)
            .filter(|c| (1..=255).contains(c))
            .map_or(1, |c| c as u8);
        Some((doc, code))
    }
}

/// Parses one JSON object (or nothing at all) from `source`.
pub fn parse_envelope(bytes: &[u8], source: &str) -> Result<Envelope> {
    let text = decode(bytes, source)?;
    if text.trim().is_empty() {
        return Ok(Envelope::new());
    }
    match parse_json(text.as_bytes(), source)? {
        Value::Object(map) => Ok(map),
        other => Err(Error::usage(format!(
            "{source}: expected one JSON object, got {}",
            kind(&other)
        ))),
    }
}

/// Parses one JSON value, with an error that says where it broke.
fn parse_json(bytes: &[u8], source: &str) -> Result<Value> {
    serde_json::from_slice(bytes)
        .map_err(|e| Error::usage(format!("{source}: not valid JSON: {e}")))
}

/// Text from bytes a user gave us: UTF-8, with or without a byte-order
/// mark, or UTF-16 (little- or big-endian) with one. Anything else is exit 2
/// saying that the encoding is the problem, not the JSON.
pub fn decode<'a>(bytes: &'a [u8], source: &str) -> Result<Cow<'a, str>> {
    let utf16 = |rest: &[u8], unit: fn([u8; 2]) -> u16, order: &str| -> Result<Cow<'a, str>> {
        let bad = || {
            Error::usage(format!(
                "{source}: not valid UTF-16{order} text, though it starts with that byte-order mark; save it as UTF-8"
            ))
        };
        if !rest.len().is_multiple_of(2) {
            return Err(bad());
        }
        let units = rest.chunks_exact(2).map(|c| unit([c[0], c[1]]));
        char::decode_utf16(units)
            .collect::<std::result::Result<String, _>>()
            .map(Cow::Owned)
            .map_err(|_| bad())
    };
    match bytes {
        [0xEF, 0xBB, 0xBF, rest @ ..] => std::str::from_utf8(rest).map(Cow::Borrowed).map_err(|e| {
            Error::usage(format!(
                "{source}: not valid UTF-8 after its byte-order mark (byte {}); save it as UTF-8",
                e.valid_up_to() + 3
            ))
        }),
        [0xFF, 0xFE, rest @ ..] => utf16(rest, u16::from_le_bytes, "LE"),
        [0xFE, 0xFF, rest @ ..] => utf16(rest, u16::from_be_bytes, "BE"),
        _ => std::str::from_utf8(bytes).map(Cow::Borrowed).map_err(|e| {
            Error::usage(format!(
                "{source}: not UTF-8 text (invalid byte at offset {}): the file's encoding is the problem; save it as UTF-8",
                e.valid_up_to()
            ))
        }),
    }
}

/// Whether a file argument names stdin: `-`, or the paths that reach it
/// (`/dev/stdin`, `/dev/fd/0`, `/proc/self/fd/0`), which `cli::main` has
/// already read to its end, so opening them again would find nothing.
pub fn is_stdin_path(path: &str) -> bool {
    matches!(path, "-" | "/dev/stdin" | "/dev/fd/0" | "/proc/self/fd/0")
}

/// Reads a file the user named; `-` (or `/dev/stdin`) is stdin, already
/// read by `cli::main`.
pub fn read_file(path: &str, what: &str, stdin: &Stdin) -> Result<Vec<u8>> {
    if is_stdin_path(path) {
        return Ok(stdin.bytes().to_vec());
    }
    std::fs::read(path).map_err(|e| Error::input(format!("reading {what} from {path}"), &e))
}

/// [`read_file`], decoded as [`decode`] does.
pub fn read_text(path: &str, what: &str, stdin: &Stdin) -> Result<String> {
    let bytes = read_file(path, what, stdin)?;
    let source = if is_stdin_path(path) {
        "stdin".to_string()
    } else {
        format!("{what} {path}")
    };
    decode(&bytes, &source).map(Cow::into_owned)
}

/// Writes the document to stdout: pretty JSON, two-space indent, one newline.
pub fn write_stdout(doc: &Envelope) -> Result<()> {
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    write_json(&mut out, doc)
        .and_then(|()| out.flush())
        .map_err(|e| Error::output("writing stdout", &e))
}

/// Writes a value as pretty JSON followed by a newline.
pub fn write_json<W: Write, T: serde::Serialize + ?Sized>(
    out: &mut W,
    value: &T,
) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value).map_err(io::Error::from)?;
    out.write_all(b"\n")
}

/// `an object`, `an array`, ... for messages about the wrong kind of value.
pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_input_is_an_empty_document() {
        assert!(parse_envelope(b"  \n", "stdin").unwrap().is_empty());
    }

    #[test]
    fn keys_keep_their_order() {
        let doc = parse_envelope(br#"{"z":1,"a":2,"m":3}"#, "stdin").unwrap();
        let keys: Vec<_> = doc.keys().map(String::as_str).collect();
        assert_eq!(keys, ["z", "a", "m"]);
    }

    #[test]
    fn a_utf8_byte_order_mark_is_read_past() {
        let doc = parse_envelope(b"\xEF\xBB\xBF{\"a\": 1}", "td.json").unwrap();
        assert_eq!(doc["a"], 1);
    }

    fn utf16(text: &str, le: bool) -> Vec<u8> {
        let mut out = if le {
            vec![0xFF, 0xFE]
        } else {
            vec![0xFE, 0xFF]
        };
        for unit in text.encode_utf16() {
            out.extend(if le {
                unit.to_le_bytes()
            } else {
                unit.to_be_bytes()
            });
        }
        out
    }

    #[test]
    fn utf16_le_as_powershell_writes_it_is_decoded() {
        let doc =
            parse_envelope(&utf16("{\"family\": \"caf\u{e9}\"}\r\n", true), "td.json").unwrap();
        assert_eq!(doc["family"], "caf\u{e9}");
    }

    #[test]
    fn utf16_be_is_decoded() {
        let doc = parse_envelope(&utf16("{\"a\": [1]}", false), "td.json").unwrap();
        assert_eq!(doc["a"][0], 1);
    }

    #[test]
    fn another_encoding_is_named_as_the_problem() {
        // Latin-1 "café": not UTF-8, no byte-order mark.
        let e = parse_envelope(b"{\"family\": \"caf\xE9\"}", "td.json").unwrap_err();
        assert_eq!(e.exit().code(), 2);
        assert!(e.to_string().contains("td.json: not UTF-8 text"), "{e}");
        assert!(e.to_string().contains("encoding is the problem"), "{e}");
    }

    #[test]
    fn upstream_failure_is_found_with_its_exit_code() {
        let stdin = Stdin::from_bytes(
            r#"{"a": 1, "error": {"tool": "ecs-run", "message": "m", "exitCode": 3}}"#,
        );
        let (doc, code) = stdin.upstream_failure().unwrap();
        assert_eq!(code, 3);
        assert_eq!(doc.keys().collect::<Vec<_>>(), ["a", "error"]);
    }

    #[test]
    fn upstream_failure_without_a_usable_exit_code_is_1() {
        let stdin = Stdin::from_bytes(r#"{"error": {"tool": "x", "exitCode": 0}}"#);
        assert_eq!(stdin.upstream_failure().unwrap().1, 1);
    }

    #[test]
    fn an_error_of_any_shape_is_an_upstream_failure() {
        let stdin = Stdin::from_bytes(r#"{"error": "migration failed"}"#);
        assert_eq!(stdin.upstream_failure().unwrap().1, 1);
    }

    #[test]
    fn a_null_error_is_no_upstream_failure() {
        assert!(
            Stdin::from_bytes(r#"{"error": null}"#)
                .upstream_failure()
                .is_none()
        );
    }

    #[test]
    fn an_upstream_failure_in_utf16_is_found() {
        let bytes = utf16(r#"{"error": {"tool": "ecs-wait", "exitCode": 3}}"#, true);
        assert_eq!(Stdin::from_bytes(bytes).upstream_failure().unwrap().1, 3);
    }

    #[test]
    fn no_error_key_is_no_upstream_failure() {
        let stdin = Stdin::from_bytes(r#"{"image": {"uri": "x"}, "note": "\"error\" in a value"}"#);
        assert!(stdin.upstream_failure().is_none());
    }

    #[test]
    fn non_objects_and_trailing_data_are_input_errors() {
        let e = parse_envelope(b"[1]", "stdin").unwrap_err();
        assert_eq!(
            e.to_string(),
            "stdin: expected one JSON object, got an array"
        );
        let e = parse_envelope(b"{} {}", "stdin").unwrap_err();
        assert_eq!(e.exit().code(), 2);
        assert!(e.to_string().contains("trailing characters"), "{e}");
    }
}
