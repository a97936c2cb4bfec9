//! The ECS calls more than one tool makes, each keeping the JSON ECS sent
//! (every field, even one newer than this SDK build), and ECS errors turned
//! into one line that says what was being done, which API action, and what
//! AWS answered.
//!
//! Registering sends the definition's own JSON: the SDK input types cannot
//! be built from JSON without a converter for every struct, and a converter
//! drops what it does not know. So the call is built with its two required
//! members, then `mutate_request` replaces the body (before signing, so the
//! signature covers it) and sets `Content-Length` to match. The field names
//! are checked against the SDK's model first ([`ready_to_register`]): an
//! unknown one is exit 2 naming its path, unless the tool lets it through.

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{ContainerDefinition, TaskDefinitionField};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use serde_json::{Value, json};

use crate::aws::{self, CaptureBody, describe};
use crate::ecs::check::check;
use crate::ecs::model::{Found, check_task_definition};
use crate::error::{Error, Result};

/// The checks a cleaned definition passes before it is sent: the model's
/// types (a value with one reading converted, anything else exit 2), field
/// names (unknown: exit 2 naming each path, or with `allow_unknown` sent as
/// they are), and what RegisterTaskDefinition requires (a family, named
/// containers with images, ...). Returns the warnings to show.
pub fn ready_to_register(td: &mut Value, allow_unknown: bool) -> Result<Vec<String>> {
    let mut warnings = Vec::new();
    let mut refused = Vec::new();
    for finding in check_task_definition(td) {
        let at = finding.path.describe(td);
        match finding.found {
            Found::Converted { .. } => warnings.push(finding.message(td)),
            Found::WrongType { .. } => refused.push(finding.message(td)),
            Found::Unknown if allow_unknown => warnings.push(format!(
                "{at}: not a field of the ECS API that this build knows (aws-sdk-ecs model); sent as it is (--allow-unknown-fields)"
            )),
            Found::Unknown => refused.push(format!(
                "{at}: not a field of the ECS API that this build knows (aws-sdk-ecs model); check its spelling, or pass --allow-unknown-fields to send it as it is"
            )),
        }
    }
    check(td, None, refused)?;
    Ok(warnings)
}

/// RegisterTaskDefinition with `td` (checked by [`ready_to_register`]) as
/// the request body, byte for byte. Returns ECS's answer as it sent it:
/// `{"taskDefinition": {...}, "tags": [...]}`.
pub async fn register(client: &Client, td: &Value) -> Result<Value> {
    let family = td["family"].as_str().unwrap_or_default().to_string();
    let body = serde_json::to_vec(td)
        .map_err(|e| Error::failed(format!("serialising task definition {family:?}: {e}")))?;
    let capture = CaptureBody::default();
    client
        .register_task_definition()
        // The required members, so the SDK's own checks pass; the body
        // below replaces what they serialise to.
        .family(&family)
        .container_definitions(ContainerDefinition::builder().build())
        .customize()
        .mutate_request(move |request| {
            let length = body.len();
            *request.body_mut() = SdkBody::from(body.clone());
            request
                .headers_mut()
                .insert("Content-Length", length.to_string());
        })
        .interceptor(capture.clone())
        .send()
        .await
        .map_err(|e| {
            call_error(
                "RegisterTaskDefinition",
                format!("registering task definition {family:?}"),
                e,
            )
        })?;
    capture.json("RegisterTaskDefinition")
}

/// DescribeTaskDefinition with its tags, as ECS sent it:
/// `{"taskDefinition": {...}, "tags": [...]}`.
pub async fn describe_task_definition(client: &Client, name: &str) -> Result<Value> {
    let capture = CaptureBody::default();
    client
        .describe_task_definition()
        .task_definition(name)
        .include(TaskDefinitionField::Tags)
        .customize()
        .interceptor(capture.clone())
        .send()
        .await
        .map_err(|e| {
            let missing = no_such_task_definition(&e);
            let e = call_error(
                "DescribeTaskDefinition",
                format!("describing task definition {name:?}"),
                e,
            );
            match client.config().region() {
                Some(region) if missing => {
                    e.reworded(|m| format!("{m}; {}", first_revision(name, region.as_ref())))
                }
                _ => e,
            }
        })?;
    capture.json("DescribeTaskDefinition")
}

/// ECS's answer for a family (or a revision of it) that does not exist:
/// `ClientException: Unable to describe task definition.`, which names
/// neither.
fn no_such_task_definition<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> bool {
    err.code() == Some("ClientException")
        && err
            .message()
            .is_some_and(|m| m.contains("Unable to describe task definition"))
}

/// What ECS's "Unable to describe task definition" means, said with the
/// way forward: the family (or the revision) is not in `region`, and the
/// commands that register a first revision from a file there.
fn first_revision(name: &str, region: &str) -> String {
    let family_and_revision = name_of(name);
    let (what, one) = match family_and_revision.split_once(':') {
        None => (
            format!("the family {family_and_revision:?} does not exist in {region}"),
            "a first revision",
        ),
        Some((family, revision)) => (
            format!(
                "{family_and_revision:?} does not exist in {region}: the family {family:?} has no revision {revision} there, or no revision at all"
            ),
            "one",
        ),
    };
    format!(
        "{what}; register {one} from a file: aws ecs register-task-definition --cli-input-json file://task-definition.json --region {region}, or taskdef-render -t task-definition.json | ecs-deploy --region {region} (with --cluster and --service, it deploys it too)"
    )
}

