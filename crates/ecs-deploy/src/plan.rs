//! `--plan`: what a deploy would change, changing nothing. For each
//! `--service`, the definition about to be registered against the one the
//! service runs now (both cleaned with the one rule, made canonical, every
//! environment value and secret `valueFrom` replaced before the comparison:
//! `deploykit::ecs::diff`), and the service settings the flags would
//! change. The plan records what each service runs (task definition,
//! current deployment): a deploy handed the plan's object refuses when a
//! service moved since ([`drift`]): what was approved is what is deployed.
//! The checks: the definition fits each service (launch type, Fargate's
//! network mode and task size, the load balancers' containers and ports:
//! a misfit is a bad input, exit 2) and its log groups exist (exit 1; not
//! allowed to ask: skipped, naming the permission), its task and
//! execution roles exist and trust ECS tasks (the same), every secret its
//! containers name exists, never read ([`crate::secrets`]; the same), and
//! its images exist in their registries for the task's platform
//! ([`crate::images`]).

use aws_sdk_ecs::Client;
use deploykit::ecs::api::{self, name_of};
use deploykit::ecs::{clean, diff};
use deploykit::stream::Envelope;
use deploykit::{Error, Outcome, Result, cli};
use serde_json::{Value, json};

use crate::config::{Config, Source};
use crate::services;
use deploykit::ecs::definition::Definition;

