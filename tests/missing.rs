//! Missing things, with the way forward: a family, a cluster or a service
//! that is not there is said with what to do, and an image pulled across
//! regions is one warning at deploy. On moto, which serves ECS in every
//! region and keeps each region's state apart.

use deploy_tests::iam::{self, User};
use deploy_tests::{emulators, moto_call_in, moto_calls, tool, unique, workspace_bin};
use serde_json::{Value, json};

/// The region the tools work in (`Tool::aws` sets it).
const USED: &str = "us-east-1";
/// The region the images come from in the wrong-region cases.
const OTHER: &str = "eu-central-1";

/// A definition whose images are in `region`'s ECR.
fn definition_from(region: &str, images: &[&str]) -> Value {
    let containers: Vec<Value> = images
        .iter()
        .map(|name| {
            json!({
                "name": name,
                "image": format!("123456789012.dkr.ecr.{region}.amazonaws.com/{name}:1"),
                "memory": 128,
                "essential": true,
            })
        })
        .collect();
    json!({"family": unique("missing"), "containerDefinitions": containers})
}

/// The lines of stderr.
fn lines(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| !l.trim().is_empty()).collect()
}

/// The DescribeClusters calls moto received for `cluster` (in any region).
fn describe_clusters_for(cluster: &str) -> usize {
    moto_calls("ecs", "DescribeClusters")
        .iter()
        .filter(|body| {
            body["clusters"]
                .as_array()
                .is_some_and(|c| c.contains(&json!(cluster)))
        })
        .count()
}

/// The way forward: the commands that register a revision from a file,
/// in `region`.
fn assert_register_advice(err: &str, region: &str) {
    assert!(
        err.contains(&format!(
            " from a file: aws ecs register-task-definition --cli-input-json file://task-definition.json --region {region}, or taskdef-render -t task-definition.json | ecs-deploy --region {region}"
        )),
        "{err}"
    );
}

#[test]
fn taskdef_render_says_a_family_does_not_exist_and_how_to_register_its_first_revision() {
    let family = unique("nofamily");
    let out = tool(workspace_bin("taskdef-render"))
        .aws()
        .args(["--family", &family])
        .run();
    let err = out.failure(1);
    assert!(
        err.contains(&format!(
            "taskdef-render: describing task definition {family:?} (ecs:DescribeTaskDefinition): ClientException: Unable to describe task definition.; the family {family:?} does not exist in {USED}; register a first revision from a file: "
        )),
        "{err}"
    );
    assert_register_advice(err, USED);
}

#[test]
fn ecs_run_says_a_family_does_not_exist_and_how_to_register_its_first_revision() {
    let family = unique("nofamily");
    let out = tool(workspace_bin("ecs-run"))
        .aws()
        .args(["--family", &family, "--cluster", "default"])
        .run();
    let err = out.failure(1);
    assert!(
        err.contains(&format!(
            "ClientException: Unable to describe task definition.; the family {family:?} does not exist in {USED}; register a first revision from a file: "
        )),
        "{err}"
    );
    assert_register_advice(err, USED);
    assert!(
        moto_calls("ecs", "RunTask")
            .iter()
            .all(|b| !b.to_string().contains(&family))
    );
}

/// `--family web:3`: the revision may be what is missing, not the family.
#[test]
fn ecs_deploy_says_a_revision_does_not_exist_without_claiming_the_family_does_not() {
    let family = unique("nofamily");
    let out = tool(workspace_bin("ecs-deploy"))
        .aws()
        .args(["--family", &format!("{family}:3")])
        .run();
    let err = out.failure(1);
    assert!(
        err.contains(&format!(
            "; \"{family}:3\" does not exist in {USED}: the family {family:?} has no revision 3 there, or no revision at all; register one from a file: "
        )),
        "{err}"
    );
    assert!(
        !err.contains(&format!("the family {family:?} does not exist")),
        "{err}"
    );
    assert_register_advice(err, USED);
}

/// ecs-deploy of a definition whose image is in `OTHER`'s ECR, to a
/// cluster named `cluster`, working in `USED`.
fn deploy_to(cluster: &str, td: &Value) -> deploy_tests::Tool {
    tool(workspace_bin("ecs-deploy"))
        .aws()
        .args(["--region", USED, "--cluster", cluster, "--service", "web"])
        .stdin_json(&json!({"taskDefinition": td}))
}

#[test]
fn ecs_deploy_names_the_images_region_when_the_cluster_is_only_there() {
    let cluster = unique("elsewhere");
    moto_call_in(
        OTHER,
        "ecs",
        "CreateCluster",
        &json!({"clusterName": cluster}),
    );
    let td = definition_from(OTHER, &["web"]);
    let out = deploy_to(&cluster, &td).run();
    let err = out.failure(1);
    assert_eq!(
        lines(err),
        [format!(
            "ecs-deploy: cluster {cluster:?} was not found in {USED} but exists in {OTHER}: did you mean --region {OTHER}?"
        )],
        "{err}"
    );
    // Nothing was registered in the wrong region.
    let family = td["family"].as_str().unwrap();
    assert!(
        moto_calls("ecs", "RegisterTaskDefinition")
            .iter()
            .all(|b| b["family"] != family)
    );
}

