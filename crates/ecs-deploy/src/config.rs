//! Turns [`Args`] into a [`Config`] checked through before any call: what
//! to deploy, where, and how. A mistake here is exit 2 with nothing sent.

use deploykit::aws::AwsArgs;
use deploykit::{Error, Result};

use crate::args::{Args, PropagateTags};

/// Where the task definition comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `--task-definition-arn`: a registered revision, deployed as it is.
    Arn(String),
    /// `--task-definition FILE` (`-` is stdin).
    File(String),
    /// The `taskDefinition` key of the stdin object.
    Stdin,
    /// `--rollback`, with `--to-revision` when given.
    Rollback(Option<u32>),
    /// `--continue`, with `--hook` when given.
    Continue(Option<String>),
    /// `--stop`.
    Stop,
}

/// Everything a run needs, validated.
#[derive(Debug)]
pub struct Config {
    pub source: Source,
    pub cluster: String,
    pub services: Vec<String>,
    pub allow_unknown_fields: bool,
    pub force_new_deployment: bool,
    pub desired_count: Option<i32>,
    pub enable_ecs_managed_tags: bool,
    pub propagate_tags: Option<PropagateTags>,
    pub skip_unchanged: bool,
    pub keep_revisions: Option<u32>,
    /// `--plan`: say what would change, change nothing.
    pub plan: bool,
    /// `--verify`: the plan's checks before a deploy.
    pub verify: crate::args::Verify,
    /// `--wait`: how to wait once the services are updated (its targets
    /// come from the update's answers).
    pub wait: Option<deploykit::ecs::wait::Plan>,
    pub aws: AwsArgs,
}