pub async fn run(
    config: &Config,
    client: &Client,
    mut envelope: Envelope,
    definition: Option<Definition>,
) -> Result<Outcome> {
    let new = match (&config.source, definition) {
        (Source::Arn(name), _) => {
            api::with_tags(&api::describe_task_definition(client, name).await?)
        }
        (_, Some(def)) => def.td,
        (_, None) => return Err(Error::usage("no task definition to plan")),
    };
    let mut new_clean = new.clone();
    clean::clean(&mut new_clean);
    let targets = services::check(client, &config.cluster, &config.services, Some(&new)).await?;
    let mut changes = Vec::new();
    let mut refused = Vec::new();
    let mut described: Vec<(String, Value)> = Vec::new();
    for target in targets {
        let service = match target.state {
            Ok(service) => service,
            Err(reason) => {
                refused.push(reason.clone());
                changes.push(json!({"service": target.name, "error": reason}));
                continue;
            }
        };
        described.push((target.name.clone(), service.clone()));
        let running_arn = service["taskDefinition"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let mut running =
            api::with_tags(&api::describe_task_definition(client, &running_arn).await?);
        clean::clean(&mut running);
        let (old, planned) = diff::prepared(&running, &new_clean);
        let paths = diff::changed_paths(&old, &planned);
        let unified = diff::unified(&old, &planned, name_of(&running_arn), "to register");
        let settings = settings(config, &service);
        cli::note(format!(
            "plan: service {:?} runs {} (deployment {}): {} of its definition change{}",
            target.name,
            name_of(&running_arn),
            deployment(&service).unwrap_or("none"),
            match paths.len() {
                0 => "nothing".to_string(),
                1 => "1 path".to_string(),
                n => format!("{n} paths"),
            },
            if settings.is_empty() {
                String::new()
            } else {
                format!(
                    ", and {} service setting{}",
                    settings.len(),
                    if settings.len() == 1 { "" } else { "s" }
                )
            }
        ));
        for line in unified.lines() {
            cli::foreign_line(&format!("  {line}"));
        }
        for s in &settings {
            cli::note(format!(
                "  {}: {} -> {}",
                s["setting"].as_str().unwrap_or("?"),
                s["old"],
                s["new"]
            ));
        }
        changes.push(json!({
            "service": target.name,
            "serviceArn": service["serviceArn"],
            "running": {"taskDefinition": running_arn, "deployment": deployment(&service)},
            "taskDefinition": {"paths": paths, "diff": unified},
            "settings": settings,
        }));
    }
    let checks = checks(&new_clean, &described).await?;
    report(&checks, "plan");
    envelope.insert(
        "plan".to_string(),
        json!({"cluster": config.cluster, "changes": changes, "checks": checks}),
    );
    Ok(match verdict(&checks, refused, "the plan") {
        Some(e) => Outcome::failed(envelope, e),
        None => Outcome::success(envelope),
    })
}

/// The checks of `td` (cleaned) for `services` (DescribeServices'
/// answers, by name): fit for each service, then the log groups, roles,
/// secrets and images the definition names.
pub async fn checks(td: &Value, services: &[(String, Value)]) -> Result<Vec<Value>> {
    let mut checks: Vec<Value> = services
        .iter()
        .map(|(name, service)| fit(td, service, name))
        .collect();
    checks.extend(log_groups(td).await);
    checks.extend(roles(td).await);
    // The caller's account, from a service's ARN (arn:aws:ecs:R:ACCOUNT:...).
    let account = services
        .iter()
        .find_map(|(_, s)| s["serviceArn"].as_str()?.split(':').nth(4));
    checks.extend(crate::secrets::check(td, account).await);
    checks.extend(crate::images::images(td).await?);
    Ok(checks)
}

/// Says the checks on stderr, `doing` first (`plan`, `verify`): each made,
/// and those skipped in one warning line.
pub fn report(checks: &[Value], doing: &str) {
    for c in checks.iter().filter(|c| c["status"] != "skipped") {
        let line = format!(
            "{doing}: check {}: {}: {}",
            c["name"].as_str().unwrap_or("?"),
            c["status"].as_str().unwrap_or("?"),
            c["detail"].as_str().unwrap_or_default()
        );
        cli::note(line);
    }
    let skipped: Vec<&str> = checks
        .iter()
        .filter(|c| c["status"] == "skipped")
        .filter_map(|c| c["detail"].as_str())
        .collect();
    if !skipped.is_empty() {
        cli::warn(format!("{doing}: checks skipped: {}", skipped.join("; ")));
    }
}

/// What the checks make of a deploy: none failed, `None`. A definition
/// that does not fit a service is a bad input (exit 2); a log group,
/// role, secret or image missing, or a service that cannot be updated (`refused`),
/// exit 1.
pub fn verdict(checks: &[Value], refused: Vec<String>, subject: &str) -> Option<Error> {
    let failed = |names: &[&str]| -> Vec<String> {
        checks
            .iter()
            .filter(|c| {
                c["status"] == "failed" && names.contains(&c["name"].as_str().unwrap_or(""))
            })
            .filter_map(|c| c["detail"].as_str().map(str::to_string))
            .collect()
    };
    let misfits = failed(&["fit"]);
    let missing = failed(&["log group", "role", "secret", "image"]);
    if !misfits.is_empty() {
        Some(Error::usage(format!(
            "the definition does not fit the service: {}",
            misfits.join("; ")
        )))
    } else if !refused.is_empty() || !missing.is_empty() {
        let mut why = refused;
        why.extend(missing);
        Some(Error::failed(format!(
            "{subject} cannot be deployed: {}",
            why.join("; ")
        )))
    } else {
        None
    }
}

/// Whether `td` fits `service`: the launch type it requires, Fargate's
/// network mode and task size (deploykit's one table), and the containers
/// and ports the service's load balancers name. One check a service.
fn fit(td: &Value, service: &Value, name: &str) -> Value {
    let mut problems = Vec::new();
    let runs_on = match service["launchType"].as_str() {
        Some(launch) => Some(launch.to_string()),
        None => service["capacityProviderStrategy"]
            .as_array()
            .and_then(|s| s.first())
            .and_then(|p| p["capacityProvider"].as_str())
            .map(|p| {
                if p.starts_with("FARGATE") {
                    "FARGATE"
                } else {
                    "EC2"
                }
                .to_string()
            }),
    };
    let requires: Vec<&str> = td["requiresCompatibilities"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if let Some(on) = &runs_on
        && !requires.is_empty()
        && !requires.contains(&on.as_str())
    {
        problems.push(format!(
            "the service runs on {on}, the definition requires {}",
            requires.join(", ")
        ));
    }
    if runs_on.as_deref() == Some("FARGATE") {
        if td["networkMode"] != "awsvpc" {
            problems.push(format!(
                "Fargate needs networkMode awsvpc, the definition has {}",
                td["networkMode"].as_str().unwrap_or("none")
            ));
        }
        let number = |key: &str| td[key].as_str().and_then(|v| v.trim().parse::<u32>().ok());
        match (number("cpu"), number("memory")) {
            (Some(cpu), Some(memory)) => {
                if let Err(why) = deploykit::ecs::fargate::check(cpu, memory) {
                    problems.push(why);
                }
            }
            _ => problems.push("Fargate needs the task's cpu and memory set".to_string()),
        }
    }
    for lb in service["loadBalancers"].as_array().into_iter().flatten() {
        let (Some(container), Some(port)) =
            (lb["containerName"].as_str(), lb["containerPort"].as_i64())
        else {
            continue;
        };
        let found = td["containerDefinitions"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["name"] == container);
        let Some(c) = found else {
            problems.push(format!(
                "the service's load balancer sends traffic to container {container:?}, which the definition lacks"
            ));
            continue;
        };
        let ports: Vec<String> = c["portMappings"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["containerPort"].as_i64())
            .map(|p| p.to_string())
            .collect();
        if !ports.contains(&port.to_string()) {
            problems.push(format!(
                "the service's load balancer sends traffic to port {port} of container {container:?}, which maps {}",
                if ports.is_empty() { "no port".to_string() } else { ports.join(", ") }
            ));
        }
    }
    problems.extend(service_connect_misfits(td, service));
    let on = runs_on.map(|o| format!(" ({o})")).unwrap_or_default();
    if problems.is_empty() {
        json!({"name": "fit", "service": name, "status": "ok",
            "detail": format!("the definition fits service {name:?}{on}")})
    } else {
        json!({"name": "fit", "service": name, "status": "failed",
            "detail": format!("service {name:?}{on}: {}", problems.join("; "))})
    }
}

/// The port names the service's Service Connect configuration (on its
/// PRIMARY deployment: DescribeServices has it nowhere else) names that
/// no container of `td` maps: ECS would fail the deployment.
fn service_connect_misfits(td: &Value, service: &Value) -> Vec<String> {
    let primary = service["deployments"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|d| d["status"] == "PRIMARY");
    let Some(config) = primary.map(|d| &d["serviceConnectConfiguration"]) else {
        return Vec::new();
    };
    if config["enabled"] == false {
        return Vec::new();
    }
    let named: Vec<&str> = td["containerDefinitions"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|c| c["portMappings"].as_array().into_iter().flatten())
        .filter_map(|p| p["name"].as_str())
        .collect();
    config["services"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["portName"].as_str())
        .filter(|port| !named.contains(port))
        .map(|port| {
            format!(
                "the service's Service Connect configuration names port {port:?}, which no port mapping of the definition is named ({})",
                if named.is_empty() {
                    "it names none".to_string()
                } else {
                    format!("it names {}", named.join(", "))
                }
            )
        })
        .collect()
}

/// Each of the definition's `executionRoleArn` and `taskRoleArn` exists
/// and trusts ECS tasks (`iam:GetRole`: an `Allow` of `sts:AssumeRole` to
/// the service `ecs-tasks.amazonaws.com` in its trust policy). Not allowed
/// to ask: `skipped`, naming the permission.
async fn roles(td: &Value) -> Vec<Value> {
    let Some(sdk) = deploykit::aws::loaded() else {
        return Vec::new();
    };
    let iam = aws_sdk_iam::Client::from_conf(
        aws_sdk_iam::config::Builder::from(&sdk)
            .interceptor(deploykit::aws::StallWatch)
            .build(),
    );
    let mut checks = Vec::new();
    for field in ["executionRoleArn", "taskRoleArn"] {
        let Some(arn) = td[field].as_str() else {
            continue;
        };
        // arn:aws:iam::ACCOUNT:role/PATH/NAME: GetRole takes the name.
        let name = arn.rsplit('/').next().unwrap_or(arn);
        let check = match iam.get_role().role_name(name).send().await {
            Ok(answer) => {
                let trust = answer
                    .role()
                    .map(|r| percent_decoded(r.assume_role_policy_document().unwrap_or_default()))
                    .unwrap_or_default();
                if trusts_ecs_tasks(&trust) {
                    json!({"name": "role", "status": "ok",
                        "detail": format!("{field} {name} exists and trusts ecs-tasks.amazonaws.com")})
                } else {
                    json!({"name": "role", "status": "failed",
                        "detail": format!("{field} {name} does not trust ecs-tasks.amazonaws.com: its trust policy must allow sts:AssumeRole to the service ecs-tasks.amazonaws.com, or the tasks cannot start (execution role) or use it (task role)")})
                }
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_no_such_entity_exception()) =>
            {
                json!({"name": "role", "status": "failed",
                    "detail": format!("{field} {name} does not exist")})
            }
            Err(e) if deploykit::aws::is_denied(&e) => json!({"name": "role", "status": "skipped",
                "detail": format!("{field} {name} not checked: the caller lacks iam:GetRole")}),
            Err(e) => json!({"name": "role", "status": "skipped",
                "detail": format!("{field} {name} not checked: {}", deploykit::aws::describe(&e))}),
        };
        checks.push(check);
    }
    checks
}

/// Whether a trust policy allows `sts:AssumeRole` to ECS tasks.
fn trusts_ecs_tasks(policy: &str) -> bool {
    let Ok(policy) = serde_json::from_str::<Value>(policy) else {
        return false;
    };
    let listed = |v: &Value, wanted: &str| match v {
        Value::String(one) => one == wanted || one == "*",
        Value::Array(many) => many.iter().any(|m| m == wanted || m == "*"),
        _ => false,
    };
    let statements = match &policy["Statement"] {
        Value::Array(list) => list.clone(),
        one @ Value::Object(_) => vec![one.clone()],
        _ => Vec::new(),
    };
    statements.iter().any(|st| {
        st["Effect"] == "Allow"
            && listed(&st["Principal"]["Service"], "ecs-tasks.amazonaws.com")
            && listed(&st["Action"], "sts:AssumeRole")
    })
}

/// `%7B%22...`, as IAM sends a policy document, decoded.
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).and_then(|b| hex(*b)),
            bytes.get(i + 2).and_then(|b| hex(*b)),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Each `awslogs-group` of the definition exists (logs:DescribeLogGroups
/// in its `awslogs-region`), unless `awslogs-create-group` is true. Not
/// allowed to ask: `skipped`, naming the permission.
async fn log_groups(td: &Value) -> Vec<Value> {
    let Some(sdk) = deploykit::aws::loaded() else {
        return Vec::new();
    };
    let logs = deploykit::ecs::logs::Logs::new(&sdk);
    let mut seen: Vec<(String, Option<String>)> = Vec::new();
    let mut checks = Vec::new();
    for c in td["containerDefinitions"].as_array().into_iter().flatten() {
        let options = &c["logConfiguration"]["options"];
        if c["logConfiguration"]["logDriver"] != "awslogs"
            || options["awslogs-create-group"] == "true"
        {
            continue;
        }
        let Some(group) = options["awslogs-group"].as_str() else {
            continue;
        };
        let region = options["awslogs-region"].as_str().map(str::to_string);
        if seen.contains(&(group.to_string(), region.clone())) {
            continue;
        }
        seen.push((group.to_string(), region.clone()));
        let answer = logs
            .client(region.as_deref())
            .describe_log_groups()
            .log_group_name_prefix(group)
            .send()
            .await;
        let check = match answer {
            Ok(found)
                if found
                    .log_groups()
                    .iter()
                    .any(|g| g.log_group_name() == Some(group)) =>
            {
                json!({"name": "log group", "status": "ok", "detail": format!("log group {group} exists")})
            }
            Ok(_) => json!({"name": "log group", "status": "failed",
                "detail": format!("log group {group} does not exist: the tasks would fail to start (create it, or set awslogs-create-group true, with logs:CreateLogGroup on the execution role)")}),
            Err(e) if deploykit::aws::is_denied(&e) => {
                json!({"name": "log group", "status": "skipped",
                "detail": format!("log group {group} not checked: the caller lacks logs:DescribeLogGroups")})
            }
            Err(e) => json!({"name": "log group", "status": "skipped",
                "detail": format!("log group {group} not checked: {}", deploykit::aws::describe(&e))}),
        };
        checks.push(check);
    }
    checks
}

/// The service settings the flags would change: `{setting, old, new}`.
fn settings(config: &Config, service: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    if let Some(n) = config.desired_count
        && service["desiredCount"].as_i64() != Some(i64::from(n))
    {
        out.push(json!({"setting": "desiredCount", "old": service["desiredCount"], "new": n}));
    }
    if config.force_new_deployment {
        out.push(json!({"setting": "forceNewDeployment", "old": false, "new": true}));
    }
    if let Some(p) = &config.propagate_tags {
        let new = p.as_api();
        if service["propagateTags"].as_str() != Some(new) {
            out.push(
                json!({"setting": "propagateTags", "old": service["propagateTags"], "new": new}),
            );
        }
    }
    if config.enable_ecs_managed_tags && service["enableECSManagedTags"] != true {
        out.push(json!({"setting": "enableECSManagedTags", "old": service["enableECSManagedTags"], "new": true}));
    }
    out
}

/// The deployment a service is on: its current service deployment, else
/// its PRIMARY deployment's id.
fn deployment(service: &Value) -> Option<&str> {
    service["currentServiceDeployment"].as_str().or_else(|| {
        service["deployments"]
            .as_array()?
            .iter()
            .find(|d| d["status"] == "PRIMARY")?["id"]
            .as_str()
    })
}

/// A deploy handed a plan's object: each service must still run what the
/// plan saw, and be one the plan covered. `services`: DescribeServices'
/// answers for the services about to be updated.
pub fn drift(plan: &Value, cluster: &str, services: &[(String, Value)]) -> Result<()> {
    let planned = plan["changes"].as_array().cloned().unwrap_or_default();
    if plan["cluster"].as_str().is_some_and(|c| c != cluster) {
        return Err(Error::failed(format!(
            "the plan on stdin is for cluster {}, not {cluster:?}: make a plan for this deploy",
            plan["cluster"]
        )));
    }
    for (name, service) in services {
        let Some(seen) = planned.iter().find(|c| c["service"] == name.as_str()) else {
            return Err(Error::failed(format!(
                "service {name:?} is not in the plan on stdin: make a plan that covers it"
            )));
        };
        let was = (
            seen["running"]["taskDefinition"].as_str(),
            seen["running"]["deployment"].as_str(),
        );
        let now = (service["taskDefinition"].as_str(), deployment(service));
        if was != now {
            return Err(Error::failed(format!(
                "service {name:?} moved since the plan: the plan saw {} (deployment {}), it runs {} (deployment {}) now; nothing deployed: make a new plan",
                was.0.map_or("?", name_of),
                was.1.unwrap_or("none"),
                now.0.map_or("?", name_of),
                now.1.unwrap_or("none"),
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A service whose PRIMARY deployment serves Service Connect port
    /// `port` (moto keeps no Service Connect configuration: shown here).
    fn serving(port: &str) -> Value {
        json!({"launchType": "EC2", "deployments": [
            {"status": "ACTIVE", "serviceConnectConfiguration": {"enabled": true,
                "services": [{"portName": "old"}]}},
            {"status": "PRIMARY", "serviceConnectConfiguration": {"enabled": true,
                "namespace": "internal", "services": [{"portName": port}]}}]})
    }

    fn mapping(name: &str) -> Value {
        json!({"containerDefinitions": [{"name": "web", "portMappings": [
            {"containerPort": 8080, "name": name}]}]})
    }

    #[test]
    fn a_service_connect_port_name_the_definition_maps_fits() {
        assert_eq!(
            fit(&mapping("http"), &serving("http"), "web")["status"],
            "ok"
        );
    }

    #[test]
    fn a_service_connect_port_name_the_definition_lacks_is_a_misfit() {
        let c = fit(&mapping("web-http"), &serving("http"), "web");
        assert_eq!(c["status"], "failed", "{c}");
        assert_eq!(
            c["detail"],
            "service \"web\" (EC2): the service's Service Connect configuration names port \"http\", which no port mapping of the definition is named (it names web-http)"
        );
    }
}
