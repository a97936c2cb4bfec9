//! The stream contract of DESIGN.md: at most one JSON object on stdin, exactly
//! one on stdout, and every key a tool does not own passed through in order
//! (serde_json's `preserve_order` keeps insertion order).

use std::io::{self, IsTerminal, Read, Write};

use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// The document that flows down a pipeline.
pub type Envelope = Map<String, Value>;

/// Reads the optional JSON object on stdin: none when stdin is a terminal or
/// empty, an error (exit 2) when it is not exactly one object.
pub fn read_stdin() -> Result<Envelope> {
    if io::stdin().is_terminal() {
        return Ok(Envelope::new());
    }
    parse_envelope(&read_file("-", "the JSON object")?, "stdin")
}

/// Parses one JSON object (or nothing at all) from `source`.
pub fn parse_envelope(bytes: &[u8], source: &str) -> Result<Envelope> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Envelope::new());
    }
    match parse_json(bytes, source)? {
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

/// Reads a file the user named, `-` meaning stdin.
pub fn read_file(path: &str, what: &str) -> Result<Vec<u8>> {
    if path == "-" {
        let mut bytes = Vec::new();
        io::stdin()
            .lock()
            .read_to_end(&mut bytes)
            .map_err(|e| Error::input(format!("reading {what} from stdin"), &e))?;
        return Ok(bytes);
    }
    std::fs::read(path).map_err(|e| Error::input(format!("reading {what} from {path}"), &e))
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