impl Config {
    /// The ARNs this deploy is about, with where each was read (the flags,
    /// and the task definition stdin carries): the calls go to their
    /// region ([`AwsArgs::follow_arns`]).
    pub fn arns<'a>(&'a self, envelope: &'a deploykit::stream::Envelope) -> Vec<(String, &'a str)> {
        let mut found = vec![("--cluster".to_string(), self.cluster.as_str())];
        found.extend(
            self.services
                .iter()
                .map(|s| ("--service".to_string(), s.as_str())),
        );
        if let Source::Arn(arn) = &self.source {
            found.push(("--family".to_string(), arn.as_str()));
        }
        found.extend(deploykit::ecs::definition::arn_on_stdin(envelope));
        found
    }

    pub fn from_args(mut args: Args) -> Result<Self> {
        if let Some(old) = args.task_definition_arn.take() {
            deploykit::cli::warn(
                "--task-definition-arn is now --family (the same FAMILY[:REV] or ARN)",
            );
            if args.family.is_some() {
                return Err(Error::usage(
                    "--family and --task-definition-arn (its old name): give one",
                ));
            }
            args.family = Some(old);
        }
        let source = match (&args.task_definition, &args.family, args.rollback) {
            (Some(_), Some(_), _) => {
                return Err(Error::usage(
                    "--task-definition and --family: give one, not both (a file to register, or a registered revision)",
                ));
            }
            (Some(_), _, true) | (_, Some(_), true) => {
                return Err(Error::usage(
                    "--rollback goes back to a revision the service ran: it takes no --task-definition or --family (--to-revision N names one)",
                ));
            }
            (Some(file), None, false) if file.is_empty() => {
                return Err(Error::usage("--task-definition is empty"));
            }
            (Some(file), None, false) => Source::File(file.clone()),
            (None, Some(arn), false) => {
                check_revision_name(arn)?;
                Source::Arn(arn.clone())
            }
            (None, None, true) => Source::Rollback(args.to_revision),
            (None, None, false) => Source::Stdin,
        };
        let steering = match (args.continue_, args.stop) {
            (true, _) => Some(Source::Continue(args.hook.clone())),
            (false, true) => Some(Source::Stop),
            (false, false) => None,
        };
        let source = match (steering, &source) {
            (None, _) => source,
            (Some(steer), Source::Stdin) => {
                let flag = if args.stop { "--stop" } else { "--continue" };
                if args.services.len() > 1 {
                    return Err(Error::usage(format!(
                        "{flag} acts on one service deployment: give at most one --service"
                    )));
                }
                for (given, other) in [
                    (args.wait, "--wait (pipe into ecs-wait)"),
                    (args.keep_revisions.is_some(), "--keep-revisions"),
                    (args.skip_unchanged, "--skip-unchanged"),
                    (args.force_new_deployment, "--force-new-deployment"),
                    (args.desired_count.is_some(), "--desired-count"),
                ] {
                    if given {
                        return Err(Error::usage(format!(
                            "{flag} changes no service settings: it does not go with {other}"
                        )));
                    }
                }
                if matches!(&steer, Source::Continue(Some(hook)) if hook.trim().is_empty()) {
                    return Err(Error::usage("--hook is empty"));
                }
                steer
            }
            (Some(_), _) => {
                return Err(Error::usage(
                    "--continue and --stop act on a deployment in flight: they take no --task-definition or --family",
                ));
            }
        };
        if args.plan && args.services.is_empty() {
            return Err(Error::usage(
                "--plan compares the definition with what services run: give --service",
            ));
        }
        if args.plan && args.keep_revisions.is_some() {
            return Err(Error::usage(
                "--plan changes nothing: it does not go with --keep-revisions",
            ));
        }
        if args.cluster.trim().is_empty() {
            return Err(Error::usage("--cluster is empty"));
        }
        let mut services: Vec<String> = Vec::new();
        for name in &args.services {
            if name.trim().is_empty() {
                return Err(Error::usage("--service is empty"));
            }
            if services.contains(name) {
                return Err(Error::usage(format!("--service {name:?} is given twice")));
            }
            services.push(name.clone());
        }
        if matches!(source, Source::Rollback(_)) && services.len() != 1 {
            return Err(Error::usage(
                "--rollback needs exactly one --service: the service to roll back",
            ));
        }
        if matches!(source, Source::Rollback(_)) && args.keep_revisions.is_some() {
            return Err(Error::usage(
                "--keep-revisions does not go with --rollback: a rollback deregisters nothing",
            ));
        }
        if matches!(source, Source::Rollback(Some(0))) {
            return Err(Error::usage("--to-revision: revisions start at 1"));
        }
        if services.is_empty() {
            for (given, flag) in [
                (args.force_new_deployment, "--force-new-deployment"),
                (args.desired_count.is_some(), "--desired-count"),
                (args.enable_ecs_managed_tags, "--enable-ecs-managed-tags"),
                (args.propagate_tags.is_some(), "--propagate-tags"),
                (args.skip_unchanged, "--skip-unchanged"),
                (args.keep_revisions.is_some(), "--keep-revisions"),
            ] {
                if given {
                    return Err(Error::usage(format!(
                        "{flag} is about a service update: give --service too"
                    )));
                }
            }
        }
        if args.skip_unchanged && !matches!(source, Source::File(_) | Source::Stdin) {
            return Err(Error::usage(
                "--skip-unchanged compares a definition to register: it does not go with --family or --rollback",
            ));
        }
        if args.desired_count.is_some_and(|n| n < 0) {
            return Err(Error::usage("--desired-count must be 0 or more"));
        }
        if args.keep_revisions == Some(0) {
            return Err(Error::usage(
                "--keep-revisions must be 1 or more: the revision just deployed is one",
            ));
        }
        let w = &args.wait_args;
        let wait_flags = [
            (w.until.is_some(), "--until"),
            (w.timeout.is_some(), "--timeout"),
            (w.interval.is_some(), "--interval"),
            (w.max_failed_tasks.is_some(), "--max-failed-tasks"),
        ];
        let wait = if args.wait {
            if services.is_empty() {
                return Err(Error::usage(
                    "--wait waits for a service's rollout: give --service too",
                ));
            }
            Some(deploykit::ecs::wait::Plan::with(w, Vec::new())?)
        } else {
            if let Some((_, flag)) = wait_flags.iter().find(|(given, _)| *given) {
                return Err(Error::usage(format!(
                    "{flag} is about the wait: give --wait too"
                )));
            }
            None
        };
        Ok(Config {
            source,
            cluster: args.cluster,
            services,
            allow_unknown_fields: args.allow_unknown_fields,
            force_new_deployment: args.force_new_deployment,
            desired_count: args.desired_count,
            enable_ecs_managed_tags: args.enable_ecs_managed_tags,
            propagate_tags: args.propagate_tags,
            skip_unchanged: args.skip_unchanged,
            keep_revisions: args.keep_revisions,
            plan: args.plan,
            verify: args.verify,
            wait,
            aws: args.aws,
        })
    }
}

/// `web:3`, `web` (the latest ACTIVE revision) or a task definition ARN.
fn check_revision_name(name: &str) -> Result<()> {
    match deploykit::ecs::api::task_definition_ref_problem(name) {
        None => Ok(()),
        Some(problem) => Err(Error::usage(format!("--family: {problem}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revision_names() {
        for ok in [
            "web",
            "web:12",
            "arn:aws:ecs:us-east-1:123456789012:task-definition/web:3",
        ] {
            check_revision_name(ok).unwrap();
        }
        for bad in [
            "",
            "web:",
            "web:x",
            "we b",
            "arn:aws:ecs:us-east-1:1:service/x",
        ] {
            assert!(check_revision_name(bad).is_err(), "{bad}");
        }
    }
}
