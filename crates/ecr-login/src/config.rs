//! Turns [`Args`] into a [`Config`]: registry ids, regions, the duration and
//! the Docker config, all checked before any AWS call (exit 2 otherwise).

use std::path::PathBuf;
use std::time::Duration;

use deploykit::aws::AwsArgs;
use deploykit::registry::{self, DockerConfig};
use deploykit::{Error, Result, cli};

use crate::args::Args;

/// Where the login goes.
#[derive(Debug)]
pub enum Store {
    /// The Docker config, read and checked already.
    Docker(DockerConfig),
    /// `--password-stdout`.
    Stdout,
}

/// Everything a login run needs, validated.
#[derive(Debug)]
pub struct Config {
    pub registry_ids: Vec<String>,
    pub public: bool,
    /// One per region (one with the default chain's region when none given).
    pub regions: Vec<AwsArgs>,
    pub store: Store,
    pub min_validity: Option<Duration>,
    /// `$GITHUB_OUTPUT`, when set, checked for appending already.
    pub github_output: Option<PathBuf>,
}

impl Config {
    pub fn from_args(args: Args) -> Result<Self> {
        let mut registry_ids = Vec::new();
        for id in &args.registry_id {
            if !deploykit::flags::is_account_id(id) {
                // An account id is no secret: say which value is wrong,
                // unless it is too long to be one (a token pasted in the
                // wrong place).
                let got = if id.chars().count() <= 20 {
                    format!("{id:?}")
                } else {
                    format!(
                        "a value of {} characters (not repeated here)",
                        id.chars().count()
                    )
                };
                return Err(Error::usage(format!(
                    "--registry-id: expected an AWS account id, 12 digits; got {got}"
                )));
            }
            if !registry_ids.contains(id) {
                registry_ids.push(id.clone());
            }
        }
        for region in &args.aws.regions {
            deploykit::aws::check_region(region)?;
        }
        let mut regions = args.aws.each();
        if args.public {
            if !registry_ids.is_empty() {
                return Err(Error::usage(
                    "--public takes no --registry-id: ECR Public has one registry per account, and its token covers it",
                ));
            }
            if regions
                .iter()
                .any(|r| r.region.as_deref().is_some_and(|r| r != "us-east-1"))
            {
                cli::warn("--public: ECR Public's token API is in us-east-1; --region is ignored");
            }
            regions = vec![AwsArgs {
                region: Some("us-east-1".to_string()),
                profile: args.aws.profile.clone(),
            }];
        }
        let min_validity = args
            .min_validity
            .as_deref()
            .map(|text| {
                parse_duration(text).ok_or_else(|| {
                    Error::usage("--min-validity: expected a duration such as 90s, 30m, 1h or 1h30m, at most 30d (the value is not repeated here)")
                })
            })
            .transpose()?;
        let store = if args.password_stdout {
            if regions.len() > 1 || registry_ids.len() > 1 {
                return Err(Error::usage(
                    "--password-stdout prints one password: give at most one --region and one --registry-id",
                ));
            }
            Store::Stdout
        } else {
            // Read and checked now: a malformed config.json is exit 2 before any AWS call.
            let dir: PathBuf = registry::config_dir(args.docker_config.as_deref())?;
            let docker = DockerConfig::load(&dir)?;
            writable(&dir)?;
            Store::Docker(docker)
        };
        let github_output = std::env::var_os("GITHUB_OUTPUT")
            .filter(|p| !p.is_empty())
            .map(PathBuf::from);
        if let Some(path) = &github_output {
            deploykit::output::check_append("$GITHUB_OUTPUT", path)?;
        }
        Ok(Config {
            registry_ids,
            public: args.public,
            regions,
            store,
            min_validity,
            github_output,
        })
    }
}

/// Makes sure the login can be written to `dir` before AWS is asked for it:
/// the directory is made (as docker makes it) and a file tried in it.
fn writable(dir: &std::path::Path) -> Result<()> {
    let fail = |e: std::io::Error| {
        Error::input(
            format!(
                "the Docker config directory {} cannot be written",
                dir.display()
            ),
            &e,
        )
    };
    DockerConfig::make_dir(dir)?;
    let probe = dir.join(format!(".ecr-login-probe-{}", std::process::id()));
    std::fs::File::create(&probe).map_err(fail)?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// The longest `--min-validity`: ECR tokens live 12 hours, so anything
/// longer only says "always log in"; 30 days keeps the arithmetic sane.
const MAX_VALIDITY: u64 = 30 * 86400;

/// `90s`, `30m`, `1h`, `1h30m`, `2d`; a bare number is seconds; at most 30d.
pub fn parse_duration(text: &str) -> Option<Duration> {
    deploykit::flags::duration(text).filter(|d| d.as_secs() <= MAX_VALIDITY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_validity_is_at_most_30_days() {
        // The grammar is deploykit::flags::duration's, tested there.
        assert_eq!(
            parse_duration("30d"),
            Some(Duration::from_secs(MAX_VALIDITY))
        );
        assert_eq!(parse_duration("31d"), None);
        assert_eq!(parse_duration("18446744073709551615"), None);
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("1x"), None);
    }
}
