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
            let host = host_of(&url);
            let target = if host == PUBLIC_HOST {
                Target {
                    aws: aws_in("us-east-1", args),
                    registry_ids: Vec::new(),
                    public: true,
                }
            } else {
                let (id, region) = login::ecr_host(host).ok_or_else(|| {
                    Error::failed(format!(
                        "credentials not found: {host:?} is not an Amazon ECR registry"
                    ))
                })?;
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

fn aws_in(region: &str, args: &Args) -> AwsArgs {
    AwsArgs {
        region: Some(region.to_string()),
        profile: args.aws.profile.clone(),
    }
}

/// `https://123.dkr.ecr.r.amazonaws.com/v2/` → `123.dkr.ecr.r.amazonaws.com`.
fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split(['/', '?']).next().unwrap_or(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_of_server_urls() {
        assert_eq!(
            host_of("https://1.dkr.ecr.r.amazonaws.com/v2/"),
            "1.dkr.ecr.r.amazonaws.com"
        );
        assert_eq!(
            host_of("1.dkr.ecr.r.amazonaws.com"),
            "1.dkr.ecr.r.amazonaws.com"
        );
        assert_eq!(host_of("public.ecr.aws"), "public.ecr.aws");
    }
}
