//! Turns [`Args`] into a [`Config`] that has been checked through: every
//! KEY=VALUE split, every file read, the jq filter compiled, the patterns
//! compiled. A mistake here is exit 2 before anything is fetched or written.

use std::path::PathBuf;

use deploykit::aws::AwsArgs;
use deploykit::flags::{names, pairs};
use deploykit::jq::Filter;
use deploykit::stream::{self, Stdin};
use deploykit::{Error, Result, cli};
use regex_lite::Regex;
use serde_json::Value;

use crate::args::Args;
use crate::dotenv;

/// Where the task definition comes from, in the order of precedence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `--task-definition FILE` (`-` is stdin).
    File(String),
    /// The `taskDefinition` key of the stdin object, or else `--family`.
    Stdin { family: Option<String> },
}

impl Default for Source {
    fn default() -> Self {
        Source::Stdin { family: None }
    }
}

/// Everything the render needs, validated.
#[derive(Debug, Default)]
pub struct Config {
    pub source: Source,
    pub container: Option<String>,
    pub image: Option<String>,
    /// `--env-file` entries, then `--env`, in the order given.
    pub env: Vec<(String, String)>,
    pub unset_env: Vec<String>,
    pub secrets: Vec<(String, String)>,
    pub log_driver: Option<String>,
    pub log_options: Vec<(String, String)>,
    pub docker_labels: Vec<(String, String)>,
    pub command: Option<Vec<String>>,
    /// Task-level string fields: (field name, value).
    pub task_fields: Vec<(&'static str, String)>,
    pub jq: Option<Filter>,
    pub expand_env: bool,
    /// `None` when the check is off.
    pub placeholders: Option<Vec<Regex>>,
    pub output_file: Option<PathBuf>,
    pub aws: AwsArgs,
    /// Stdin is read as a file (`--task-definition -` or `--env-file -`),
    /// so it carries no pipe object.
    pub stdin_is_a_file: bool,
}

impl Config {
    /// Validates the flags; reads the env files (`-` is stdin).
    pub fn from_args(args: Args, stdin: &Stdin) -> Result<Self> {
        let source = match (&args.task_definition, &args.family) {
            (Some(_), Some(_)) => {
                return Err(Error::usage(
                    "--task-definition and --family: give one, not both (a file to edit, or a registered revision to fetch)",
                ));
            }
            (Some(file), None) => {
                if file.is_empty() {
                    return Err(Error::usage("--task-definition is empty"));
                }
                Source::File(file.clone())
            }
            (None, Some(family)) => {
                check_family(family)?;
                Source::Stdin {
                    family: Some(family.clone()),
                }
            }
            (None, None) => Source::default(),
        };

        let mut env = Vec::new();
        for file in &args.env_file {
            if stream::is_stdin_path(file)
                && !matches!(&source, Source::File(p) if !stream::is_stdin_path(p))
            {
                return Err(Error::usage(
                    "--env-file -: stdin already carries the JSON object; give the dotenv file's path",
                ));
            }
            let text = stream::read_text(file, "--env-file", stdin)?;
            env.extend(dotenv::parse(&text, &format!("--env-file {file}"))?);
        }
        env.extend(deploykit::flags::env_pairs("--env", &args.env)?);
        let unset_env = names("--unset-env", &args.unset_env, "--env")?;
        let secrets = pairs("--secret", &args.secret, "NAME=VALUE_FROM")?;
        if let Some((name, _)) = secrets.iter().find(|(_, from)| from.is_empty()) {
            return Err(Error::usage(format!(
                "--secret {name}: the ARN or parameter name after \"=\" is empty"
            )));
        }
        let log_options = pairs("--log-option", &args.log_option, "KEY=VALUE")?;
        let docker_labels = pairs("--docker-label", &args.docker_label, "KEY=VALUE")?;
        let command = args
            .command
            .as_deref()
            .map(deploykit::flags::command)
            .transpose()?;

        let mut task_fields = Vec::new();
        for (flag, field, value) in [
            ("--task-role-arn", "taskRoleArn", &args.task_role_arn),
            (
                "--execution-role-arn",
                "executionRoleArn",
                &args.execution_role_arn,
            ),
            ("--cpu", "cpu", &args.cpu),
            ("--memory", "memory", &args.memory),
        ] {
            if let Some(value) = value {
                if value.trim().is_empty() {
                    return Err(Error::usage(format!("{flag} is empty")));
                }
                let wanted = match field {
                    "cpu" => Some(("vcpu", "CPU units (256, 1024) or vCPUs (1 vCPU, .5 vcpu)")),
                    "memory" => Some(("gb", "MiB (512, 2048) or GB (2 GB, 0.5GB)")),
                    _ => None,
                };
                if let Some((unit, form)) = wanted
                    && !task_size(value, unit)
                {
                    return Err(Error::usage(format!(
                        "{flag} {value:?}: expected {form}, as RegisterTaskDefinition takes it"
                    )));
                }
                task_fields.push((field, value.clone()));
            }
        }
        for (flag, value) in [
            ("--image", &args.image),
            ("--container", &args.container),
            ("--log-driver", &args.log_driver),
        ] {
            if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
                return Err(Error::usage(format!("{flag} is empty")));
            }
        }

