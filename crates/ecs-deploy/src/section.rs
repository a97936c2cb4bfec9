//! ecs-deploy's section of the job summary: the revision registered (or
//! rolled back to), each service updated with its console link or why it
//! was not, and with `--wait` how each rollout ended. For later steps:
//! `task-definition-arn`, and with `--wait` the rollout's `status`.

use deploykit::Outcome;
use deploykit::ecs::api::name_of;
use deploykit::summary::{Inline, Section, ecs};
use serde_json::Value;

/// `outcome` with its section; `waited`: `--wait` was given.
pub fn attach(outcome: Outcome, rolled_back: bool, steered: bool, waited: bool) -> Outcome {
    let Some(doc) = outcome.object() else {
        return outcome;
    };
    if let Some(plan) = doc
        .get("plan")
        .filter(|_| !steered && !rolled_back && !waited)
        && doc.get("service").is_none()
        && doc.get("services").is_none()
    {
        let section = plan_section(plan, outcome.failure().is_some());
        return outcome.with_summary(section);
    }
    let failed = outcome.failure().is_some();
    let services: Vec<&Value> = match (doc.get("service"), doc.get("services")) {
        (Some(one @ Value::Object(_)), _) => vec![one],
        (None, Some(Value::Array(list))) => list.iter().collect(),
        _ => Vec::new(),
    };
    let reports = if waited {
        ecs::wait_reports(doc)
    } else {
        Vec::new()
    };
    let rollback = rolled_back.then(|| doc.get("rollback")).flatten();
    let arn = match rollback {
        Some(r) => r["to"].as_str(),
        None => doc
            .get("taskDefinition")
            .and_then(|td| td["taskDefinitionArn"].as_str()),
    }
    .unwrap_or_default();

    // --continue, --stop: what was done to which deployment.
    let steer = steered
        .then(|| {
            [("continued", "continued at hook"), ("stopped", "stopped")]
                .into_iter()
                .find_map(|(key, done)| doc.get(key).map(|v| (key, done, v)))
        })
        .flatten();
    let title = match (failed, rollback, services.is_empty()) {
        (false, _, _) if steer.is_some() => steer.map_or("", |(key, _, _)| key),
        (true, _, _) => "failed",
        (false, Some(_), _) => "rolled back",
        (false, None, true) => "registered",
        (false, None, false) => "deployed",
    };
    let mut section = Section::new(title);
    let md = section.body();
    if let Some((_, done, v)) = steer {
        let mut words = vec![
            Inline::text("Service deployment"),
            Inline::code(name_of(v["serviceDeployment"].as_str().unwrap_or_default())),
            Inline::text(done),
        ];
        if let Some(hook) = v["hookId"].as_str() {
            words.push(Inline::code(hook));
        }
        md.paragraph(Inline::join(words, " "));
    } else if let Some(r) = rollback {
        md.paragraph(Inline::join(
            [
                Inline::text("Rolled back from"),
                Inline::code(name_of(r["from"].as_str().unwrap_or_default())),
                Inline::text("to"),
                Inline::code(name_of(arn)),
                Inline::text(&format!("({})", r["method"].as_str().unwrap_or_default())),
            ],
            " ",
        ));
    } else if !arn.is_empty() {
        md.paragraph(Inline::join(
            [Inline::text("Task definition"), Inline::code(name_of(arn))],
            " ",
        ));
    }
    let rows: Vec<Vec<Inline>> = services.iter().map(|s| service_row(s)).collect();
    md.table(
        &[
            "Service",
            "Cluster",
            "Task definition",
            "Deployment",
            "Update",
        ],
        &rows,
    );
    if !reports.is_empty() {
        ecs::rollout(md, &reports);
    }
    // --verify: the checks that did not pass (failed, or not made).
    let unpassed: Vec<Vec<Inline>> = doc
        .get("verify")
        .and_then(|v| v["checks"].as_array())
        .into_iter()
        .flatten()
        .filter(|c| c["status"] != "ok")
        .map(check_row)
        .collect();
    if !unpassed.is_empty() {
        md.paragraph(Inline::text("Checks (--verify) that did not pass:"));
        md.table(&["Check", "Status", "Detail"], &unpassed);
    }
    section.output("task-definition-arn", arn);
    if let Some(status) = ecs::overall_status(&reports) {
        section.output("status", status);
    }
    outcome.with_summary(section)
}

/// A service as updated: name (linked to its deployments), cluster, the
/// revision it now runs, its new deployment, and `updated` or why not.
fn service_row(service: &Value) -> Vec<Inline> {
    let text = |key: &str| service[key].as_str().unwrap_or_default();
    let name = match text("serviceArn") {
        "" => Inline::text(text("serviceName")),
        arn => ecs::service_link(arn),
    };
    let deployment = service["deployments"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|d| d["status"] == "PRIMARY")
        .and_then(|d| d["id"].as_str())
        .unwrap_or_default();
    let update = match service["error"]["message"].as_str() {
        Some(message) => Inline::strong(Inline::text(&format!("failed: {message}"))),
        None => Inline::text("updated"),
    };
    vec![
        name,
        Inline::text(name_of(text("clusterArn"))),
        Inline::code(name_of(text("taskDefinition"))),
        Inline::code(deployment),
        update,
    ]
}

/// `--plan`'s section: for each service, what it runs and the diff (in a
/// collapsed block: the values are hidden already), then the checks.
fn plan_section(plan: &Value, failed: bool) -> Section {
    let mut section = Section::new(if failed { "plan failed" } else { "plan" });
    let md = section.body();
    for change in plan["changes"].as_array().into_iter().flatten() {
        let service = change["service"].as_str().unwrap_or("?");
        let running = name_of(
            change["running"]["taskDefinition"]
                .as_str()
                .unwrap_or_default(),
        );
        let paths = change["taskDefinition"]["paths"]
            .as_array()
            .map_or(0, Vec::len);
        md.paragraph(Inline::join(
            [
                Inline::text("Service"),
                Inline::code(service),
                Inline::text("runs"),
                Inline::code(running),
                Inline::text(&match paths {
                    0 => "— nothing of its definition changes".to_string(),
                    1 => "— 1 path of its definition changes".to_string(),
                    n => format!("— {n} paths of its definition change"),
                }),
            ],
            " ",
        ));
        let diff: Vec<String> = change["taskDefinition"]["diff"]
            .as_str()
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect();
        if !diff.is_empty() {
            md.details(&format!("the definition's diff for {service}"), &diff);
        }
    }
    let rows: Vec<Vec<Inline>> = plan["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(check_row)
        .collect();
    md.table(&["Check", "Status", "Detail"], &rows);
    section
}

/// A check of --plan or --verify: name, status, detail.
fn check_row(c: &Value) -> Vec<Inline> {
    vec![
        Inline::text(c["name"].as_str().unwrap_or_default()),
        Inline::text(c["status"].as_str().unwrap_or_default()),
        Inline::text(c["detail"].as_str().unwrap_or_default()),
    ]
}
