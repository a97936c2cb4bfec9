//! What changes between the task definition a service runs and the one
//! about to be registered, for `ecs-deploy --plan`: both cleaned by the
//! caller with the one rule, then made canonical here (keys sorted,
//! `environment`, `secrets`, `portMappings` and `tags` in a fixed order,
//! since ECS keeps them as sets), environment values and secrets'
//! `valueFrom` replaced before anything is compared (a diff shows that one
//! changed, never what it holds), and compared two ways: the changed
//! paths with their old and new values, and a unified diff of the JSON.

use serde_json::{Map, Value, json};

/// What stands for a value that is the same on both sides.
pub const SAME: &str = "(value unchanged)";
/// What stands for a value on the running side that changed.
pub const OLD: &str = "(old value)";
/// What stands for a value on the new side that changed.
pub const NEW: &str = "(new value)";
/// What stands for a value on one side only.
pub const ONLY: &str = "(value)";

/// `running` and `new` made comparable and safe to show: canonical, with
/// every environment value and secret `valueFrom` replaced.
pub fn prepared(running: &Value, new: &Value) -> (Value, Value) {
    let mut running = canonical(&without_defaults(running));
    let mut new = canonical(&without_defaults(new));
    redact(&mut running, &mut new);
    (running, new)
}

/// One changed path: `containerDefinitions[web].image`, old and new (null
/// when absent).
pub fn changed_paths(old: &Value, new: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    walk("", old, new, &mut out);
    out
}

fn walk(path: &str, old: &Value, new: &Value, out: &mut Vec<Value>) {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                walk(
                    &p,
                    a.get(k).unwrap_or(&Value::Null),
                    b.get(k).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        (Value::Array(a), Value::Array(b)) if named(a) && named(b) => {
            let mut names: Vec<&str> = a.iter().chain(b.iter()).filter_map(name).collect();
            names.sort_unstable();
            names.dedup();
            for n in names {
                let find = |list: &Vec<Value>| {
                    list.iter()
                        .find(|v| name(v) == Some(n))
                        .cloned()
                        .unwrap_or(Value::Null)
                };
                walk(&format!("{path}[{n}]"), &find(a), &find(b), out);
            }
        }
        (a, b) if a != b => out.push(json!({"path": path, "old": a, "new": b})),
        _ => {}
    }
}

/// Whether every element is an object with a `name` (containers,
/// environment, secrets, volumes): then they are matched by it.
fn named(list: &[Value]) -> bool {
    !list.is_empty() && list.iter().all(|v| name(v).is_some())
}

fn name(v: &Value) -> Option<&str> {
    v["name"].as_str()
}

/// A unified diff (3 lines of context) of the two as pretty JSON, empty
/// when they are the same.
pub fn unified(old: &Value, new: &Value, old_name: &str, new_name: &str) -> String {
    let a = serde_json::to_string_pretty(old).unwrap_or_default();
    let b = serde_json::to_string_pretty(new).unwrap_or_default();
    let a: Vec<&str> = a.lines().collect();
    let b: Vec<&str> = b.lines().collect();
    // The longest common subsequence, by lines: definitions are short.
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    // The edit script: (' ' | '-' | '+', line, old index, new index).
    let mut ops: Vec<(char, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            ops.push((' ', a[i]));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            ops.push(('-', a[i]));
            i += 1;
        } else {
            ops.push(('+', b[j]));
            j += 1;
        }
    }
    if ops.iter().all(|(c, _)| *c == ' ') {
        return String::new();
    }
    // Hunks: changed lines with 3 lines of context around them.
    const CONTEXT: usize = 3;
    let changed: Vec<usize> = (0..ops.len()).filter(|&k| ops[k].0 != ' ').collect();
    let mut out = format!("--- {old_name}\n+++ {new_name}\n");
    let mut k = 0;
    while k < changed.len() {
        let start = changed[k].saturating_sub(CONTEXT);
        let mut end = changed[k];
        while k + 1 < changed.len() && changed[k + 1] <= end + 2 * CONTEXT + 1 {
            k += 1;
            end = changed[k];
        }
        let end = (end + CONTEXT + 1).min(ops.len());
        // Line numbers at the hunk's start, on each side.
        let old_at = ops[..start].iter().filter(|(c, _)| *c != '+').count();
        let new_at = ops[..start].iter().filter(|(c, _)| *c != '-').count();
        let old_len = ops[start..end].iter().filter(|(c, _)| *c != '+').count();
        let new_len = ops[start..end].iter().filter(|(c, _)| *c != '-').count();
        out.push_str(&format!(
            "@@ -{},{old_len} +{},{new_len} @@\n",
            old_at + 1,
            new_at + 1
        ));
        for (c, line) in &ops[start..end] {
            out.push(*c);
            out.push_str(line);
            out.push('\n');
        }
        k += 1;
    }
    out
}

