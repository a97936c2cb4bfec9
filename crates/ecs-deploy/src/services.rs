//! The services to update: checked with DescribeServices before anything is
//! registered (missing, draining or inactive, a deployment controller this
//! tool cannot drive, a missing cluster), then updated, all at once.

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::PropagateTags;
use deploykit::aws::CaptureBody;
use deploykit::ecs::api::{self, name_of};
use deploykit::ecs::region;
use deploykit::{Error, Result};
use futures_util::future::join_all;
use serde_json::Value;

use crate::args;
use crate::config::Config;

/// One `--service`, and what DescribeServices said of it: its service
/// object as ECS sent it, or why it cannot be updated.
#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    pub state: Result<Value, String>,
}

/// DescribeServices for every `--service`. A missing cluster is an error for
/// the whole run (exit 1); a service that cannot be updated is a [`Target`]
/// with its reason, so that the others still are. `td`, the definition to
/// deploy when it is known already: a cluster or service not found is
/// looked up once in its images' region (`deploykit::ecs::region`).
pub async fn check(
    client: &Client,
    cluster: &str,
    names: &[String],
    td: Option<&Value>,
) -> Result<Vec<Target>> {
    let answer = match api::describe_services(client, cluster, names).await {
        Ok(answer) => answer,
        Err(e) if e.message().contains("ClusterNotFoundException") => {
            return Err(missing_cluster(client, cluster, td).await);
        }
        Err(e) => return Err(e),
    };
    let services = answer["services"].as_array().cloned().unwrap_or_default();
    let failures = answer["failures"].as_array().cloned().unwrap_or_default();
    // Some ECS versions answer a missing cluster with a failure per service.
    if !failures.is_empty()
        && services.is_empty()
        && failures
            .iter()
            .all(|f| f["arn"].as_str().is_some_and(|a| a.contains(":cluster/")))
    {
        return Err(missing_cluster(client, cluster, td).await);
    }
    let missing: Vec<String> = names
        .iter()
        .filter(|name| find(&services, name).is_none())
        .cloned()
        .collect();
    let elsewhere = if missing.is_empty() {
        Vec::new()
    } else {
        region::services_elsewhere(client, td, cluster, &missing).await
    };
    let mut candidates: Option<Vec<String>> = None;
    let mut targets = Vec::new();
    for name in names {
        let hint = elsewhere.iter().find(|(n, _)| n == name);
        let state = match (find(&services, name), hint) {
            (Some(service), _) => usable(service, cluster),
            (None, Some((_, hint))) => Err(hint.clone()),
            (None, None) => {
                if candidates.is_none() {
                    candidates = Some(suggestions(list_services(client, cluster).await));
                }
                let near = close_matches(name_of(name), candidates.as_deref().unwrap_or_default());
                let reason = failures
                    .iter()
                    .find(|f| {
                        f["arn"]
                            .as_str()
                            .is_some_and(|a| name_of(a) == name_of(name))
                    })
                    .and_then(|f| f["reason"].as_str())
                    .unwrap_or("MISSING");
                Err(format!(
                    "service {name:?} not found in cluster {cluster:?} ({reason}){}",
                    did_you_mean(&near)
                ))
            }
        };
        targets.push(Target {
            name: name.clone(),
            state,
        });
    }
    Ok(targets)
}

/// `name`'s service in DescribeServices' answer: by name, since an ARN
/// given in the old format (service/NAME) comes back in the new one
/// (service/CLUSTER/NAME).
fn find<'a>(services: &'a [Value], name: &str) -> Option<&'a Value> {
    services.iter().find(|s| {
        s["serviceName"].as_str() == Some(name_of(name)) || s["serviceArn"].as_str() == Some(name)
    })
}

/// A service that can take an update, or why not.
fn usable(service: &Value, cluster: &str) -> Result<Value, String> {
    let name = service["serviceName"].as_str().unwrap_or("?");
    let status = service["status"].as_str().unwrap_or("?");
    if status != "ACTIVE" {
        return Err(format!(
            "service {name:?} in cluster {cluster:?} is {status}: it is being deleted or was deleted, and takes no deployment"
        ));
    }
    match service["deploymentController"]["type"].as_str() {
        None | Some("ECS") => Ok(service.clone()),
        Some(other) => Err(format!(
            "service {name:?} in cluster {cluster:?} uses the {other} deployment controller: not supported (ecs-deploy drives the ECS rolling and blue/green deployments; a CODE_DEPLOY service deploys through CodeDeploy, an EXTERNAL one through its own controller)"
        )),
    }
}

/// The cluster is not in the region used: the region where the images are,
/// when it is there; else close matches in this region.
async fn missing_cluster(client: &Client, cluster: &str, td: Option<&Value>) -> Error {
    if let Some(hint) = region::cluster_elsewhere(client, td, cluster).await {
        return Error::failed(hint);
    }
    let names = suggestions(list_clusters(client).await);
    let region = client
        .config()
        .region()
        .map(|r| format!(" in {r}"))
        .unwrap_or_default();
    Error::failed(format!(
        "cluster {cluster:?} not found{region}{}",
        did_you_mean(&close_matches(name_of(cluster), &names))
    ))
}

