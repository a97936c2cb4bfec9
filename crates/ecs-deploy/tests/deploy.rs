//! ecs-deploy as users run it: the real binary against moto, stdin in, JSON
//! out, exit code and stderr checked, and moto read back to see what
//! happened.

mod common;

use common::{
    definition, deploy, deployed, described, fixture, fixture_with_family, register, revisions,
    service, short,
};
use deploy_tests::{assert_json_file, leaves, moto_calls, moto_ecs, unique};
use serde_json::{Value, json};

fn stdin_td(td: &Value) -> Value {
    json!({"taskDefinition": td})
}

#[test]
fn register_keeps_every_field_including_recent_ones_and_tags() {
    let td = definition();
    let out = deploy().stdin_json(&stdin_td(&td)).run();
    let doc = out.success();
    let arn = doc["taskDefinition"]["taskDefinitionArn"].as_str().unwrap();
    let back = moto_ecs(
        "DescribeTaskDefinition",
        &json!({"taskDefinition": arn, "include": ["TAGS"]}),
    );
    let mut registered = back["taskDefinition"].clone();
    registered["tags"] = back["tags"].clone();
    let got: Vec<(String, Value)> = leaves(&registered)
        .into_iter()
        .filter(|(path, _)| {
            let top = path.split(['.', '[']).next().unwrap();
            ![
                "taskDefinitionArn",
                "revision",
                "status",
                "requiresAttributes",
                "compatibilities",
                "registeredAt",
                "registeredBy",
            ]
            .contains(&top)
        })
        .collect();
    // The input's every leaf (`leaves` lists no empty string on either
    // side: the empty environment value is checked below), but for
    // enableFaultInjection, which moto does not store (the request body
    // test shows it is sent).
    for (path, value) in leaves(&td) {
        if path == "enableFaultInjection" {
            continue;
        }
        assert!(
            got.contains(&(path.clone(), value.clone())),
            "{path} = {value} lost on the way; moto holds:\n{got:#?}"
        );
    }
    for recent in [
        "runtimePlatform.cpuArchitecture",
        "ephemeralStorage.sizeInGiB",
        "enableFaultInjection",
        "containerDefinitions[0].restartPolicy.restartAttemptPeriod",
        "containerDefinitions[0].portMappings[0].appProtocol",
        "containerDefinitions[0].portMappings[0].name",
        "containerDefinitions[0].versionConsistency",
        "tags[1].value",
    ] {
        assert!(
            leaves(&td).iter().any(|(p, _)| p == recent),
            "the fixture lacks {recent}"
        );
    }
    assert_eq!(
        registered["containerDefinitions"][0]["environment"][0],
        json!({"name": "EMPTY", "value": ""})
    );
    assert_eq!(doc["taskDefinition"]["revision"], 1);
    assert!(out.stderr.contains("registered "), "{}", out.stderr);
}

#[test]
fn the_request_body_is_the_definition_itself() {
    let td = definition();
    deploy().stdin_json(&stdin_td(&td)).run().success();
    let family = td["family"].as_str().unwrap();
    let sent: Vec<Value> = moto_calls("ecs", "RegisterTaskDefinition")
        .into_iter()
        .filter(|b| b["family"] == family)
        .collect();
    assert_eq!(sent, [td]);
}

#[test]
fn update_points_the_service_at_the_new_revision() {
    let (cluster, family, mut td) = deployed();
    td["containerDefinitions"][0]["image"] = json!("web:2");
    let out = deploy()
        .args(["--cluster", &cluster, "--service", "web"])
        .stdin_json(&json!({"run": 42, "taskDefinition": td}))
        .run();
    let doc = out.success();
    let keys: Vec<&String> = doc.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["run", "taskDefinition", "service"]);
    assert_eq!(
        short(&doc["taskDefinition"]["taskDefinitionArn"]),
        format!("{family}:2")
    );
    assert_eq!(
        short(&doc["service"]["taskDefinition"]),
        format!("{family}:2")
    );
    assert_eq!(
        short(&described(&cluster, "web")["taskDefinition"]),
        format!("{family}:2")
    );
    assert_eq!(doc["service"]["serviceName"], "web");
    assert!(
        out.stderr.contains(&format!(
            "https://us-east-1.console.aws.amazon.com/ecs/v2/clusters/{cluster}/services/web/deployments?region=us-east-1"
        )),
        "{}",
        out.stderr
    );
}