/// The registered definition as one object, with the tags ECS sends beside
/// it moved inside (where RegisterTaskDefinition takes them), so that
/// registering it again keeps them.
pub fn with_tags(answer: &Value) -> Value {
    let mut td = answer["taskDefinition"].clone();
    if let (Some(map), Some(tags)) = (td.as_object_mut(), answer["tags"].as_array())
        && !tags.is_empty()
    {
        map.insert("tags".to_string(), Value::Array(tags.clone()));
    }
    td
}

/// DescribeServices for `names` in `cluster` (ten a call, as ECS allows), as
/// ECS sent it, merged: `{"services": [...], "failures": [...]}`.
pub async fn describe_services(client: &Client, cluster: &str, names: &[String]) -> Result<Value> {
    let mut services = Vec::new();
    let mut failures = Vec::new();
    for chunk in names.chunks(10) {
        let capture = CaptureBody::default();
        client
            .describe_services()
            .cluster(cluster)
            .set_services(Some(chunk.to_vec()))
            .customize()
            .interceptor(capture.clone())
            .send()
            .await
            .map_err(|e| {
                call_error(
                    "DescribeServices",
                    format!("describing services in cluster {cluster:?}"),
                    e,
                )
            })?;
        let answer = capture.json("DescribeServices")?;
        services.extend(answer["services"].as_array().cloned().unwrap_or_default());
        failures.extend(answer["failures"].as_array().cloned().unwrap_or_default());
    }
    Ok(json!({"services": services, "failures": failures}))
}

/// DescribeServiceDeployments for `arns` (twenty a call, as ECS allows), as
/// ECS sent it, merged: `{"serviceDeployments": [...], "failures": [...]}`.
/// A refusal is [`Error::is_denied`]: the permission is often missing from
/// CI roles written for the classic waiter, and callers can do without.
pub async fn describe_service_deployments(client: &Client, arns: &[String]) -> Result<Value> {
    let mut deployments = Vec::new();
    let mut failures = Vec::new();
    for chunk in arns.chunks(20) {
        let capture = CaptureBody::default();
        client
            .describe_service_deployments()
            .set_service_deployment_arns(Some(chunk.to_vec()))
            .customize()
            .interceptor(capture.clone())
            .send()
            .await
            .map_err(|e| {
                let doing = match chunk {
                    [one] => format!("describing service deployment {one}"),
                    _ => "describing service deployments".to_string(),
                };
                call_error("DescribeServiceDeployments", doing, e)
            })?;
        let answer = capture.json("DescribeServiceDeployments")?;
        deployments.extend(
            answer["serviceDeployments"]
                .as_array()
                .cloned()
                .unwrap_or_default(),
        );
        failures.extend(answer["failures"].as_array().cloned().unwrap_or_default());
    }
    Ok(json!({"serviceDeployments": deployments, "failures": failures}))
}

/// DescribeTasks for `arns` in `cluster` (a hundred a call, as ECS allows),
/// as ECS sent it, merged: `{"tasks": [...], "failures": [...]}`. `doing`
/// says what for, in an error.
pub async fn describe_tasks(
    client: &Client,
    cluster: &str,
    arns: &[String],
    doing: &str,
) -> Result<Value> {
    let mut tasks = Vec::new();
    let mut failures = Vec::new();
    for chunk in arns.chunks(100) {
        let capture = CaptureBody::default();
        client
            .describe_tasks()
            .cluster(cluster)
            .set_tasks(Some(chunk.to_vec()))
            .customize()
            .interceptor(capture.clone())
            .send()
            .await
            .map_err(|e| call_error("DescribeTasks", doing, e))?;
        let answer = capture.json("DescribeTasks")?;
        tasks.extend(answer["tasks"].as_array().cloned().unwrap_or_default());
        failures.extend(answer["failures"].as_array().cloned().unwrap_or_default());
    }
    Ok(json!({"tasks": tasks, "failures": failures}))
}

/// An ECS error as one line: what was being done, the API action (so that
/// an IAM policy can be fixed from the message), and AWS's own words
/// (`AccessDeniedException: User: ... is not authorized to perform: ...`),
/// with a hint for the answers that have a known fix. Exit 1.
pub fn call_error<E>(
    action: &str,
    doing: impl std::fmt::Display,
    err: SdkError<E, HttpResponse>,
) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let said = describe(&err);
    let denied = aws::is_denied(&err);
    let hint = match err.code() {
        Some("ThrottlingException") => {
            "; ECS kept throttling after the SDK's retries (AWS_MAX_ATTEMPTS raises them)"
        }
        _ => "",
    };
    let said = if denied {
        format!(
            "{said}{}",
            aws::denied_advice(&said, Some(&format!("ecs:{action}")))
        )
    } else {
        said
    };
    let e = Error::failed(format!("{doing} (ecs:{action}): {said}{hint}"));
    if aws::is_transient(&err) {
        e.transient()
    } else if denied {
        e.denied()
    } else {
        e
    }
}

