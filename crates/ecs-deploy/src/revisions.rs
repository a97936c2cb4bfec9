//! A family's ACTIVE revisions: the one before the current (a rollback),
//! and the old ones `--keep-revisions` deregisters.

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{SortOrder, TaskDefinitionStatus};
use deploykit::ecs::api;
use deploykit::{Result, cli};
use serde_json::Value;

/// `arn:...:task-definition/web:7` → (`web`, 7).
pub fn family_and_revision(arn: &str) -> Option<(&str, u32)> {
    let tail = arn.rsplit_once(":task-definition/").map_or(arn, |(_, t)| t);
    let (family, revision) = tail.rsplit_once(':')?;
    Some((family, revision.parse().ok()?))
}

/// The ACTIVE revisions of exactly `family` (ListTaskDefinitions matches a
/// prefix: `web` would list `web-api` too), newest first, as (ARN, revision).
pub async fn active(client: &Client, family: &str) -> Result<Vec<(String, u32)>> {
    let mut found = Vec::new();
    let mut pages = client
        .list_task_definitions()
        .family_prefix(family)
        .status(TaskDefinitionStatus::Active)
        .sort(SortOrder::Desc)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            api::call_error(
                "ListTaskDefinitions",
                format!("listing the revisions of {family:?}"),
                e,
            )
        })?;
        for arn in page.task_definition_arns() {
            if let Some((f, revision)) = family_and_revision(arn)
                && f == family
            {
                found.push((arn.clone(), revision));
            }
        }
    }
    found.sort_by_key(|(_, revision)| std::cmp::Reverse(*revision));
    Ok(found)
}

/// Every task definition a service object runs or still drains.
pub fn in_use(service: &Value) -> Vec<String> {
    let mut arns: Vec<String> = service["taskDefinition"]
        .as_str()
        .map(str::to_string)
        .into_iter()
        .collect();
    for d in service["deployments"].as_array().into_iter().flatten() {
        if let Some(arn) = d["taskDefinition"].as_str() {
            arns.push(arn.to_string());
        }
    }
    for s in service["taskSets"].as_array().into_iter().flatten() {
        if let Some(arn) = s["taskDefinition"].as_str() {
            arns.push(arn.to_string());
        }
    }
    arns
}

/// Deregisters the ACTIVE revisions of `family` older than the newest
/// `keep`, never one in `protected`. Returns the ARNs deregistered.
pub async fn keep_newest(
    client: &Client,
    family: &str,
    keep: u32,
    protected: &[String],
) -> Result<Vec<String>> {
    let revisions = active(client, family).await?;
    let mut gone = Vec::new();
    for (arn, _) in revisions.into_iter().skip(keep as usize) {
        if protected.contains(&arn) {
            cli::note(format!("keeping {arn}: a service still runs it"));
            continue;
        }
        client
            .deregister_task_definition()
            .task_definition(&arn)
            .send()
            .await
            .map_err(|e| {
                api::call_error(
                    "DeregisterTaskDefinition",
                    format!("deregistering {arn}"),
                    e,
                )
            })?;
        gone.push(arn);
    }
    Ok(gone)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revisions_from_arns_and_names() {
        assert_eq!(
            family_and_revision("arn:aws:ecs:us-east-1:123456789012:task-definition/web-api:12"),
            Some(("web-api", 12))
        );
        assert_eq!(family_and_revision("web:3"), Some(("web", 3)));
        assert_eq!(family_and_revision("web"), None);
    }
}
