//! The flags, checked: every mistake is exit 2 naming the flag, before any
//! call.

use std::time::Duration;

use deploykit::aws::AwsArgs;
use deploykit::ecs::api::task_definition_ref_problem;
use deploykit::{Error, Result, cli, flags};

use crate::args::{Args, LaunchType};

/// A capacity provider of the strategy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provider {
    pub name: String,
    pub weight: Option<i32>,
    /// Tasks placed on this provider first (a service's strategy keeps it).
    pub base: Option<i32>,
}

/// What to run and how, checked.
#[derive(Debug, Clone)]
pub struct Config {
    pub cluster: String,
    /// `--family`: a registered revision to run.
    pub task_definition: Option<String>,
    /// `--task-definition FILE|-`: a definition to register and run.
    pub task_definition_file: Option<String>,
    pub allow_unknown_fields: bool,
    pub like_service: Option<String>,
    pub launch_type: Option<LaunchType>,
    pub capacity_providers: Vec<Provider>,
    pub platform_version: Option<String>,
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    pub assign_public_ip: bool,
    pub container: Option<String>,
    pub command: Option<Vec<String>>,
    pub env: Vec<(String, String)>,
    pub started_by: String,
    pub tags: Vec<(String, String)>,
    pub timeout: Duration,
    pub stop_on_timeout: bool,
    pub interval: Duration,
    pub logs: bool,
    pub aws: AwsArgs,
}

impl Config {
    pub fn from_args(mut args: Args) -> Result<Self> {
        // The old form, `--task-definition FAMILY[:REV]|ARN`: a value that
        // is no file and reads as a registered revision is taken as --family.
        if args.family.is_none()
            && let Some(value) = &args.task_definition
            && !deploykit::stream::is_stdin_path(value)
            && !std::path::Path::new(value).exists()
            && task_definition_ref_problem(value).is_none()
        {
            cli::warn(format!(
                "--task-definition {value}: no such file, taken as --family {value} (--task-definition is a JSON file in every tool now; a registered revision is --family)"
            ));
            args.family = args.task_definition.take();
        }
        if args.family.is_some() && args.task_definition.is_some() {
            return Err(Error::usage(
                "--family and --task-definition: give one (a registered revision, or a file to register)",
            ));
        }
        if let Some(name) = &args.family
            && let Some(problem) = task_definition_ref_problem(name)
        {
            return Err(Error::usage(format!("--family: {problem}")));
        }
        if args.task_definition.as_deref() == Some("") {
            return Err(Error::usage("--task-definition is empty"));
        }
        if !args.old_tag.is_empty() {
            cli::warn(
                "--tag is now --tags (a resource tag of the task; --tag is an image tag in oci-push)",
            );
            args.tags.append(&mut args.old_tag);
        }
        if args.launch_type.is_some() && !args.capacity_provider.is_empty() {
            return Err(Error::usage(
                "--launch-type and --capacity-provider: give one or the other (ECS takes a launch type or a capacity provider strategy)",
            ));
        }
        if args.like_service.is_none()
            && args.subnet.is_empty()
            && (!args.security_group.is_empty() || args.assign_public_ip)
        {
            return Err(Error::usage(
                "--security-group and --assign-public-ip need --subnet (or --like-service with an awsvpc network)",
            ));
        }
        let capacity_providers = args
            .capacity_provider
            .iter()
            .map(|p| provider(p))
            .collect::<Result<Vec<_>>>()?;
        let command = args
            .command
            .as_deref()
            .map(deploykit::flags::command)
            .transpose()?;
        let env = flags::env_pairs("--env", &args.env)?;
        let tags = flags::pairs("--tags", &args.tags, "KEY=VALUE")?;
        let timeout = flags::duration(&args.timeout)
            .filter(|d| !d.is_zero())
            .ok_or_else(|| Error::usage("--timeout: expected a duration such as 90s, 15m or 1h"))?;
        let interval = flags::duration(&args.interval)
            .filter(|d| *d >= Duration::from_millis(100) && *d <= Duration::from_secs(300))
            .ok_or_else(|| {
                Error::usage("--interval: expected a duration from 100ms to 5m, such as 5s")
            })?;
        if args.started_by.is_empty() || args.started_by.len() > 128 {
            return Err(Error::usage("--started-by: 1 to 128 characters"));
        }
        Ok(Config {
            cluster: args.cluster,
            task_definition: args.family,
            task_definition_file: args.task_definition,
            allow_unknown_fields: args.allow_unknown_fields,
            like_service: args.like_service,
            launch_type: args.launch_type,
            capacity_providers,
            platform_version: args.platform_version,
            subnets: args.subnet,
            security_groups: args.security_group,
            assign_public_ip: args.assign_public_ip,
            container: args.container,
            command,
            env,
            started_by: args.started_by,
            tags,
            timeout,
            stop_on_timeout: args.stop_on_timeout,
            interval,
            logs: !args.no_logs,
            aws: args.aws,
        })
    }
}

/// `NAME` or `NAME:WEIGHT`.
fn provider(text: &str) -> Result<Provider> {
    let (name, weight) = match text.rsplit_once(':') {
        Some((name, weight)) => {
            let weight = weight
                .parse::<i32>()
                .ok()
                .filter(|w| (0..=1000).contains(w));
            if weight.is_none() {
                return Err(Error::usage(format!(
                    "--capacity-provider {name}: the weight after ':' is a whole number from 0 to 1000"
                )));
            }
            (name, weight)
        }
        None => (text, None),
    };
    if name.is_empty() {
        return Err(Error::usage("--capacity-provider: the name is empty"));
    }
    Ok(Provider {
        name: name.to_string(),
        weight,
        base: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_providers() {
        assert_eq!(
            provider("FARGATE_SPOT:3").unwrap(),
            Provider {
                name: "FARGATE_SPOT".into(),
                weight: Some(3),
                base: None,
            }
        );
        assert_eq!(provider("FARGATE").unwrap().weight, None);
        assert!(provider("x:heavy").is_err());
    }
}