/// Names to suggest from; none when they could not be listed. Listing is
/// optional: refused, one warning says so, and the error goes on without
/// suggestions.
fn suggestions(listed: Result<Vec<String>>) -> Vec<String> {
    match listed {
        Ok(names) => names,
        Err(e) => {
            if e.is_denied() {
                deploykit::cli::warn(format!("{e}; no close matches suggested"));
            }
            Vec::new()
        }
    }
}

/// At most this many pages of names are read for a suggestion.
const MAX_PAGES: usize = 10;

async fn list_clusters(client: &Client) -> Result<Vec<String>> {
    let mut names = Vec::new();
    let mut pages = client.list_clusters().into_paginator().send();
    for _ in 0..MAX_PAGES {
        let Some(page) = pages.next().await else {
            break;
        };
        let page = page.map_err(|e| api::call_error("ListClusters", "listing clusters", e))?;
        names.extend(page.cluster_arns().iter().map(|a| name_of(a).to_string()));
    }
    Ok(names)
}

async fn list_services(client: &Client, cluster: &str) -> Result<Vec<String>> {
    let mut names = Vec::new();
    let mut pages = client
        .list_services()
        .cluster(cluster)
        .into_paginator()
        .send();
    for _ in 0..MAX_PAGES {
        let Some(page) = pages.next().await else {
            break;
        };
        let page = page.map_err(|e| api::call_error("ListServices", "listing services", e))?;
        names.extend(page.service_arns().iter().map(|a| name_of(a).to_string()));
    }
    Ok(names)
}

fn did_you_mean(near: &[String]) -> String {
    if near.is_empty() {
        String::new()
    } else {
        let quoted: Vec<String> = near.iter().map(|n| format!("{n:?}")).collect();
        format!("; close matches: {}", quoted.join(", "))
    }
}

/// Up to three names close to `wanted`: one contains the other, or they
/// are a few edits apart.
pub fn close_matches(wanted: &str, names: &[String]) -> Vec<String> {
    let wanted_lower = wanted.to_lowercase();
    let mut scored: Vec<(usize, &String)> = names
        .iter()
        .filter(|n| n.as_str() != wanted)
        .filter_map(|n| {
            let lower = n.to_lowercase();
            let distance = strsim::levenshtein(&wanted_lower, &lower);
            let near = distance <= (wanted.len() / 3).max(2)
                || lower.contains(&wanted_lower)
                || wanted_lower.contains(&lower);
            near.then_some((distance, n))
        })
        .collect();
    scored.sort();
    scored.into_iter().take(3).map(|(_, n)| n.clone()).collect()
}

/// UpdateService for every usable target at once; each gets its `service`
/// object as ECS sent it, or the error.
pub async fn update_all(
    client: &Client,
    config: &Config,
    targets: &[Target],
    task_definition: &str,
) -> Vec<(String, Result<Value>)> {
    let updates = targets.iter().filter(|t| t.state.is_ok()).map(|t| async {
        (
            t.name.clone(),
            update(client, config, &t.name, task_definition).await,
        )
    });
    join_all(updates).await
}

/// UpdateService with the flags of the run.
pub async fn update(
    client: &Client,
    config: &Config,
    service: &str,
    task_definition: &str,
) -> Result<Value> {
    let capture = CaptureBody::default();
    let mut call = client
        .update_service()
        .cluster(&config.cluster)
        .service(service)
        .task_definition(task_definition);
    if config.force_new_deployment {
        call = call.force_new_deployment(true);
    }
    if let Some(n) = config.desired_count {
        call = call.desired_count(n);
    }
    if config.enable_ecs_managed_tags {
        call = call.enable_ecs_managed_tags(true);
    }
    if let Some(from) = config.propagate_tags {
        call = call.propagate_tags(match from {
            args::PropagateTags::TaskDefinition => PropagateTags::TaskDefinition,
            args::PropagateTags::Service => PropagateTags::Service,
            args::PropagateTags::None => PropagateTags::None,
        });
    }
    call.customize()
        .interceptor(capture.clone())
        .send()
        .await
        .map_err(|e| {
            api::call_error(
                "UpdateService",
                format!(
                    "updating service {service:?} in cluster {:?}",
                    config.cluster
                ),
                e,
            )
        })?;
    let mut answer = capture.json("UpdateService")?;
    Ok(answer["service"].take())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_matches_by_edits_and_containment() {
        let names: Vec<String> = ["web", "web-api", "worker", "billing"]
            .map(String::from)
            .to_vec();
        assert_eq!(close_matches("wbe", &names), ["web"]);
        assert_eq!(close_matches("api", &names), ["web-api"]);
        assert!(close_matches("zzzzzzzz", &names).is_empty());
    }
}