#[test]
fn force_new_deployment_is_asked_for() {
    let (cluster, _, td) = deployed();
    deploy()
        .args([
            "--cluster",
            &cluster,
            "--service",
            "web",
            "--force-new-deployment",
        ])
        .stdin_json(&stdin_td(&td))
        .run()
        .success();
    let sent: Vec<Value> = moto_calls("ecs", "UpdateService")
        .into_iter()
        .filter(|b| b["cluster"] == cluster.as_str())
        .collect();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["forceNewDeployment"], true);
}

#[test]
fn desired_count_is_set() {
    let (cluster, _, td) = deployed();
    let doc = deploy()
        .args([
            "--cluster",
            &cluster,
            "--service",
            "web",
            "--desired-count",
            "3",
        ])
        .stdin_json(&stdin_td(&td))
        .run()
        .success();
    assert_eq!(doc["service"]["desiredCount"], 3);
    assert_eq!(described(&cluster, "web")["desiredCount"], 3);
}

#[test]
fn managed_tags_and_tag_propagation_are_sent() {
    let (cluster, _, td) = deployed();
    deploy()
        .args([
            "--cluster",
            &cluster,
            "--service",
            "web",
            "--enable-ecs-managed-tags",
            "--propagate-tags",
            "TASK_DEFINITION",
        ])
        .stdin_json(&stdin_td(&td))
        .run()
        .success();
    let sent: Vec<Value> = moto_calls("ecs", "UpdateService")
        .into_iter()
        .filter(|b| b["cluster"] == cluster.as_str())
        .collect();
    assert_eq!(sent[0]["enableECSManagedTags"], true);
    assert_eq!(sent[0]["propagateTags"], "TASK_DEFINITION");
}

#[test]
fn several_services_get_one_revision_each_reported() {
    let (cluster, family, td) = deployed();
    service(&cluster, "worker", &format!("{family}:1"));
    let doc = deploy()
        .args([
            "--cluster",
            &cluster,
            "--service",
            "web",
            "--service",
            "worker",
        ])
        .stdin_json(&stdin_td(&td))
        .run()
        .success();
    let services = doc["services"].as_array().unwrap();
    let names: Vec<&Value> = services.iter().map(|s| &s["serviceName"]).collect();
    assert_eq!(names, ["web", "worker"]);
    for s in services {
        assert_eq!(short(&s["taskDefinition"]), format!("{family}:2"));
    }
    assert!(doc.get("service").is_none());
    assert_eq!(
        revisions(&family, "ACTIVE").len(),
        2,
        "one revision for both"
    );
}

#[test]
fn one_missing_service_of_two_still_updates_the_other_and_fails() {
    let (cluster, family, td) = deployed();
    let out = deploy()
        .args([
            "--cluster",
            &cluster,
            "--service",
            "web",
            "--service",
            "wbe-missing",
        ])
        .stdin_json(&stdin_td(&td))
        .run();
    let doc = out.failure_report(1);
    assert_eq!(
        short(&doc["services"][0]["taskDefinition"]),
        format!("{family}:2")
    );
    assert_eq!(doc["services"][1]["serviceName"], "wbe-missing");
    let reason = doc["services"][1]["error"]["message"].as_str().unwrap();
    assert!(
        reason.contains("service \"wbe-missing\" not found in cluster"),
        "{reason}"
    );
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap()
            .contains("1 of 2 services not updated")
    );
    assert_eq!(
        short(&described(&cluster, "web")["taskDefinition"]),
        format!("{family}:2")
    );
}

#[test]
fn a_missing_service_names_close_matches_and_registers_nothing() {
    let (cluster, family, td) = deployed();
    let out = deploy()
        .args(["--cluster", &cluster, "--service", "wbe"])
        .stdin_json(&stdin_td(&td))
        .run();
    let err = out.failure(1);
    assert!(
        err.contains(&format!(
            "service \"wbe\" not found in cluster \"{cluster}\""
        )),
        "{err}"
    );
    assert!(err.contains("close matches: \"web\""), "{err}");
    assert_eq!(revisions(&family, "ACTIVE"), [format!("{family}:1")]);
}

