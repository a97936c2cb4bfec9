//! Getting the logins: one GetAuthorizationToken per region, concurrently,
//! each token decoded into a username and password; or, with
//! `--min-validity`, the login an earlier run stored, when it is still good.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_smithy_types::DateTime;
use deploykit::aws::{self, AwsArgs};
pub use deploykit::registry::ecr_host;
use deploykit::registry::{BadBasic, Credentials, DockerConfig, host_part};
use deploykit::{Error, Result};

/// The key, beside `auth` in a Docker config entry, where ecr-login keeps
/// the token's expiry (seconds since the epoch); other clients ignore it.
pub const EXPIRY_KEY: &str = "ecrLoginExpiresAt";

/// The key, beside `auth`, that marks a login to the caller's own registry
/// (a run without `--registry-id`): the only entries `--min-validity` may
/// reuse for such a run.
pub const DEFAULT_KEY: &str = "ecrLoginDefault";

/// ECR Public's one registry host.
pub const PUBLIC_HOST: &str = "public.ecr.aws";

/// One registry logged in to.
#[derive(Debug, Clone)]
pub struct Login {
    /// The host alone: `123456789012.dkr.ecr.us-east-1.amazonaws.com`.
    pub endpoint: String,
    pub credentials: Credentials,
    /// When the token stops working, in seconds since the epoch.
    pub expires_at: Option<i64>,
    /// Taken from the Docker config (`--min-validity`), not from AWS.
    pub reused: bool,
    /// The caller's own registry (no `--registry-id` asked for).
    pub default_registry: bool,
}

/// What to log in to in one region.
#[derive(Debug, Clone)]
pub struct Target {
    pub aws: AwsArgs,
    pub registry_ids: Vec<String>,
    pub public: bool,
}

/// Logins an earlier run stored, that `--min-validity` may reuse.
#[derive(Debug, Clone, Default)]
pub struct Reusable {
    entries: Vec<Stored>,
    min_validity: Duration,
}

/// One login an earlier run stored, with its expiry.
#[derive(Debug, Clone)]
struct Stored {
    host: String,
    credentials: Credentials,
    expires_at: i64,
    default_registry: bool,
}

impl Reusable {
    /// The entries of `config` that ecr-login wrote (those that carry its
    /// expiry key); any other entry is not looked at.
    pub fn from_config(config: &DockerConfig, min_validity: Duration) -> Result<Self> {
        let mut entries = Vec::new();
        for host in config.hosts() {
            let Some(entry) = config.entry(&host) else {
                continue;
            };
            let Some(expires_at) = entry.get(EXPIRY_KEY).and_then(serde_json::Value::as_i64) else {
                continue;
            };
            let default_registry = entry.get(DEFAULT_KEY) == Some(&serde_json::Value::Bool(true));
            // One of ours that no longer decodes is not reused: log in again.
            if let Ok(Some(credentials)) = config.auth(&host) {
                entries.push(Stored {
                    host,
                    credentials,
                    expires_at,
                    default_registry,
                });
            }
        }
        Ok(Reusable {
            entries,
            min_validity,
        })
    }

    /// The stored logins for `target` in `region`, when every one it needs
    /// is there and valid for `min_validity` more.
    fn find(&self, target: &Target, region: &str) -> Option<Vec<Login>> {
        let min = i64::try_from(self.min_validity.as_secs()).unwrap_or(i64::MAX);
        let good_until = now().saturating_add(min);
        let in_region = |s: &&Stored, id: Option<&str>| {
            ecr_host(&s.host).is_some_and(|(i, r)| r == region && id.is_none_or(|id| i == id))
        };
        let found: Vec<&Stored> = if target.public {
            self.entries
                .iter()
                .filter(|s| s.host == PUBLIC_HOST)
                .collect()
        } else if target.registry_ids.is_empty() {
            // The caller's own registry: its host is not known without a
            // call, so the one login a default run stored for this region
            // stands in for it (never a login to a registry asked by id).
            let ours: Vec<&Stored> = self
                .entries
                .iter()
                .filter(|s| s.default_registry && in_region(s, None))
                .collect();
            if ours.len() != 1 {
                return None;
            }
            ours
        } else {
            let mut found = Vec::new();
            for id in &target.registry_ids {
                found.push(self.entries.iter().find(|s| in_region(s, Some(id)))?);
            }
            found
        };
        if found.is_empty() || !found.iter().all(|s| s.expires_at >= good_until) {
            return None;
        }
        Some(
            found
                .into_iter()
                .map(|s| Login {
                    endpoint: s.host.clone(),
                    credentials: s.credentials.clone(),
                    expires_at: Some(s.expires_at),
                    reused: true,
                    default_registry: s.default_registry,
                })
                .collect(),
        )
    }
}

