//! Turns ecs-wait's flags and the stdin object into a wait [`Plan`]
//! checked through before any call: which services, which deployment of
//! each. The wait flags' own checks are `Plan::with`'s, shared with
//! ecs-deploy --wait. A mistake here is exit 2 with nothing sent.

use deploykit::ecs::api::name_of;
use deploykit::ecs::wait::{
    Plan, Target, check_deployment, deployment_parts, from_service, rollback_goal,
    stopped_deployment,
};
use deploykit::stream::{Envelope, kind};
use deploykit::{Error, Result};
use serde_json::Value;

use crate::args::Args;

/// ecs-wait's plan: the flags, else stdin's `service` or `services`.
pub fn plan(args: &Args, envelope: &Envelope) -> Result<Plan> {
    let mut plan = Plan::with(&args.wait, Vec::new())?;
    for name in &args.services {
        if name.trim().is_empty() {
            return Err(Error::usage("--service is empty"));
        }
        if args.services.iter().filter(|n| *n == name).count() > 1 {
            return Err(Error::usage(format!("--service {name:?} is given twice")));
        }
    }
    if args.cluster.as_deref().is_some_and(|c| c.trim().is_empty()) {
        return Err(Error::usage("--cluster is empty"));
    }
    if let Some(d) = &args.deployment {
        check_deployment(d)?;
    }

    if !args.services.is_empty() {
        if args.deployment.is_some() && args.services.len() > 1 {
            return Err(Error::usage(
                "--deployment names one deployment: give one --service with it",
            ));
        }
        let cluster = args.cluster.clone().unwrap_or_else(|| "default".into());
        plan.targets = args
            .services
            .iter()
            .map(|s| Target {
                cluster: cluster.clone(),
                service: s.clone(),
                deployment: args.deployment.clone(),
                tasks_started_by: args
                    .deployment
                    .clone()
                    .filter(|d| d.starts_with("ecs-svc/")),
                rollback: None,
            })
            .map(|mut t| {
                // The rollback stdin names, when it is this service's.
                if let Some(stopped) = stopped_deployment(envelope)
                    && deployment_parts(&stopped).is_some_and(|(_, s)| s == name_of(&t.service))
                    && t.deployment.as_deref().is_none_or(|d| d == stopped)
                {
                    t.deployment = Some(stopped.clone());
                    t.rollback = rollback_goal(envelope, Some(&stopped));
                }
                t
            })
            .collect();
        plan.several = plan.targets.len() > 1;
        return Ok(plan);
    }
    if let Some(service) = envelope.get("service") {
        let mut target = from_service(service, "service", args.cluster.as_deref())?;
        if let Some(d) = &args.deployment {
            target.deployment = Some(d.clone());
        }
        target.rollback = rollback_goal(envelope, target.deployment.as_deref());
        plan.targets = vec![target];
        return Ok(plan);
    }
    if let Some(services) = envelope.get("services") {
        let list = services.as_array().ok_or_else(|| {
            Error::usage(format!(
                "stdin: \"services\" is {}, expected a list of service objects",
                kind(services)
            ))
        })?;
        if list.is_empty() {
            return Err(Error::usage("stdin: \"services\" is an empty list"));
        }
        if args.deployment.is_some() && list.len() > 1 {
            return Err(Error::usage(
                "--deployment names one deployment: stdin lists several services",
            ));
        }
        for (i, service) in list.iter().enumerate() {
            let mut target =
                from_service(service, &format!("services[{i}]"), args.cluster.as_deref())?;
            if let Some(d) = &args.deployment {
                target.deployment = Some(d.clone());
            }
            target.rollback = rollback_goal(envelope, target.deployment.as_deref());
            plan.targets.push(target);
        }
        plan.several = true;
        return Ok(plan);
    }
    // A service deployment ARN names its cluster and service.
    if let Some(arn) = &args.deployment
        && let Some((cluster, service)) = deployment_parts(arn)
    {
        plan.targets = vec![Target {
            cluster: args.cluster.clone().unwrap_or(cluster),
            service,
            deployment: Some(arn.clone()),
            tasks_started_by: None,
            rollback: rollback_goal(envelope, Some(arn)),
        }];
        return Ok(plan);
    }
    Err(Error::usage(
        "nothing to wait for: give --service NAME (and --cluster), or pipe in what ecs-deploy or aws ecs update-service prints (an object with a \"service\" key)",
    ))
}

/// Every ARN the wait is about, with where it was read: the flags'
/// (`--cluster`, `--service`, `--deployment`), else stdin's `service` or
/// `services` (`serviceArn`, `clusterArn`, `currentServiceDeployment`).
/// Their region is the wait's ([`deploykit::aws::AwsArgs::follow_arns`]).
pub fn arns<'a>(args: &'a Args, envelope: &'a Envelope) -> Vec<(String, &'a str)> {
    let mut found: Vec<(String, &str)> = Vec::new();
    if let Some(c) = &args.cluster {
        found.push(("--cluster".to_string(), c));
    }
    if let Some(d) = &args.deployment {
        found.push(("--deployment".to_string(), d));
    }
    for s in &args.services {
        found.push(("--service".to_string(), s));
    }
    if !args.services.is_empty() {
        return found;
    }
    let services: Vec<(String, &Value)> = match (envelope.get("service"), envelope.get("services"))
    {
        (Some(one), _) => vec![("service".to_string(), one)],
        (None, Some(Value::Array(list))) => list
            .iter()
            .enumerate()
            .map(|(i, s)| (format!("services[{i}]"), s))
            .collect(),
        _ => Vec::new(),
    };
    for (at, service) in services {
        for key in ["serviceArn", "clusterArn", "currentServiceDeployment"] {
            if let Some(arn) = service.get(key).and_then(Value::as_str) {
                found.push((format!("stdin's {at}.{key}"), arn));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deployment_arn_alone_is_a_target() {
        let args = Args {
            deployment: Some("arn:aws:ecs:us-east-1:1:service-deployment/prod/web/abc".into()),
            ..Args::default()
        };
        let plan = plan(&args, &Envelope::new()).unwrap();
        assert_eq!(plan.targets.len(), 1);
        assert_eq!(plan.targets[0].cluster, "prod");
        assert_eq!(plan.targets[0].service, "web");
        assert!(!plan.several);
    }

    #[test]
    fn a_deployment_with_several_services_is_refused() {
        let args = Args {
            services: vec!["web".into(), "worker".into()],
            deployment: Some("ecs-svc/1".into()),
            ..Args::default()
        };
        let e = plan(&args, &Envelope::new()).unwrap_err();
        assert_eq!(e.exit().code(), 2);
    }
}
