//! Docker's credential-helper protocol, in the same binary: run as
//! `docker-credential-ecr-login ACTION` (or `ecr-login credential-helper
//! ACTION`). `get` reads a server URL on stdin, derives the registry id and
//! region from its host, asks ECR for a token and prints
//! `{"ServerURL", "Username", "Secret"}` for Docker to use; nothing is ever
//! stored. `store` and `erase` accept and do nothing; `list` prints `{}`.

use deploykit::aws::AwsArgs;
use deploykit::stream::{Stdin, decode};
use deploykit::{Error, Outcome, Result};
use serde_json::json;

use crate::args::{Args, HelperAction};
use crate::login::{self, PUBLIC_HOST, Target};

pub fn run(action: HelperAction, stdin: &Stdin, args: &Args) -> Result<Outcome> {
    match action {
        HelperAction::Store | HelperAction::Erase => Ok(Outcome::quiet()),
        HelperAction::List => Ok(Outcome::text("{}\n".to_string())),
        HelperAction::Get => {
            let url = decode(stdin.bytes(), "stdin")?.trim().to_string();
            let Some(host) = host_of(&url) else {
                return Ok(not_found("the server URL on stdin is not a registry host"));
            };
            let target = if host == PUBLIC_HOST {
                Target {
                    aws: aws_in("us-east-1", args),
                    registry_ids: Vec::new(),
                    public: true,
                }
            } else {
                let Some((id, region)) = login::ecr_host(&host) else {
                    return Ok(not_found(&format!("{host} is not an Amazon ECR registry")));
                };
                Target {
                    aws: aws_in(region, args),
                    registry_ids: vec![id.to_string()],
                    public: false,
                }
            };
            let logins = deploykit::aws::runtime()?.block_on(login::one(target, None))?;
            let login = &logins[0];
            let answer = json!({
                "ServerURL": url,
                "Username": login.credentials.username,
                "Secret": login.credentials.password,
            });
            Ok(Outcome::text(format!("{answer}\n")))
        }
    }
}

/// Docker's "no credentials here" answer: that exact text on stdout and
/// exit 1, so the client goes on without credentials; the reason on stderr.
fn not_found(why: &str) -> Outcome {
    Outcome::failed_text(
        "credentials not found in native keychain\n".to_string(),
        Error::failed(format!("credentials not found: {why}")),
    )
}

fn aws_in(region: &str, args: &Args) -> AwsArgs {
    AwsArgs {
        region: Some(region.to_string()),
        profile: args.aws.profile.clone(),
    }
}

/// `https://123.dkr.ecr.r.amazonaws.com:443/v2/` → `123.dkr.ecr.r.amazonaws.com`,
/// lowercased; none when what is left is not a host name (stdin is never
/// repeated in a message: a client may send more than a URL there).
fn host_of(url: &str) -> Option<String> {
    let host = deploykit::registry::host_part(url);
    let host = host.split('?').next().unwrap_or(host);
    let host = host
        .split_once(':')
        .map_or(host, |(h, _)| h)
        .to_ascii_lowercase();
    let ok = !host.is_empty()
        && host.len() <= 253
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    ok.then_some(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(url: &str) -> Option<String> {
        host_of(url)
    }

    #[test]
    fn hosts_of_server_urls() {
        let ecr = Some("1.dkr.ecr.r.amazonaws.com");
        assert_eq!(
            host("https://1.dkr.ecr.r.amazonaws.com/v2/").as_deref(),
            ecr
        );
        assert_eq!(host("1.dkr.ecr.r.amazonaws.com").as_deref(), ecr);
        assert_eq!(
            host("HTTPS://1.DKR.ECR.R.AMAZONAWS.COM:443").as_deref(),
            ecr
        );
        assert_eq!(host("public.ecr.aws").as_deref(), Some("public.ecr.aws"));
    }

    #[test]
    fn what_is_no_host_is_none() {
        assert_eq!(host(r#"{"ServerURL":"x","Secret":"s3cr3t"}"#), None);
        assert_eq!(host("ghcr.io\ns3cr3t"), None);
        assert_eq!(host(""), None);
    }
}