/// `td` without what ECS fills in when it is not given (describe output
/// holds it, a file does not): a container's `cpu` 0 and `essential`
/// true, a port mapping's `protocol` tcp and, in awsvpc mode, a `hostPort`
/// equal to its `containerPort`. Not differences.
fn without_defaults(td: &Value) -> Value {
    let mut td = td.clone();
    let awsvpc = td["networkMode"] == "awsvpc";
    for c in td["containerDefinitions"]
        .as_array_mut()
        .into_iter()
        .flatten()
    {
        let Some(map) = c.as_object_mut() else {
            continue;
        };
        if map.get("cpu").and_then(Value::as_i64) == Some(0) {
            map.remove("cpu");
        }
        if map.get("essential") == Some(&Value::Bool(true)) {
            map.remove("essential");
        }
        for p in map
            .get_mut("portMappings")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            let Some(p) = p.as_object_mut() else { continue };
            if p.get("protocol").and_then(Value::as_str) == Some("tcp") {
                p.remove("protocol");
            }
            if awsvpc && p.get("hostPort").is_some() && p.get("hostPort") == p.get("containerPort")
            {
                p.remove("hostPort");
            }
        }
    }
    td
}

/// Keys sorted at every level; the set-like lists in a fixed order.
fn canonical(v: &Value) -> Value {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let mut out = Map::new();
            for k in keys {
                let mut value = canonical(&map[k]);
                if let ("environment" | "secrets" | "tags" | "portMappings", Value::Array(list)) =
                    (k.as_str(), &mut value)
                {
                    list.sort_by_key(|e| {
                        e.get("name")
                            .or_else(|| e.get("key"))
                            .map_or_else(|| e.to_string(), ToString::to_string)
                    });
                }
                out.insert(k.clone(), value);
            }
            Value::Object(out)
        }
        Value::Array(list) => Value::Array(list.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

/// Every container's environment values and secrets' `valueFrom`, on both
/// sides, replaced by what says whether it changed.
fn redact(running: &mut Value, new: &mut Value) {
    let containers = |td: &Value| -> Vec<(String, Value)> {
        td["containerDefinitions"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                (
                    c["name"].as_str().unwrap_or_default().to_string(),
                    c.clone(),
                )
            })
            .collect()
    };
    let before = containers(running);
    let after = containers(new);
    for (td, other, changed) in [(running, &after, OLD), (new, &before, NEW)] {
        for c in td["containerDefinitions"]
            .as_array_mut()
            .into_iter()
            .flatten()
        {
            let cname = c["name"].as_str().unwrap_or_default().to_string();
            let theirs = other.iter().find(|(n, _)| *n == cname).map(|(_, c)| c);
            // A log driver's options (a splunk-token, a FireLens output's
            // key) are values like the environment's: hidden the same.
            let their_options = theirs.map(|t| t["logConfiguration"]["options"].clone());
            for (k, v) in c["logConfiguration"]["options"]
                .as_object_mut()
                .into_iter()
                .flatten()
            {
                let other = their_options.as_ref().and_then(|o| o.get(k));
                *v = json!(match other {
                    Some(o) if o == v => SAME,
                    Some(_) => changed,
                    None => ONLY,
                });
            }
            for (list, field) in [("environment", "value"), ("secrets", "valueFrom")] {
                for entry in c[list].as_array_mut().into_iter().flatten() {
                    let key = entry["name"].as_str().unwrap_or_default().to_string();
                    let mine = entry[field].clone();
                    let other_value = theirs.and_then(|t| {
                        t[list]
                            .as_array()?
                            .iter()
                            .find(|e| e["name"] == key.as_str())
                            .map(|e| e[field].clone())
                    });
                    let shown = match other_value {
                        Some(v) if v == mine => SAME,
                        Some(_) => changed,
                        None => ONLY,
                    };
                    entry[field] = json!(shown);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn td(image: &str, env: &[(&str, &str)], secret: &str) -> Value {
        let env: Vec<Value> = env
            .iter()
            .map(|(k, v)| json!({"name": k, "value": v}))
            .collect();
        json!({"family": "web", "containerDefinitions": [{"name": "web", "image": image,
            "environment": env, "secrets": [{"name": "DB", "valueFrom": secret}]}]})
    }

    #[test]
    fn values_are_replaced_before_the_diff() {
        let running = td(
            "web:1",
            &[("A", "keep-1"), ("B", "old-secret-b"), ("C", "gone-c")],
            "arn:old",
        );
        let new = td(
            "web:2",
            &[("B", "new-secret-b"), ("A", "keep-1"), ("D", "added-d")],
            "arn:new",
        );
        let (old, new) = prepared(&running, &new);
        let paths = changed_paths(&old, &new);
        let diff = unified(&old, &new, "running", "new");
        let all = format!("{paths:?}{diff}");
        for secret in [
            "keep-1",
            "old-secret-b",
            "new-secret-b",
            "gone-c",
            "added-d",
            "arn:old",
            "arn:new",
        ] {
            assert!(!all.contains(secret), "{secret} shown: {all}");
        }
        let path = |p: &str| paths.iter().find(|c| c["path"] == p).cloned();
        assert_eq!(
            path("containerDefinitions[web].image").unwrap()["new"],
            "web:2"
        );
        assert_eq!(
            path("containerDefinitions[web].environment[B].value").unwrap()["old"],
            OLD
        );
        assert_eq!(
            path("containerDefinitions[web].environment[C]").unwrap()["new"],
            Value::Null
        );
        assert_eq!(
            path("containerDefinitions[web].environment[D]").unwrap()["new"]["value"],
            ONLY
        );
        assert!(
            path("containerDefinitions[web].environment[A]").is_none(),
            "{paths:?}"
        );
        assert_eq!(
            path("containerDefinitions[web].secrets[DB].valueFrom").unwrap()["new"],
            NEW
        );
        assert!(
            diff.contains("-      \"image\": \"web:1\",\n+      \"image\": \"web:2\","),
            "{diff}"
        );
    }

    #[test]
    fn log_options_are_hidden_as_values() {
        let td = |token: &str| {
            json!({"containerDefinitions": [{"name": "web", "logConfiguration": {"logDriver": "splunk",
                "options": {"splunk-token": token, "splunk-url": "https://splunk.internal"}}}]})
        };
        let (old, new) = prepared(&td("tok-old-111"), &td("tok-new-222"));
        let shown = format!(
            "{:?}{}",
            changed_paths(&old, &new),
            unified(&old, &new, "a", "b")
        );
        assert!(
            !shown.contains("tok-old-111") && !shown.contains("tok-new-222"),
            "{shown}"
        );
        assert!(
            shown.contains("containerDefinitions[web].logConfiguration.options.splunk-token"),
            "{shown}"
        );
        assert_eq!(
            changed_paths(&old, &new).len(),
            1,
            "the url did not change: {shown}"
        );
    }

    #[test]
    fn what_ecs_fills_in_is_no_difference() {
        let described = json!({"networkMode": "awsvpc", "containerDefinitions": [{"name": "web",
            "cpu": 0, "essential": true,
            "portMappings": [{"containerPort": 8080, "hostPort": 8080, "protocol": "tcp"}]}]});
        let file = json!({"networkMode": "awsvpc", "containerDefinitions": [{"name": "web",
            "portMappings": [{"containerPort": 8080}]}]});
        let (a, b) = prepared(&described, &file);
        assert!(
            changed_paths(&a, &b).is_empty(),
            "{:?}",
            changed_paths(&a, &b)
        );
    }

    #[test]
    fn order_of_sets_and_keys_is_no_difference() {
        let a = json!({"b": 1, "containerDefinitions": [{"name": "web", "environment": [
            {"name": "X", "value": "1"}, {"name": "Y", "value": "2"}]}]});
        let b = json!({"containerDefinitions": [{"environment": [
            {"value": "2", "name": "Y"}, {"name": "X", "value": "1"}], "name": "web"}], "b": 1});
        let (a, b) = prepared(&a, &b);
        assert!(changed_paths(&a, &b).is_empty());
        assert_eq!(unified(&a, &b, "a", "b"), "");
    }
}
