//! `--continue` and `--stop`: steer the service deployment in flight. The
//! deployment is the one `--service` names (its currentServiceDeployment),
//! else stdin's `wait` (ecs-wait --until paused's deployment) or `service`.
//! `--continue` resumes the PAUSE lifecycle hook that awaits action
//! (ContinueServiceDeployment; `--hook` picks one of several); `--stop`
//! stops the deployment where it is, without rolling back
//! (StopServiceDeployment, ABORT). Nothing to act on is exit 1 with the
//! deployment's state. The output is the service as ECS describes it now,
//! and `continued` or `stopped`, so that ecs-wait after it follows the same
//! deployment (after `--stop`, its stopping is the goal).

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{DeploymentLifecycleHookAction, StopServiceDeploymentStopType};
use deploykit::ecs::api::{self, name_of};
use deploykit::stream::Envelope;
use deploykit::{Error, Outcome, Result, cli};
use serde_json::{Value, json};

use crate::config::Config;

/// What to do to the deployment.
pub enum Steer<'a> {
    Continue(Option<&'a str>),
    Stop,
}

/// Service deployment states that can still be stopped.
const IN_FLIGHT: [&str; 2] = ["PENDING", "IN_PROGRESS"];

pub async fn run(
    config: &Config,
    client: &Client,
    mut envelope: Envelope,
    steer: Steer<'_>,
) -> Result<Outcome> {
    let arn = deployment(config, client, &envelope).await?;
    let answer = api::describe_service_deployments(client, std::slice::from_ref(&arn)).await?;
    let Some(sd) = answer["serviceDeployments"].get(0).cloned() else {
        return Err(Error::failed(format!(
            "service deployment {arn}: ECS does not know it ({})",
            answer["failures"][0]["reason"]
                .as_str()
                .unwrap_or("no reason given")
        )));
    };
    let status = sd["status"].as_str().unwrap_or("UNKNOWN").to_string();
    let short = name_of(&arn).to_string();
    match steer {
        Steer::Continue(wanted) => {
            let waiting: Vec<&str> = sd["lifecycleHookDetails"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|h| h["status"] == "AWAITING_ACTION")
                .filter_map(|h| h["hookId"].as_str())
                .collect();
            let hook = match (wanted, waiting.as_slice()) {
                (_, []) => {
                    return Err(Error::failed(format!(
                        "nothing continued: service deployment {short} is {status}, and no lifecycle hook awaits action"
                    )));
                }
                (None, [one]) => one.to_string(),
                (None, several) => {
                    return Err(Error::failed(format!(
                        "nothing continued: service deployment {short} has {} hooks awaiting action ({}): --hook ID picks one",
                        several.len(),
                        several.join(", ")
                    )));
                }
                (Some(id), waiting) if waiting.contains(&id) => id.to_string(),
                (Some(id), waiting) => {
                    return Err(Error::failed(format!(
                        "nothing continued: hook {id:?} does not await action in service deployment {short} ({status}); the hooks that do: {}",
                        waiting.join(", ")
                    )));
                }
            };
            client
                .continue_service_deployment()
                .service_deployment_arn(&arn)
                .hook_id(&hook)
                .action(DeploymentLifecycleHookAction::Continue)
                .send()
                .await
                .map_err(|e| {
                    api::call_error(
                        "ContinueServiceDeployment",
                        format!("continuing service deployment {short} at hook {hook:?}"),
                        e,
                    )
                })?;
            cli::note(format!(
                "service deployment {short}: hook {hook:?} continued; the rollout goes on"
            ));
            envelope.insert(
                "continued".to_string(),
                json!({"serviceDeployment": arn, "hookId": hook}),
            );
        }
        Steer::Stop => {
            if !IN_FLIGHT.contains(&status.as_str()) {
                return Err(Error::failed(format!(
                    "nothing stopped: service deployment {short} is {status}, not in flight"
                )));
            }
            client
                .stop_service_deployment()
                .service_deployment_arn(&arn)
                .stop_type(StopServiceDeploymentStopType::Abort)
                .send()
                .await
                .map_err(|e| {
                    api::call_error(
                        "StopServiceDeployment",
                        format!("stopping service deployment {short}"),
                        e,
                    )
                })?;
            cli::note(format!(
                "service deployment {short}: stopped where it was ({status}), not rolled back (--rollback rolls back)"
            ));
            envelope.insert(
                "stopped".to_string(),
                json!({"serviceDeployment": arn, "stopType": "ABORT"}),
            );
        }
    }
    // The service as it is now, for ecs-wait after this.
    let (cluster, service) = (
        sd["clusterArn"]
            .as_str()
            .unwrap_or(&config.cluster)
            .to_string(),
        sd["serviceArn"].as_str().unwrap_or_default().to_string(),
    );
    if !service.is_empty() {
        let described = api::describe_services(client, &cluster, &[service]).await?;
        if let Some(s) = described["services"].get(0) {
            envelope.insert("service".to_string(), s.clone());
        }
    }
    Ok(Outcome::success(envelope))
}

/// The service deployment to act on: `--service`'s current one, else
/// stdin's `wait.deployment` (a service deployment ARN), else its
/// `service.currentServiceDeployment`.
async fn deployment(config: &Config, client: &Client, envelope: &Envelope) -> Result<String> {
    if let Some(name) = config.services.first() {
        let described =
            api::describe_services(client, &config.cluster, std::slice::from_ref(name)).await?;
        let Some(service) = described["services"].get(0) else {
            return Err(Error::failed(format!(
                "service {name:?} not found in cluster {:?}",
                config.cluster
            )));
        };
        return current(service).ok_or_else(|| {
            Error::failed(format!(
                "service {name:?} has no current service deployment (ECS names one for rolling deployments since 2024): nothing to steer"
            ))
        });
    }
    let from_wait = envelope
        .get("wait")
        .and_then(|w| w["deployment"].as_str())
        .filter(|d| d.contains(":service-deployment/"))
        .map(str::to_string);
    from_wait
        .or_else(|| envelope.get("service").and_then(current))
        .ok_or_else(|| {
            Error::usage(
                "no service deployment to steer: give --cluster and --service, or pipe in ecs-wait's or ecs-deploy's object (its wait.deployment or service.currentServiceDeployment)",
            )
        })
}

fn current(service: &Value) -> Option<String> {
    service["currentServiceDeployment"]
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}
