//! `ecs-deploy --plan` on moto: what a deploy would change against what
//! the service runs, with every environment value and secret hidden,
//! changing nothing; and a deploy handed the plan's object that refuses
//! when the service moved since.

mod common;

use common::{deploy, deployed, described, register, revisions, short};
use deploy_tests::moto_ecs;
use serde_json::{Value, json};

/// The definition the service runs, with `web`'s environment set.
fn with_env(td: &Value, env: &[(&str, &str)]) -> Value {
    let mut td = td.clone();
    td["containerDefinitions"][0]["environment"] = env
        .iter()
        .map(|(k, v)| json!({"name": k, "value": v}))
        .collect();
    td
}

#[test]
fn a_plan_shows_what_changes_hides_every_value_and_changes_nothing() {
    let (cluster, family, td) = deployed();
    // The service runs revision 2, with the old password.
    let running = with_env(&td, &[("DB_PASSWORD", "old-pass-123"), ("MODE", "blue")]);
    let arn = register(&running);
    moto_ecs(
        "UpdateService",
        &json!({"cluster": cluster, "service": "web", "taskDefinition": arn}),
    );
    let mut next = with_env(&td, &[("DB_PASSWORD", "new-pass-456"), ("MODE", "blue")]);
    next["containerDefinitions"][0]["image"] = json!("web:9");
    let before = revisions(&family, "ACTIVE");
    let out = deploy()
        .args(["--cluster", &cluster, "--service", "web", "--plan"])
        .stdin_json(&json!({"taskDefinition": next}))
        .run();
    let doc = out.success();
    let change = &doc["plan"]["changes"][0];
    assert_eq!(
        short(&change["running"]["taskDefinition"]),
        short(&json!(arn))
    );
    let paths = change["taskDefinition"]["paths"].as_array().unwrap();
    let at = |p: &str| paths.iter().find(|c| c["path"] == p).cloned();
    let image = at("containerDefinitions[web].image").expect("the image changes");
    assert_eq!(image["new"], "web:9");
    let password = at("containerDefinitions[web].environment[DB_PASSWORD].value")
        .expect("the password changes");
    assert_eq!(password["old"], "(old value)");
    assert_eq!(password["new"], "(new value)");
    assert!(
        at("containerDefinitions[web].environment[MODE]").is_none(),
        "{paths:?}"
    );
    for secret in ["old-pass-123", "new-pass-456"] {
        let shown = format!("{}{}", out.stderr, doc["plan"]);
        assert!(!shown.contains(secret), "{secret} shown: {shown}");
    }
    assert!(
        out.stderr.contains("+      \"image\": \"web:9\","),
        "the diff on stderr: {}",
        out.stderr
    );
    // Nothing registered, nothing updated.
    assert_eq!(revisions(&family, "ACTIVE"), before);
    assert_eq!(
        short(&described(&cluster, "web")["taskDefinition"]),
        short(&json!(arn))
    );
    assert!(doc.get("service").is_none(), "{doc}");
}

/// What was approved is what gets deployed: the service moved after the
/// plan was made (another deploy), so the deploy from the plan's object
/// refuses, naming both revisions, and registers nothing.
#[test]
fn a_deploy_from_a_plan_refuses_when_the_service_moved_since() {
    let (cluster, family, mut td) = deployed();
    td["containerDefinitions"][0]["image"] = json!("web:2");
    let plan = deploy()
        .args(["--cluster", &cluster, "--service", "web", "--plan"])
        .stdin_json(&json!({"taskDefinition": td}))
        .run()
        .success();
    // Someone else deploys in between.
    let mut other = td.clone();
    other["containerDefinitions"][0]["image"] = json!("hotfix:1");
    let moved_to = register(&other);
    moto_ecs(
        "UpdateService",
        &json!({"cluster": cluster, "service": "web", "taskDefinition": moved_to}),
    );
    let before = revisions(&family, "ACTIVE");
    let out = deploy()
        .args(["--cluster", &cluster, "--service", "web"])
        .stdin_json(&plan)
        .run();
    let err = out.failure(1);
    assert!(
        err.contains(&format!(
            "service \"web\" moved since the plan: the plan saw {family}:1"
        )) && err.contains(&format!("it runs {family}:2")),
        "{err}"
    );
    assert_eq!(revisions(&family, "ACTIVE"), before, "nothing registered");
    assert_eq!(
        short(&described(&cluster, "web")["taskDefinition"]),
        format!("{family}:2")
    );
}