/// The ECS console's page of a service's deployments, in the region's
/// partition: `aws`, `aws-cn` (China) or `aws-us-gov` (GovCloud).
pub fn console_url(region: &str, cluster: &str, service: &str) -> String {
    let host = if region.starts_with("cn-") {
        format!("{region}.console.amazonaws.cn")
    } else if region.starts_with("us-gov-") {
        "console.amazonaws-us-gov.com".to_string()
    } else {
        format!("{region}.console.aws.amazon.com")
    };
    let (cluster, service) = (path_segment(cluster), path_segment(service));
    format!(
        "https://{host}/ecs/v2/clusters/{cluster}/services/{service}/deployments?region={region}"
    )
}

/// A name made safe for a URL's path, and so for the terminal that shows
/// the link: every byte but ECS's name characters (letters, digits, `-`,
/// `_`) percent-encoded. A name read from stdin may hold anything.
fn path_segment(name: &str) -> String {
    name.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The name at the end of an ARN (`arn:...:cluster/prod` → `prod`), or the
/// text itself when it is no ARN.
pub fn name_of(arn_or_name: &str) -> &str {
    if arn_or_name.starts_with("arn:") {
        arn_or_name.rsplit('/').next().unwrap_or(arn_or_name)
    } else {
        arn_or_name
    }
}

/// What is wrong with a task definition reference (`web`, `web:12` or a
/// task definition ARN), if anything: the caller names its flag.
pub fn task_definition_ref_problem(name: &str) -> Option<&'static str> {
    if name.starts_with("arn:") {
        return (!name.contains(":task-definition/"))
            .then_some("not a task definition ARN (arn:...:task-definition/FAMILY:REVISION)");
    }
    let (family, revision) = match name.split_once(':') {
        Some((family, rev)) => (family, Some(rev)),
        None => (name, None),
    };
    let family_ok = !family.is_empty()
        && family.len() <= 255
        && family
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    let rev_ok = revision.is_none_or(|r| !r.is_empty() && r.chars().all(|c| c.is_ascii_digit()));
    (!family_ok || !rev_ok).then_some(
        "expected FAMILY or FAMILY:REVISION (letters, digits, - and _; a numeric revision) or a task definition ARN",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_links_follow_the_partition() {
        assert_eq!(
            console_url("eu-west-1", "prod", "web"),
            "https://eu-west-1.console.aws.amazon.com/ecs/v2/clusters/prod/services/web/deployments?region=eu-west-1"
        );
        assert_eq!(
            console_url("cn-north-1", "prod", "web"),
            "https://cn-north-1.console.amazonaws.cn/ecs/v2/clusters/prod/services/web/deployments?region=cn-north-1"
        );
        assert_eq!(
            console_url("us-gov-west-1", "prod", "web"),
            "https://console.amazonaws-us-gov.com/ecs/v2/clusters/prod/services/web/deployments?region=us-gov-west-1"
        );
    }

    #[test]
    fn an_unknown_field_is_refused_with_its_path() {
        let mut td = json!({"family": "f", "containerDefinitions": [
            {"name": "a", "image": "i"},
            {"name": "web", "image": "i", "healthCheck": {"command": ["CMD", "true"], "startPeriodSecs": 5}}]});
        let e = ready_to_register(&mut td, false).unwrap_err();
        assert_eq!(e.exit().code(), 2);
        assert!(
            e.to_string().contains(
                r#"containerDefinitions[1].healthCheck.startPeriodSecs (container "web"): not a field"#
            ),
            "{e}"
        );
    }

    #[test]
    fn an_unknown_field_is_let_through_when_allowed() {
        let mut td = json!({"family": "f", "containerDefinitions": [{"name": "a", "image": "i"}], "newField": 1});
        let warnings = ready_to_register(&mut td, true).unwrap();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].starts_with("newField: "), "{warnings:?}");
        assert_eq!(td["newField"], 1);
    }

    #[test]
    fn a_definition_without_containers_is_refused() {
        let mut td = json!({"family": "f"});
        let e = ready_to_register(&mut td, false).unwrap_err();
        assert!(e.to_string().contains("no \"containerDefinitions\""), "{e}");
    }

    #[test]
    fn task_definition_references() {
        for good in [
            "web",
            "web:12",
            "my_app-2",
            "arn:aws:ecs:us-east-1:123456789012:task-definition/web:3",
        ] {
            assert_eq!(task_definition_ref_problem(good), None, "{good}");
        }
        for bad in [
            "",
            "web:latest",
            "web:",
            "a/b",
            "arn:aws:ecs:us-east-1:123456789012:service/web",
        ] {
            assert!(task_definition_ref_problem(bad).is_some(), "{bad}");
        }
    }
}