/// Seconds since the epoch, now.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Every target's logins, the targets concurrently, in the targets' order.
pub async fn all(targets: Vec<Target>, reusable: Option<Reusable>) -> Result<Vec<Login>> {
    let mut set = tokio::task::JoinSet::new();
    for (i, target) in targets.into_iter().enumerate() {
        let reusable = reusable.clone();
        set.spawn(async move { (i, one(target, reusable).await) });
    }
    let mut results = Vec::new();
    while let Some(joined) = set.join_next().await {
        let (i, result) =
            joined.map_err(|e| Error::failed(format!("a login task stopped: {e}")))?;
        results.push((i, result?));
    }
    results.sort_by_key(|(i, _)| *i);
    Ok(results.into_iter().flat_map(|(_, logins)| logins).collect())
}

/// One region's logins.
pub async fn one(target: Target, reusable: Option<Reusable>) -> Result<Vec<Login>> {
    let sdk = aws::load(&target.aws).await?;
    let region = sdk.region().map(ToString::to_string).unwrap_or_default();
    if let Some(found) = reusable.as_ref().and_then(|r| r.find(&target, &region)) {
        return Ok(found);
    }
    if target.public {
        let client = aws_sdk_ecrpublic::Client::from_conf(
            aws_sdk_ecrpublic::config::Builder::from(&sdk)
                .interceptor(aws::StallWatch)
                .build(),
        );
        let out = client
            .get_authorization_token()
            .send()
            .await
            .map_err(|e| aws::call_error("getting an ECR Public authorization token", e))?;
        let data = out
            .authorization_data()
            .ok_or_else(|| Error::failed("ECR Public answered without authorization data"))?;
        return Ok(vec![decode(
            data.authorization_token(),
            Some(PUBLIC_HOST),
            data.expires_at(),
            "ECR Public",
        )?]);
    }
    let client = aws_sdk_ecr::Client::from_conf(
        aws_sdk_ecr::config::Builder::from(&sdk)
            .interceptor(aws::StallWatch)
            .build(),
    );
    let ids = (!target.registry_ids.is_empty()).then(|| target.registry_ids.clone());
    // AWS deprecates registryIds (one token serves every registry the
    // caller may use) but still answers one endpoint per id; an id it
    // answers none for gets the same token under its own host, below.
    #[allow(deprecated)]
    let out = client
        .get_authorization_token()
        .set_registry_ids(ids)
        .send()
        .await
        .map_err(|e| {
            aws::call_error(format!("getting an ECR authorization token in {region}"), e)
        })?;
    let what = format!("ECR in {region}");
    let default_registry = target.registry_ids.is_empty();
    let logins = out
        .authorization_data()
        .iter()
        .map(|d| {
            decode(
                d.authorization_token(),
                d.proxy_endpoint(),
                d.expires_at(),
                &what,
            )
            .map(|login| Login {
                default_registry,
                ..login
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let Some(first) = logins.first().cloned() else {
        return Err(Error::failed(format!(
            "{what}: GetAuthorizationToken answered with no authorization data"
        )));
    };
    let mut logins = logins;
    for id in &target.registry_ids {
        if !logins
            .iter()
            .any(|l| ecr_host(&l.endpoint).is_some_and(|(i, _)| i == id))
        {
            let suffix = first.endpoint.split_once('.').map_or("", |(_, s)| s);
            logins.push(Login {
                endpoint: format!("{id}.{suffix}"),
                ..first.clone()
            });
        }
    }
    Ok(logins)
}

/// A token (base64 of `user:password`) and its endpoint into a [`Login`].
/// What is wrong with a token is said; the token is never repeated.
pub fn decode(
    token: Option<&str>,
    endpoint: Option<&str>,
    expires_at: Option<&DateTime>,
    what: &str,
) -> Result<Login> {
    let token = token.filter(|t| !t.is_empty()).ok_or_else(|| {
        Error::failed(format!(
            "{what}: AWS answered without an authorization token"
        ))
    })?;
    let not = |what_it_is_not: &str| {
        Error::failed(format!(
            "{what}: the authorization token is not {what_it_is_not}"
        ))
    };
    let credentials = Credentials::from_basic(token).map_err(|why| match why {
        BadBasic::NotBase64 => not("base64"),
        BadBasic::NotText => not("text"),
        BadBasic::NoColon => not("USER:PASSWORD"),
    })?;
    if credentials.username.is_empty() || credentials.password.is_empty() {
        return Err(not("USER:PASSWORD"));
    }
    let endpoint = endpoint
        .map(|e| host_part(e.trim()).to_string())
        .filter(|e| !e.is_empty())
        .ok_or_else(|| {
            Error::failed(format!(
                "{what}: AWS answered without the registry's endpoint"
            ))
        })?;
    Ok(Login {
        endpoint,
        credentials,
        expires_at: expires_at.map(DateTime::secs),
        reused: false,
        default_registry: false,
    })
}

/// `2026-11-25T22:00:00Z`.
pub fn rfc3339(secs: i64) -> String {
    DateTime::from_secs(secs)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_else(|_| secs.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn b64(text: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(text)
    }

    #[test]
    fn a_token_splits_at_the_first_colon() {
        let login = decode(
            Some(&b64("AWS:pa:ss")),
            Some("https://1.dkr.ecr.r.amazonaws.com"),
            None,
            "ECR",
        )
        .unwrap();
        assert_eq!(login.credentials.username, "AWS");
        assert_eq!(login.credentials.password, "pa:ss");
        assert_eq!(login.endpoint, "1.dkr.ecr.r.amazonaws.com");
    }

    #[test]
    fn an_empty_token_is_a_failure() {
        let e = decode(Some(""), Some("https://h"), None, "ECR in r").unwrap_err();
        assert_eq!(e.exit().code(), 1);
        assert_eq!(
            e.to_string(),
            "ECR in r: AWS answered without an authorization token"
        );
    }

    #[test]
    fn a_token_that_is_not_base64_is_a_failure_that_does_not_repeat_it() {
        let e = decode(Some("s3cr3t!!"), Some("https://h"), None, "ECR").unwrap_err();
        assert!(
            e.to_string().contains("not base64") && !e.to_string().contains("s3cr3t"),
            "{e}"
        );
    }

    #[test]
    fn a_token_without_a_colon_is_a_failure() {
        let e = decode(Some(&b64("s3cr3t")), Some("https://h"), None, "ECR").unwrap_err();
        assert!(
            e.to_string().contains("not USER:PASSWORD") && !e.to_string().contains("s3cr3t"),
            "{e}"
        );
    }

    /// What --public does with ECR Public's answer (moto has no ECR
    /// Public API; the SDK's own output type stands in for the service).
    #[test]
    fn an_ecr_public_answer_is_a_login_to_public_ecr_aws() {
        let data = aws_sdk_ecrpublic::types::AuthorizationData::builder()
            .authorization_token(b64("AWS:public-token"))
            .expires_at(DateTime::from_secs(2_000_000_000))
            .build();
        let login = decode(
            data.authorization_token(),
            Some(PUBLIC_HOST),
            data.expires_at(),
            "ECR Public",
        )
        .unwrap();
        assert_eq!(login.endpoint, "public.ecr.aws");
        assert_eq!(login.credentials.password, "public-token");
        assert_eq!(login.expires_at, Some(2_000_000_000));
    }
}
