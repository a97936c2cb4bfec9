//! Paths to values inside a task definition, for messages that say exactly
//! where something is: `containerDefinitions[1].image (container "web")`.

use std::fmt;

use serde_json::Value;

/// One step into a JSON value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// A path from the task definition's root.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Path(pub Vec<Seg>);

impl Path {
    /// The path, with the container's name when it is inside one.
    pub fn describe(&self, td: &Value) -> String {
        if let [Seg::Key(k), Seg::Index(i), ..] = self.0.as_slice()
            && k == "containerDefinitions"
            && let Some(name) = td[k][*i]["name"].as_str()
        {
            return format!("{self} (container {name:?})");
        }
        self.to_string()
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(k) if n == 0 => write!(f, "{k}")?,
                Seg::Key(k) if k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
                    write!(f, ".{k}")?
                }
                Seg::Key(k) => write!(f, "[{k:?}]")?,
                Seg::Index(i) => write!(f, "[{i}]")?,
            }
        }
        Ok(())
    }
}

/// Calls `f` with every string value under `value` and its path.
pub fn strings(value: &Value, f: &mut impl FnMut(&Path, &str)) {
    fn go(value: &Value, path: &mut Path, f: &mut impl FnMut(&Path, &str)) {
        match value {
            Value::String(s) => f(path, s),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    path.0.push(Seg::Index(i));
                    go(item, path, f);
                    path.0.pop();
                }
            }
            Value::Object(map) => {
                for (k, item) in map {
                    path.0.push(Seg::Key(k.clone()));
                    go(item, path, f);
                    path.0.pop();
                }
            }
            _ => {}
        }
    }
    go(value, &mut Path::default(), f);
}

/// Calls `f` with every string value under `value`, mutably, and its path.
pub fn strings_mut(value: &mut Value, f: &mut impl FnMut(&Path, &mut String)) {
    fn go(value: &mut Value, path: &mut Path, f: &mut impl FnMut(&Path, &mut String)) {
        match value {
            Value::String(s) => f(path, s),
            Value::Array(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    path.0.push(Seg::Index(i));
                    go(item, path, f);
                    path.0.pop();
                }
            }
            Value::Object(map) => {
                for (k, item) in map.iter_mut() {
                    path.0.push(Seg::Key(k.clone()));
                    go(item, path, f);
                    path.0.pop();
                }
            }
            _ => {}
        }
    }
    go(value, &mut Path::default(), f);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_read_like_jq() {
        let td = json!({"containerDefinitions": [{"name": "web", "dockerLabels": {"a.b": ""}}]});
        let mut seen = Vec::new();
        strings(&td, &mut |p, _| seen.push(p.describe(&td)));
        assert_eq!(
            seen,
            [
                r#"containerDefinitions[0].name (container "web")"#,
                r#"containerDefinitions[0].dockerLabels["a.b"] (container "web")"#
            ]
        );
    }
}
