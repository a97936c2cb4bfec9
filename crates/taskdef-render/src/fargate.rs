//! A rendered definition that requires Fargate must have a task size
//! Fargate runs: `cpu` and `memory` checked against deploykit's one table
//! (`deploykit::ecs::fargate`, which `ecs-deploy --plan` uses too), after
//! every edit (`--cpu`, `--memory`, `--jq`), since RegisterTaskDefinition
//! would refuse the pair anyway, later and with less to go on. Checked only
//! when both are set; values in the forms ECS takes (`1024`, `1 vCPU`,
//! `.5 vcpu`, `2048`, `2 GB`); a value of no such form is left to ECS.

use deploykit::{Error, Result};
use serde_json::Value;

/// Exit 2 when `td` requires FARGATE and its cpu/memory pair is not one
/// Fargate runs, naming the pair as given and what Fargate takes.
pub fn check(td: &Value) -> Result<()> {
    let fargate = td["requiresCompatibilities"]
        .as_array()
        .is_some_and(|list| list.iter().any(|c| c == "FARGATE"));
    if !fargate {
        return Ok(());
    }
    let (Some(cpu), Some(memory)) = (amount(&td["cpu"], "vcpu"), amount(&td["memory"], "gb"))
    else {
        return Ok(());
    };
    match deploykit::ecs::fargate::check(cpu, memory) {
        Ok(()) => Ok(()),
        Err(why) => Err(Error::usage(format!(
            "task size cpu {}, memory {}: the definition requires FARGATE, and {why}; set --cpu and --memory (or the definition's cpu and memory) to a pair Fargate runs",
            shown(&td["cpu"]),
            shown(&td["memory"])
        ))),
    }
}

/// A value as the definition has it: `"1 vCPU"`, `512`.
fn shown(value: &Value) -> String {
    value.to_string()
}

/// A task-level `cpu` (CPU units; `unit` "vcpu": 1024 each) or `memory`
/// (MiB; `unit` "gb": 1024 each) as a whole number; none when the value
/// has no form ECS reads.
fn amount(value: &Value, unit: &str) -> Option<u32> {
    let text = match value {
        Value::String(s) => s.trim().to_ascii_lowercase(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().ok();
    }
    let number = text.strip_suffix(unit)?.trim_end();
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    let scaled = number.parse::<f64>().ok()? * 1024.0;
    (scaled.is_finite() && scaled >= 0.0 && scaled <= f64::from(u32::MAX))
        .then(|| scaled.round() as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn amounts_in_the_forms_ecs_takes() {
        assert_eq!(amount(&json!("256"), "vcpu"), Some(256));
        assert_eq!(amount(&json!("1 vCPU"), "vcpu"), Some(1024));
        assert_eq!(amount(&json!(".25 vcpu"), "vcpu"), Some(256));
        assert_eq!(amount(&json!("2 GB"), "gb"), Some(2048));
        assert_eq!(amount(&json!("0.5GB"), "gb"), Some(512));
        assert_eq!(amount(&json!(1024), "gb"), Some(1024));
        assert_eq!(amount(&json!("lots"), "gb"), None);
        assert_eq!(amount(&json!("-1 GB"), "gb"), None);
        assert_eq!(amount(&json!(null), "gb"), None);
    }

    #[test]
    fn only_a_fargate_definition_with_both_set_is_checked() {
        let td = |req: Value, cpu: Value, memory: Value| json!({"requiresCompatibilities": req, "cpu": cpu, "memory": memory});
        assert!(check(&td(json!(["FARGATE"]), json!("256"), json!("4096"))).is_err());
        assert!(
            check(&td(
                json!(["EC2", "FARGATE"]),
                json!(".25 vCPU"),
                json!("4 GB")
            ))
            .is_err()
        );
        assert!(check(&td(json!(["FARGATE"]), json!("1 vCPU"), json!("3 GB"))).is_ok());
        assert!(check(&td(json!(["EC2"]), json!("256"), json!("4096"))).is_ok());
        assert!(check(&td(json!(null), json!("256"), json!("4096"))).is_ok());
        assert!(check(&td(json!(["FARGATE"]), json!("256"), json!(null))).is_ok());
    }
}