#[test]
fn ecs_deploy_gives_no_region_hint_when_the_cluster_is_nowhere() {
    let cluster = unique("nowhere");
    let td = definition_from(OTHER, &["web"]);
    let out = deploy_to(&cluster, &td).run();
    let err = out.failure(1);
    assert_eq!(
        lines(err),
        [format!(
            "ecs-deploy: cluster {cluster:?} not found in {USED}"
        )],
        "{err}"
    );
    // The other region was asked, once.
    assert_eq!(describe_clusters_for(&cluster), 1);
}

#[test]
fn ecs_deploy_names_the_images_region_when_the_service_is_only_there() {
    // The cluster is in both regions; the service only in the other.
    let cluster = unique("both");
    for region in [USED, OTHER] {
        moto_call_in(
            region,
            "ecs",
            "CreateCluster",
            &json!({"clusterName": cluster}),
        );
    }
    let td = definition_from(OTHER, &["web"]);
    let registered = moto_call_in(OTHER, "ecs", "RegisterTaskDefinition", &td);
    moto_call_in(
        OTHER,
        "ecs",
        "CreateService",
        &json!({"cluster": cluster, "serviceName": "web", "desiredCount": 0,
                "taskDefinition": registered["taskDefinition"]["taskDefinitionArn"]}),
    );
    let out = deploy_to(&cluster, &td).run();
    let err = out.failure(1);
    assert!(
        err.contains(&format!(
            "service \"web\" was not found in cluster {cluster:?} in {USED} but exists in {OTHER}: did you mean --region {OTHER}?"
        )),
        "{err}"
    );
    assert_eq!(lines(err).len(), 1, "{err}");
}

#[test]
fn ecs_run_names_the_images_region_when_the_cluster_is_only_there() {
    let cluster = unique("elsewhere");
    moto_call_in(
        OTHER,
        "ecs",
        "CreateCluster",
        &json!({"clusterName": cluster}),
    );
    let td = definition_from(OTHER, &["job"]);
    let family = td["family"].as_str().unwrap().to_string();
    moto_call_in(USED, "ecs", "RegisterTaskDefinition", &td);
    let out = tool(workspace_bin("ecs-run"))
        .aws()
        .args(["--region", USED, "--family", &family, "--cluster", &cluster])
        .run();
    let err = out.failure(1);
    assert!(err.contains("ClusterNotFoundException"), "{err}");
    assert!(
        err.contains(&format!(
            "; cluster {cluster:?} was not found in {USED} but exists in {OTHER}: did you mean --region {OTHER}?"
        )),
        "{err}"
    );
}

#[test]
fn ecs_deploy_warns_once_per_registry_region_of_an_image_pulled_across_regions() {
    let cluster = unique("pulls");
    moto_call_in(
        USED,
        "ecs",
        "CreateCluster",
        &json!({"clusterName": cluster}),
    );
    // Two images from eu-west-1: one warning for the region.
    let td = definition_from("eu-west-1", &["web", "sidecar"]);
    let registered = moto_call_in(USED, "ecs", "RegisterTaskDefinition", &td);
    moto_call_in(
        USED,
        "ecs",
        "CreateService",
        &json!({"cluster": cluster, "serviceName": "web", "desiredCount": 0,
                "taskDefinition": registered["taskDefinition"]["taskDefinitionArn"]}),
    );
    let out = deploy_to(&cluster, &td).run();
    let doc = out.success();
    assert_eq!(doc["service"]["serviceName"], "web");
    let warnings: Vec<&str> = lines(&out.stderr)
        .into_iter()
        .filter(|l| l.contains("warning"))
        .collect();
    assert_eq!(
        warnings,
        [
            "ecs-deploy: warning: images 123456789012.dkr.ecr.eu-west-1.amazonaws.com/web, 123456789012.dkr.ecr.eu-west-1.amazonaws.com/sidecar pull from eu-west-1 while the service runs in us-east-1: cross-region pulls are slower, cost data transfer and need their own VPC endpoints"
        ],
        "{}",
        out.stderr
    );
}

/// As `user`, on the moto that enforces IAM: ecs-deploy to a cluster that
/// is only in the images' region.
fn deploy_as(user: &User, cluster: &str, td: &Value) -> deploy_tests::Output {
    tool(workspace_bin("ecs-deploy"))
        .aws_as(user)
        .args(["--region", USED, "--cluster", cluster, "--service", "web"])
        .stdin_json(&json!({"taskDefinition": td}))
        .run()
}

#[test]
fn a_refused_look_up_in_the_images_region_costs_only_the_hint() {
    let _ = emulators();
    let cluster = unique("refused");
    iam::admin_call(&[
        "ecs",
        "create-cluster",
        "--cluster-name",
        &cluster,
        "--region",
        OTHER,
    ]);
    let td = definition_from(OTHER, &["web"]);
    let needed = ["ecs:DescribeServices", "ecs:ListClusters"];

    // Allowed, the look-up finds it: the set-up is one that gives the hint.
    let allowed = iam::user_allowed(&[needed.as_slice(), &["ecs:DescribeClusters"]].concat());
    let out = deploy_as(&allowed, &cluster, &td);
    assert!(
        out.failure(1)
            .contains(&format!("did you mean --region {OTHER}?")),
        "{}",
        out.stderr
    );

    // Refused: the same not-found error as with no cluster anywhere, and
    // nothing else.
    let refused = iam::user_allowed(&needed);
    let out = deploy_as(&refused, &cluster, &td);
    let err = out.failure(1);
    assert_eq!(
        lines(err),
        [format!(
            "ecs-deploy: cluster {cluster:?} not found in {USED}"
        )],
        "{err}"
    );
}
