//! `--rollback`: while the service's current service deployment is still
//! in progress, ECS is asked to roll it back (StopServiceDeployment with
//! stopType ROLLBACK, as ecspresso does); otherwise the service is updated
//! to the revision it ran before the current one: from its deployments, else
//! the previous ACTIVE revision of the family; `--to-revision N` names one.
//! The output says `rollback: {from, to, method}`, so that ecs-wait counts
//! the rollback's completion as success.

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{ServiceDeploymentStatus, StopServiceDeploymentStopType};
use deploykit::ecs::api::{self, name_of};
use deploykit::stream::Envelope;
use deploykit::{Error, Outcome, Result, cli};
use serde_json::{Value, json};

use crate::config::Config;
use crate::{revisions, services};

/// Service deployment states from which ECS can still roll back.
const IN_PROGRESS: [&str; 2] = ["PENDING", "IN_PROGRESS"];

pub async fn run(
    config: &Config,
    client: &Client,
    region: &str,
    mut envelope: Envelope,
    to_revision: Option<u32>,
) -> Result<Outcome> {
    let name = &config.services[0];
    let targets = services::check(client, &config.cluster, &config.services, None).await?;
    let service = match targets.into_iter().next().map(|t| t.state) {
        Some(Ok(service)) => service,
        Some(Err(reason)) => return Err(Error::failed(format!("nothing rolled back: {reason}"))),
        None => {
            return Err(Error::failed(format!(
                "service {name:?}: nothing described"
            )));
        }
    };
    let from = service["taskDefinition"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let previous = previous_deployment(&service, &from);

    if to_revision.is_none()
        && let Some(deployment) = service["currentServiceDeployment"].as_str()
        && IN_PROGRESS.contains(&deployment_status(client, deployment).await.as_str())
    {
        client
            .stop_service_deployment()
            .service_deployment_arn(deployment)
            .stop_type(StopServiceDeploymentStopType::Rollback)
            .send()
            .await
            .map_err(|e| {
                api::call_error(
                    "StopServiceDeployment",
                    format!("rolling back the deployment in progress of service {name:?}"),
                    e,
                )
            })?;
        cli::note(format!(
            "service {name:?}: ECS is rolling back its deployment in progress: {}",
            api::console_url(region, name_of(&config.cluster), name_of(name))
        ));
        let described = api::describe_services(client, &config.cluster, &config.services).await?;
        let service = described["services"][0].clone();
        if let Some(to) = &previous {
            envelope.insert(
                "taskDefinition".to_string(),
                api::with_tags(&api::describe_task_definition(client, to).await?),
            );
        }
        envelope.insert("service".to_string(), service);
        envelope.insert(
            "rollback".to_string(),
            json!({"from": from, "to": previous, "method": "stopServiceDeployment",
                "serviceDeployment": deployment}),
        );
        return Ok(Outcome::success(envelope));
    }

    let (family, current) = revisions::family_and_revision(&from).ok_or_else(|| {
        Error::failed(format!(
            "service {name:?} runs {from:?}, which names no task definition revision"
        ))
    })?;
    let history = match (to_revision, &previous) {
        (None, None) => ran_before(client, &config.cluster, name, &from).await,
        _ => Ok(None),
    };
    let to = match (to_revision, previous, history) {
        (Some(n), _, _) => format!("{family}:{n}"),
        (None, Some(previous), _) => previous,
        (None, None, Ok(Some(ran))) => ran,
        (None, None, history) => {
            let fallback = revisions::active(client, family)
                .await?
                .into_iter()
                .find(|(_, revision)| *revision < current)
                .map(|(arn, _)| arn)
                .ok_or_else(|| {
                    Error::failed(format!(
                        "service {name:?} runs {family}:{current}, and the family has no earlier ACTIVE revision to roll back to"
                    ))
                })?;
            // A revision registered but never deployed (a failed update,
            // a register-only run) may be the one before: say so.
            let why = match history {
                Err(e) => format!("ECS gave no deployment history ({})", e.message()),
                _ => "ECS's deployment history names no other revision".to_string(),
            };
            cli::warn(format!(
                "{why}: rolling back to the ACTIVE revision before, {}, which the service may never have run; --to-revision N names one",
                name_of(&fallback)
            ));
            fallback
        }
    };
    let td = api::with_tags(&api::describe_task_definition(client, &to).await?);
    let to_arn = td["taskDefinitionArn"].as_str().unwrap_or(&to).to_string();
    if to_arn == from {
        return Err(Error::failed(format!(
            "service {name:?} already runs {}: nothing to roll back to",
            name_of(&from)
        )));
    }
    let updated = services::update(client, config, name, &to_arn).await?;
    cli::note(format!(
        "service {name:?} rolled back from {} to {}: deployments at {}",
        name_of(&from),
        name_of(&to_arn),
        api::console_url(region, name_of(&config.cluster), name_of(name))
    ));
    envelope.insert("taskDefinition".to_string(), td);
    envelope.insert("service".to_string(), updated);
    envelope.insert(
        "rollback".to_string(),
        json!({"from": from, "to": to_arn, "method": "update"}),
    );
    Ok(Outcome::success(envelope))
}

/// The revision of the deployment before the current one that the service
/// still lists (rolling deployments keep the old one ACTIVE until done).
fn previous_deployment(service: &Value, current: &str) -> Option<String> {
    service["deployments"]
        .as_array()?
        .iter()
        .filter(|d| d["status"] != "PRIMARY")
        .filter_map(|d| d["taskDefinition"].as_str())
        .find(|arn| *arn != current)
        .map(str::to_string)
}

/// The revision the service ran before `current`, from ECS's record of its
/// finished service deployments (ListServiceDeployments, SUCCESSFUL, newest
/// first; DescribeServiceRevisions for their task definitions).
async fn ran_before(
    client: &Client,
    cluster: &str,
    service: &str,
    current: &str,
) -> Result<Option<String>> {
    let listed = client
        .list_service_deployments()
        .cluster(cluster)
        .service(service)
        .status(ServiceDeploymentStatus::Successful)
        .send()
        .await
        .map_err(|e| {
            api::call_error(
                "ListServiceDeployments",
                format!("listing the deployments of service {service:?}"),
                e,
            )
        })?;
    let mut deployments: Vec<_> = listed.service_deployments().iter().collect();
    deployments.sort_by(|a, b| {
        let at = |d: &aws_sdk_ecs::types::ServiceDeploymentBrief| {
            d.finished_at()
                .or(d.created_at())
                .map(|t| (t.secs(), t.subsec_nanos()))
        };
        at(b).cmp(&at(a))
    });
    for deployment in deployments.iter().take(20) {
        let Some(revision) = deployment.target_service_revision_arn() else {
            continue;
        };
        let described = client
            .describe_service_revisions()
            .service_revision_arns(revision)
            .send()
            .await
            .map_err(|e| {
                api::call_error(
                    "DescribeServiceRevisions",
                    format!("describing service revision {revision}"),
                    e,
                )
            })?;
        let ran = described
            .service_revisions()
            .first()
            .and_then(|r| r.task_definition());
        if let Some(ran) = ran
            && ran != current
        {
            return Ok(Some(ran.to_string()));
        }
    }
    Ok(None)
}

/// DescribeServiceDeployments' `status` for one service deployment; empty
/// (so: not in progress, roll back by an update) when ECS would not say,
/// as for a role without ecs:DescribeServiceDeployments.
async fn deployment_status(client: &Client, arn: &str) -> String {
    match deployment_status_of(client, arn).await {
        Ok(status) => status,
        Err(e) => {
            cli::warn(format!(
                "{}; rolling back by an update to the revision before",
                e.message()
            ));
            String::new()
        }
    }
}

async fn deployment_status_of(client: &Client, arn: &str) -> Result<String> {
    let answer = api::describe_service_deployments(client, &[arn.to_string()]).await?;
    Ok(answer["serviceDeployments"][0]["status"]
        .as_str()
        .unwrap_or_default()
        .to_string())
}