#[test]
fn a_missing_cluster_is_named() {
    let td = definition();
    let out = deploy()
        .args(["--cluster", &unique("nocluster"), "--service", "web"])
        .stdin_json(&stdin_td(&td))
        .run();
    let err = out.failure(1);
    assert!(err.contains("cluster \"nocluster-"), "{err}");
    assert!(err.contains("not found"), "{err}");
    assert!(revisions(td["family"].as_str().unwrap(), "ACTIVE").is_empty());
}

/// moto's DeleteService goes straight to INACTIVE (it never shows DRAINING).
#[test]
fn an_inactive_service_is_refused() {
    let (cluster, family, td) = deployed();
    moto_ecs(
        "DeleteService",
        &json!({"cluster": cluster, "service": "web", "force": true}),
    );
    let out = deploy()
        .args(["--cluster", &cluster, "--service", "web"])
        .stdin_json(&stdin_td(&td))
        .run();
    let err = out.failure(1);
    assert!(err.contains("service \"web\" in cluster"), "{err}");
    assert!(err.contains("is INACTIVE"), "{err}");
    assert_eq!(revisions(&family, "ACTIVE").len(), 1, "nothing registered");
}

#[test]
fn skip_unchanged_registers_nothing_when_the_service_runs_the_same() {
    let (cluster, family, td) = deployed();
    // Written in another order: the same definition all the same.
    let mut reordered = td.clone();
    let env = reordered["containerDefinitions"][0]["environment"]
        .as_array_mut()
        .unwrap();
    env.reverse();
    let out = deploy()
        .args([
            "--cluster",
            &cluster,
            "--service",
            "web",
            "--skip-unchanged",
        ])
        .stdin_json(&stdin_td(&reordered))
        .run();
    let doc = out.success();
    assert_eq!(revisions(&family, "ACTIVE"), [format!("{family}:1")]);
    assert_eq!(
        short(&doc["taskDefinition"]["taskDefinitionArn"]),
        format!("{family}:1")
    );
    assert!(out.stderr.contains("nothing registered"), "{}", out.stderr);
}

#[test]
fn skip_unchanged_registers_a_changed_definition() {
    let (cluster, family, mut td) = deployed();
    td["containerDefinitions"][0]["image"] = json!("web:changed");
    deploy()
        .args([
            "--cluster",
            &cluster,
            "--service",
            "web",
            "--skip-unchanged",
        ])
        .stdin_json(&stdin_td(&td))
        .run()
        .success();
    assert_eq!(revisions(&family, "ACTIVE").len(), 2);
}

#[test]
fn its_own_output_piped_in_again_registers_nothing() {
    let (cluster, family, td) = deployed();
    let first = deploy()
        .args(["--cluster", &cluster, "--service", "web"])
        .stdin_json(&stdin_td(&td))
        .run()
        .success();
    let out = deploy()
        .args(["--cluster", &cluster, "--service", "web"])
        .stdin_json(&first)
        .run();
    let doc = out.success();
    assert_eq!(revisions(&family, "ACTIVE").len(), 2, "{}", out.stderr);
    assert_eq!(
        short(&doc["service"]["taskDefinition"]),
        format!("{family}:2")
    );
}

#[test]
fn an_edited_describe_output_registers_a_new_revision() {
    let (cluster, family, _) = deployed();
    let mut described = moto_ecs(
        "DescribeTaskDefinition",
        &json!({"taskDefinition": format!("{family}:1"), "include": ["TAGS"]}),
    );
    described["taskDefinition"]["containerDefinitions"][0]["image"] = json!("web:edited");
    let doc = deploy()
        .args(["--cluster", &cluster, "--service", "web"])
        .stdin_json(&described)
        .run()
        .success();
    assert_eq!(
        short(&doc["taskDefinition"]["taskDefinitionArn"]),
        format!("{family}:2")
    );
    assert_eq!(
        doc["taskDefinition"]["containerDefinitions"][0]["image"],
        "web:edited"
    );
    assert_eq!(
        doc["taskDefinition"]["tags"], described["tags"],
        "tags kept"
    );
}

#[test]
fn family_deploys_that_revision_and_registers_nothing() {
    let (cluster, family, mut td) = deployed();
    td["containerDefinitions"][0]["image"] = json!("web:2");
    register(&td);
    let doc = deploy()
        .args([
            "--cluster",
            &cluster,
            "--service",
            "web",
            "--family",
            &format!("{family}:1"),
        ])
        .run()
        .success();
    assert_eq!(
        short(&doc["service"]["taskDefinition"]),
        format!("{family}:1")
    );
    assert_eq!(
        short(&doc["taskDefinition"]["taskDefinitionArn"]),
        format!("{family}:1")
    );
    assert_eq!(revisions(&family, "ACTIVE").len(), 2);
}

