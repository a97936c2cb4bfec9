//! Whether a definition to register says the same as one already
//! registered (`--skip-unchanged`, and a definition that carries its own
//! `taskDefinitionArn`). Both sides go through the same cleaning and the
//! same model conversions; then what ECS fills in by itself, or keeps in an
//! order of its own, is made alike:
//!
//! - `environment` and `secrets` are sets by name, `portMappings` by name
//!   and port, `tags` by key: their order means nothing;
//! - a container's `essential` defaults to true and `cpu` to 0, a port
//!   mapping's `protocol` to `tcp`; a `hostPort` of 0, or (awsvpc and host
//!   networking) equal to the container port, is what ECS writes for none.

use super::{check_task_definition, clean::clean};
use serde_json::{Value, json};

/// True when `a` and `b` register the same task definition.
pub fn same(a: &Value, b: &Value) -> bool {
    normal(a) == normal(b)
}

fn normal(td: &Value) -> Value {
    let mut td = td.clone();
    clean(&mut td);
    let _ = check_task_definition(&mut td);
    let host_port_is_container_port = matches!(td["networkMode"].as_str(), Some("awsvpc" | "host"));
    sort_by(&mut td["tags"], &["key"]);
    if let Some(containers) = td["containerDefinitions"].as_array_mut() {
        for c in containers {
            let Some(map) = c.as_object_mut() else {
                continue;
            };
            map.entry("essential").or_insert(json!(true));
            map.entry("cpu").or_insert(json!(0));
            if let Some(ports) = map.get_mut("portMappings").and_then(Value::as_array_mut) {
                for port in ports.iter_mut().filter_map(Value::as_object_mut) {
                    port.entry("protocol").or_insert(json!("tcp"));
                    let container = port.get("containerPort").cloned();
                    let drop = match port.get("hostPort") {
                        Some(h) => {
                            h == 0 || (host_port_is_container_port && Some(h) == container.as_ref())
                        }
                        None => false,
                    };
                    if drop {
                        port.shift_remove("hostPort");
                    }
                }
            }
            sort_by(&mut c["environment"], &["name"]);
            sort_by(&mut c["secrets"], &["name"]);
            sort_by(
                &mut c["portMappings"],
                &["name", "containerPort", "protocol"],
            );
        }
    }
    td
}

/// Sorts a list of objects by the given fields (then by the whole entry).
fn sort_by(list: &mut Value, fields: &[&str]) {
    if let Some(items) = list.as_array_mut() {
        items.sort_by_cached_key(|item| {
            let mut key: Vec<String> = fields.iter().map(|f| item[*f].to_string()).collect();
            key.push(item.to_string());
            key
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn td(env: Value) -> Value {
        json!({"family": "f", "networkMode": "awsvpc", "containerDefinitions": [{"name": "w", "image": "i",
            "environment": env, "portMappings": [{"containerPort": 80}]}]})
    }

    #[test]
    fn environment_order_does_not_matter() {
        assert!(same(
            &td(json!([{"name": "A", "value": "1"}, {"name": "B", "value": "2"}])),
            &td(json!([{"name": "B", "value": "2"}, {"name": "A", "value": "1"}]))
        ));
    }

    #[test]
    fn an_environment_value_does() {
        assert!(!same(
            &td(json!([{"name": "A", "value": "1"}])),
            &td(json!([{"name": "A", "value": "2"}]))
        ));
    }

    #[test]
    fn what_ecs_fills_in_is_the_same_as_leaving_it_out() {
        let mut registered = td(json!([]));
        registered["containerDefinitions"][0]["essential"] = json!(true);
        registered["containerDefinitions"][0]["cpu"] = json!(0);
        registered["containerDefinitions"][0]["portMappings"] =
            json!([{"containerPort": 80, "hostPort": 80, "protocol": "tcp"}]);
        registered["revision"] = json!(4);
        assert!(same(&td(json!([])), &registered));
    }

    #[test]
    fn an_image_change_is_a_change() {
        let mut other = td(json!([]));
        other["containerDefinitions"][0]["image"] = json!("j");
        assert!(!same(&td(json!([])), &other));
    }
}