        let jq = match &args.jq {
            Some(text) => Some(Filter::compile(text, &jq_vars(&args)?)?),
            None if !args.arg.is_empty() || !args.argjson.is_empty() => {
                return Err(Error::usage(
                    "--arg and --argjson are for --jq, which is not given",
                ));
            }
            None => None,
        };

        let placeholders = if args.no_placeholder_check {
            if !args.placeholder.is_empty() {
                cli::warn("--placeholder is ignored: --no-placeholder-check turns the check off");
            }
            None
        } else {
            let mut patterns = Vec::new();
            for text in &args.placeholder {
                patterns.push(Regex::new(text).map_err(|e| {
                    Error::usage(format!("--placeholder {text:?}: not a valid pattern: {e}"))
                })?);
            }
            Some(patterns)
        };

        if let Some(path) = &args.output_file
            && (path.as_os_str() == "-" || path.as_os_str().is_empty())
        {
            return Err(Error::usage(
                "--output-file needs a file path: stdout already carries the JSON object",
            ));
        }
        if let Some(path) = &args.output_file {
            deploykit::output::check("--output-file", path)?;
        }

        let stdin_is_a_file = matches!(&source, Source::File(p) if stream::is_stdin_path(p))
            || args.env_file.iter().any(|f| stream::is_stdin_path(f));
        Ok(Config {
            stdin_is_a_file,
            source,
            container: args.container,
            image: args.image,
            env,
            unset_env,
            secrets,
            log_driver: args.log_driver,
            log_options,
            docker_labels,
            command,
            task_fields,
            jq,
            expand_env: args.expand_env,
            placeholders,
            output_file: args.output_file,
            aws: args.aws,
        })
    }

    /// Whether any flag edits a container (so one must be chosen).
    pub fn edits_container(&self) -> bool {
        self.image.is_some()
            || !self.env.is_empty()
            || !self.unset_env.is_empty()
            || !self.secrets.is_empty()
            || self.log_driver.is_some()
            || !self.log_options.is_empty()
            || !self.docker_labels.is_empty()
            || self.command.is_some()
    }
}

fn jq_vars(args: &Args) -> Result<Vec<(String, Value)>> {
    let mut vars = Vec::new();
    for pair in args.arg.chunks(2) {
        vars.push((var_name("--arg", &pair[0])?, Value::String(pair[1].clone())));
    }
    for pair in args.argjson.chunks(2) {
        let name = var_name("--argjson", &pair[0])?;
        let value = serde_json::from_str(&pair[1])
            .map_err(|e| Error::usage(format!("--argjson {name}: not valid JSON: {e}")))?;
        vars.push((name, value));
    }
    Ok(vars)
}

fn var_name(flag: &str, name: &str) -> Result<String> {
    // `--arg NAME=VALUE` is the --env habit: name the part before `=` only.
    let name = deploykit::flags::name(flag, name, &format!("{flag} NAME VALUE"))?;
    let name = name.strip_prefix('$').unwrap_or(&name);
    let mut chars = name.chars();
    let ok = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(name.to_string())
    } else {
        Err(Error::usage(format!(
            "{flag}: the name is not a variable name (letters, digits and _, not starting with a digit)"
        )))
    }
}

/// `web`, `web:12`, or a task definition ARN.
fn check_family(family: &str) -> Result<()> {
    match deploykit::ecs::api::task_definition_ref_problem(family) {
        None => Ok(()),
        Some(problem) => Err(Error::usage(format!("--family {family:?}: {problem}"))),
    }
}

/// A task-level `cpu` or `memory` as ECS reads it: a whole number (CPU
/// units, MiB), or a number of `unit` (`1 vCPU`, `.25 vcpu`, `2 GB`,
/// `0.5GB`), any case, a space before the unit or none.
fn task_size(value: &str, unit: &str) -> bool {
    let value = value.trim().to_ascii_lowercase();
    let whole = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    if whole(&value) {
        return true;
    }
    let Some(number) = value.strip_suffix(unit).map(str::trim_end) else {
        return false;
    };
    match number.split_once('.') {
        Some((int, frac)) => (int.is_empty() || whole(int)) && whole(frac),
        None => whole(number),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families() {
        for ok in [
            "web",
            "web:12",
            "my_app-2",
            "arn:aws:ecs:us-east-1:123456789012:task-definition/web:3",
        ] {
            check_family(ok).unwrap();
        }
        for bad in [
            "",
            "web:",
            "web:x",
            "we b",
            "arn:aws:ecs:us-east-1:1:service/x",
        ] {
            assert!(check_family(bad).is_err(), "{bad}");
        }
    }
}