/// Revisions 1-4 exist and web runs 1; the update registers 5. Keeping 2:
/// 4 and 5 stay, 1-3 go (web's deployment now runs 5; a revision that a
/// draining deployment still runs is spared: tests/mocked.rs, since moto
/// replaces the deployment at once).
#[test]
fn keep_revisions_deregisters_older_ones() {
    let (cluster, family, td) = deployed();
    for _ in 0..3 {
        register(&td);
    }
    let mut changed = td.clone();
    changed["containerDefinitions"][0]["image"] = json!("web:5");
    let out = deploy()
        .args([
            "--cluster",
            &cluster,
            "--service",
            "web",
            "--keep-revisions",
            "2",
        ])
        .stdin_json(&stdin_td(&changed))
        .run();
    out.success();
    assert_eq!(
        revisions(&family, "INACTIVE"),
        [
            format!("{family}:1"),
            format!("{family}:2"),
            format!("{family}:3")
        ],
        "{}",
        out.stderr
    );
    assert_eq!(
        revisions(&family, "ACTIVE"),
        [format!("{family}:4"), format!("{family}:5")]
    );
}

#[test]
fn rollback_goes_back_to_the_previous_revision() {
    let (cluster, family, mut td) = deployed();
    td["containerDefinitions"][0]["image"] = json!("web:2");
    deploy()
        .args(["--cluster", &cluster, "--service", "web"])
        .stdin_json(&stdin_td(&td))
        .run()
        .success();
    let doc = deploy()
        .args(["--rollback", "--cluster", &cluster, "--service", "web"])
        .run()
        .success();
    assert_eq!(
        short(&doc["service"]["taskDefinition"]),
        format!("{family}:1")
    );
    assert_eq!(short(&doc["rollback"]["from"]), format!("{family}:2"));
    assert_eq!(short(&doc["rollback"]["to"]), format!("{family}:1"));
    assert_eq!(doc["rollback"]["method"], "update");
    assert_eq!(
        short(&doc["taskDefinition"]["taskDefinitionArn"]),
        format!("{family}:1")
    );
    assert_eq!(
        short(&described(&cluster, "web")["taskDefinition"]),
        format!("{family}:1")
    );
}

#[test]
fn rollback_to_revision_goes_to_that_one() {
    let (cluster, family, td) = deployed();
    register(&td);
    register(&td);
    deploy()
        .args([
            "--cluster",
            &cluster,
            "--service",
            "web",
            "--family",
            &format!("{family}:3"),
        ])
        .run()
        .success();
    let doc = deploy()
        .args([
            "--rollback",
            "--to-revision",
            "1",
            "--cluster",
            &cluster,
            "--service",
            "web",
        ])
        .run()
        .success();
    assert_eq!(
        short(&doc["service"]["taskDefinition"]),
        format!("{family}:1")
    );
    assert_eq!(short(&doc["rollback"]["from"]), format!("{family}:3"));
}

#[test]
fn the_deploy_actions_cleaning_cases_as_fixture() {
    let family = unique("clean");
    let input = fixture_with_family("deploy-action-cleaning.in.json", &family);
    let out = deploy().stdin_json(&input).run();
    out.success();
    let sent: Vec<Value> = moto_calls("ecs", "RegisterTaskDefinition")
        .into_iter()
        .filter(|b| b["family"] == family.as_str())
        .collect();
    assert_eq!(sent.len(), 1);
    let mut sent = sent[0].clone();
    sent["family"] = json!("FAMILY");
    assert_json_file(&sent, fixture("deploy-action-cleaning.out.json"));
    for field in [
        "taskDefinitionArn",
        "revision",
        "status",
        "compatibilities",
        "requiresAttributes",
        "registeredAt",
        "registeredBy",
    ] {
        assert!(
            out.stderr
                .contains(&format!("warning: removed the read-only field \"{field}\"")),
            "no warning for {field}:\n{}",
            out.stderr
        );
    }
}

// Bad input: exit 2, nothing printed, nothing sent.

