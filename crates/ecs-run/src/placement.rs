//! Where the task runs: copied from `--like-service` (launch type or
//! capacity provider strategy, platform version, awsvpc network), with the
//! flags given winning over the service's.

use aws_sdk_ecs::Client;
use aws_sdk_ecs::operation::run_task::builders::RunTaskFluentBuilder;
use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, CapacityProviderStrategyItem, LaunchType,
    NetworkConfiguration,
};
use deploykit::ecs::api;
use deploykit::{Error, Result};
use serde_json::Value;

use crate::config::{Config, Provider};

/// What RunTask is told about placement.
#[derive(Debug, Default)]
pub struct Placement {
    launch_type: Option<String>,
    providers: Vec<Provider>,
    platform_version: Option<String>,
    subnets: Vec<String>,
    security_groups: Vec<String>,
    public_ip: Option<bool>,
}

/// The service's placement (when `--like-service`), overridden by the flags.
pub async fn placement(client: &Client, config: &Config) -> Result<Placement> {
    let mut p = Placement::default();
    if let Some(name) = &config.like_service {
        let answer =
            api::describe_services(client, &config.cluster, std::slice::from_ref(name)).await?;
        let service = answer["services"]
            .as_array()
            .and_then(|s| s.first())
            .filter(|s| s["status"] != "INACTIVE")
            .ok_or_else(|| {
                Error::failed(format!(
                    "--like-service {name}: no such service in cluster {:?}",
                    config.cluster
                ))
            })?;
        from_service(&mut p, service);
    }
    if let Some(launch) = config.launch_type {
        p.launch_type = Some(launch.as_str().to_string());
        p.providers.clear();
        // What only Fargate takes does not follow to EC2 or EXTERNAL.
        if launch != crate::args::LaunchType::Fargate {
            p.platform_version = None;
            p.public_ip = None;
        }
    }
    if !config.capacity_providers.is_empty() {
        p.providers = config.capacity_providers.clone();
        p.launch_type = None;
    }
    if let Some(version) = &config.platform_version {
        p.platform_version = Some(version.clone());
    }
    if !config.subnets.is_empty() {
        p.subnets = config.subnets.clone();
    }
    if !config.security_groups.is_empty() {
        p.security_groups = config.security_groups.clone();
    }
    if config.assign_public_ip {
        p.public_ip = Some(true);
    }
    if p.subnets.is_empty() && (!p.security_groups.is_empty() || p.public_ip.is_some()) {
        return Err(Error::usage(
            "--security-group and --assign-public-ip need --subnet (or --like-service with an awsvpc network)",
        ));
    }
    Ok(p)
}

fn from_service(p: &mut Placement, service: &Value) {
    p.launch_type = service["launchType"].as_str().map(str::to_string);
    p.providers = service["capacityProviderStrategy"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| {
            Some(Provider {
                name: item["capacityProvider"].as_str()?.to_string(),
                weight: item["weight"].as_i64().map(|w| w as i32),
                base: item["base"].as_i64().map(|b| b as i32),
            })
        })
        .collect();
    if !p.providers.is_empty() {
        p.launch_type = None;
    }
    p.platform_version = service["platformVersion"]
        .as_str()
        .filter(|v| *v != "LATEST")
        .map(str::to_string);
    let vpc = &service["networkConfiguration"]["awsvpcConfiguration"];
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect()
    };
    p.subnets = strings(&vpc["subnets"]);
    p.security_groups = strings(&vpc["securityGroups"]);
    p.public_ip = vpc["assignPublicIp"].as_str().map(|a| a == "ENABLED");
}

impl Placement {
    /// The RunTask request with this placement.
    pub fn apply(&self, mut request: RunTaskFluentBuilder) -> RunTaskFluentBuilder {
        if let Some(launch) = &self.launch_type {
            request = request.launch_type(LaunchType::from(launch.as_str()));
        }
        for provider in &self.providers {
            if let Ok(item) = strategy_item(provider) {
                request = request.capacity_provider_strategy(item);
            }
        }
        if let Some(version) = &self.platform_version {
            request = request.platform_version(version);
        }
        if !self.subnets.is_empty() {
            let mut vpc = AwsVpcConfiguration::builder()
                .set_subnets(Some(self.subnets.clone()))
                .set_security_groups(
                    (!self.security_groups.is_empty()).then(|| self.security_groups.clone()),
                );
            if let Some(public) = self.public_ip {
                vpc = vpc.assign_public_ip(if public {
                    AssignPublicIp::Enabled
                } else {
                    AssignPublicIp::Disabled
                });
            }
            if let Ok(vpc) = vpc.build() {
                request = request.network_configuration(
                    NetworkConfiguration::builder()
                        .awsvpc_configuration(vpc)
                        .build(),
                );
            }
        }
        request
    }
}

/// A strategy item from a provider (the builder wants its name).
fn strategy_item(
    provider: &Provider,
) -> std::result::Result<CapacityProviderStrategyItem, aws_sdk_ecs::error::BuildError> {
    CapacityProviderStrategyItem::builder()
        .capacity_provider(&provider.name)
        .set_weight(provider.weight)
        .set_base(provider.base)
        .build()
}