#[test]
fn malformed_json_is_a_usage_error() {
    let out = deploy().stdin("{\"taskDefinition\": {").run();
    assert!(
        out.failure(2).contains("stdin: not valid JSON"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_definition_without_containers_is_refused() {
    let family = unique("empty");
    let out = deploy()
        .stdin_json(&stdin_td(
            &json!({"family": family, "containerDefinitions": []}),
        ))
        .run();
    let err = out.failure(2);
    assert!(err.contains("\"containerDefinitions\""), "{err}");
    assert!(revisions(&family, "ACTIVE").is_empty());
}

#[test]
fn an_unknown_field_is_refused_naming_its_path_and_nothing_is_registered() {
    let mut td = definition();
    td["containerDefinitions"][0]["healthCheck"]["startPeriodSecs"] = json!(5);
    let out = deploy().stdin_json(&stdin_td(&td)).run();
    let err = out.failure(2);
    assert!(
        err.contains(
            "containerDefinitions[0].healthCheck.startPeriodSecs (container \"web\"): not a field"
        ),
        "{err}"
    );
    assert!(err.contains("--allow-unknown-fields"), "{err}");
    assert!(revisions(td["family"].as_str().unwrap(), "ACTIVE").is_empty());
}

#[test]
fn allow_unknown_fields_sends_them_as_they_are() {
    let mut td = definition();
    td["someFutureField"] = json!({"on": true});
    deploy()
        .args(["--allow-unknown-fields"])
        .stdin_json(&stdin_td(&td))
        .run()
        .success();
    let sent: Vec<Value> = moto_calls("ecs", "RegisterTaskDefinition")
        .into_iter()
        .filter(|b| b["family"] == td["family"])
        .collect();
    assert_eq!(sent[0]["someFutureField"], json!({"on": true}));
}

#[test]
fn an_unknown_flag_value_is_a_usage_error() {
    let out = deploy()
        .args(["--propagate-tags", "EVERYTHING", "--service", "web"])
        .run();
    assert!(out.failure(2).starts_with("ecs-deploy: "), "{}", out.stderr);
}

#[test]
fn no_task_definition_is_a_usage_error() {
    let out = deploy().args(["--service", "web"]).run();
    assert!(
        out.failure(2).contains("no task definition"),
        "{}",
        out.stderr
    );
}

#[test]
fn an_upstream_failure_deploys_nothing() {
    let td = definition();
    let input = json!({"taskDefinition": td, "error": {"tool": "ecs-run", "message": "migration failed", "exitCode": 1}});
    let out = deploy().stdin_json(&input).run();
    assert_eq!(out.code, 1);
    assert_eq!(out.json(), input);
    assert!(revisions(td["family"].as_str().unwrap(), "ACTIVE").is_empty());
}

#[test]
fn a_definition_file_bare_or_wrapped() {
    let dir = tempfile::tempdir().unwrap();
    let td = definition();
    let bare = dir.path().join("bare.json");
    std::fs::write(&bare, serde_json::to_vec(&td).unwrap()).unwrap();
    let wrapped = dir.path().join("wrapped.json");
    std::fs::write(&wrapped, serde_json::to_vec(&stdin_td(&td)).unwrap()).unwrap();
    for file in [&bare, &wrapped] {
        deploy()
            .args(["--task-definition", file.to_str().unwrap()])
            .run()
            .success();
    }
    assert_eq!(revisions(td["family"].as_str().unwrap(), "ACTIVE").len(), 2);
}

/// An ARN in the old format (service/NAME, no cluster) names the service
/// that DescribeServices returns with the new one.
#[test]
fn a_service_named_by_its_old_format_arn_is_found() {
    let (cluster, family, mut td) = deployed();
    td["containerDefinitions"][0]["image"] = json!("web:old-arn");
    let old = "arn:aws:ecs:us-east-1:123456789012:service/web";
    let out = deploy()
        .args(["--cluster", &cluster, "--service", old])
        .stdin_json(&stdin_td(&td))
        .run();
    let doc = out.success();
    assert_eq!(
        short(&doc["service"]["taskDefinition"]),
        format!("{family}:2")
    );
}

#[test]
fn rollback_with_keep_revisions_is_a_usage_error() {
    let out = deploy()
        .args(["--rollback", "--cluster", "c", "--service", "web"])
        .args(["--keep-revisions", "3"])
        .run();
    assert!(
        out.failure(2).contains("--keep-revisions"),
        "{}",
        out.stderr
    );
}

#[test]
fn wait_waits_for_the_rollout_with_ecs_wait_s_report() {
    let (cluster, _, td) = deployed();
    let out = deploy()
        .args([
            "--cluster",
            &cluster,
            "--service",
            "web",
            "--wait",
            "--timeout",
            "1m",
        ])
        .stdin_json(&stdin_td(&td))
        .run();
    let doc = out.success();
    let keys: Vec<&String> = doc.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["taskDefinition", "service", "wait"]);
    assert_eq!(doc["wait"]["status"], "deployed");
    assert_eq!(doc["wait"]["source"], "rolloutState");
    assert_eq!(doc["wait"]["service"], doc["service"]["serviceArn"]);
}

#[test]
fn wait_flags_without_wait_are_a_usage_error() {
    let out = deploy()
        .args([
            "-t",
            "td.json",
            "--cluster",
            "c",
            "--service",
            "web",
            "--timeout",
            "5m",
        ])
        .run();
    assert!(
        out.failure(2)
            .contains("--timeout is about the wait: give --wait too"),
        "{}",
        out.stderr
    );
}

#[test]
fn wait_without_a_service_is_a_usage_error() {
    let out = deploy().args(["-t", "td.json", "--wait"]).run();
    assert!(
        out.failure(2)
            .contains("--wait waits for a service's rollout")
    );
}

/// A `rollback` left by an earlier step (ecs-deploy --rollback | ecs-wait |
/// ecs-deploy ...) is not this deploy's: dropped, so ecs-wait does not
/// take this rollout for that rollback.
#[test]
fn an_earlier_rollback_report_is_dropped_by_a_new_deploy() {
    let (cluster, family, _) = deployed();
    let out = deploy()
        .args(["--family", &format!("{family}:1")])
        .args(["--cluster", &cluster, "--service", "web"])
        .stdin_json(
            &json!({"rollback": {"from": "a", "to": "b", "method": "stopServiceDeployment",
            "serviceDeployment": "arn:aws:ecs:us-east-1:123456789012:service-deployment/c/web/x"}}),
        )
        .run();
    let doc = out.success();
    assert!(doc.get("rollback").is_none(), "{doc}");
    assert!(
        out.stderr.contains("dropped the earlier step's"),
        "{}",
        out.stderr
    );
}

/// `aws ecs describe-task-definition --region eu-west-1 | ecs-deploy` under
/// `AWS_REGION=us-east-1`, with the same cluster and service in both: the
/// definition's ARN says eu-west-1, so it is registered and deployed there,
/// and the us-east-1 service is left alone.
#[test]
fn a_definition_piped_in_from_another_region_is_deployed_in_its_region() {
    use deploy_tests::moto_call_in;
    let cluster = unique("regions");
    let family = unique("regions");
    let mut td = definition();
    td["family"] = json!(family);
    for region in ["eu-west-1", "us-east-1"] {
        moto_call_in(
            region,
            "ecs",
            "CreateCluster",
            &json!({"clusterName": cluster}),
        );
        moto_call_in(region, "ecs", "RegisterTaskDefinition", &td);
        moto_call_in(
            region,
            "ecs",
            "CreateService",
            &json!({"cluster": cluster, "serviceName": "web", "taskDefinition": family, "desiredCount": 1}),
        );
    }
    let mut there = moto_call_in(
        "eu-west-1",
        "ecs",
        "DescribeTaskDefinition",
        &json!({"taskDefinition": family}),
    );
    there["taskDefinition"]["containerDefinitions"][0]["image"] = json!("r.example/web:2");
    let out = deploy()
        .env("AWS_REGION", "us-east-1")
        .args(["--cluster", &cluster, "--service", "web"])
        .stdin_json(&there)
        .run();
    let doc = out.success();
    let arn = doc["taskDefinition"]["taskDefinitionArn"].as_str().unwrap();
    assert!(arn.contains(":eu-west-1:") && arn.ends_with(":2"), "{arn}");
    let running = |region: &str| {
        moto_call_in(
            region,
            "ecs",
            "DescribeServices",
            &json!({"cluster": cluster, "services": ["web"]}),
        )["services"][0]["taskDefinition"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(running("eu-west-1").ends_with(&format!("{family}:2")));
    assert!(running("us-east-1").ends_with(&format!("{family}:1")));
}
