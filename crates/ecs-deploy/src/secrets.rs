//! `--plan`'s secret check: every secret a container names exists, so that
//! its tasks can start. Each `valueFrom` of `containerDefinitions[].secrets`
//! and `containerDefinitions[].logConfiguration.secretOptions`, and each
//! `repositoryCredentials.credentialsParameter`, names either a Secrets
//! Manager secret (an ARN `arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME-SUFFIX`,
//! maybe followed by `:JSON-KEY:VERSION-STAGE:VERSION-ID`, which ECS reads
//! and the lookup drops) or an SSM parameter (its ARN
//! `arn:PARTITION:ssm:REGION:ACCOUNT:parameter/NAME`, or its bare name in
//! the task's region). Each distinct one is asked once, in its own region:
//! `secretsmanager:DescribeSecret`, `ssm:DescribeParameters` (a filter
//! `Name Equals`). No value is ever read (no GetSecretValue, no
//! GetParameter), and none is shown: a `valueFrom` is a name, not a value.
//! Not allowed to ask: `skipped`, naming the permission, as the other
//! checks of [`crate::plan`].

use aws_sdk_secretsmanager::config::Region;
use aws_sdk_ssm::types::ParameterStringFilter;
use deploykit::aws::{SdkConfig, StallWatch, describe, is_denied};
use serde_json::{Value, json};

/// What a `valueFrom` names, as it is looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// A Secrets Manager secret: its ARN without the JSON key and version
    /// suffix (the first 7 `:`-separated fields).
    Secret { region: String, arn: String },
    /// An SSM parameter: its name (`/app/db` for a hierarchical one), and
    /// the region its ARN names (none: the tool's).
    Parameter {
        region: Option<String>,
        name: String,
    },
    /// An ARN of neither service: ECS cannot read it.
    Neither(String),
}

impl Target {
    fn of(value_from: &str) -> Target {
        let fields: Vec<&str> = value_from.split(':').collect();
        if fields.first() != Some(&"arn") {
            // A bare parameter name; a `:VERSION` or `:LABEL` selector
            // after it is not part of the name.
            let name = value_from.split(':').next().unwrap_or(value_from);
            return Target::Parameter {
                region: None,
                name: name.to_string(),
            };
        }
        match (fields.get(2), fields.get(3), fields.get(5)) {
            (Some(&"secretsmanager"), Some(region), Some(&"secret")) if fields.len() >= 7 => {
                Target::Secret {
                    region: region.to_string(),
                    arn: fields[..7].join(":"),
                }
            }
            (Some(&"ssm"), Some(region), Some(resource)) => {
                match resource.strip_prefix("parameter/") {
                    // `parameter/app/db` is `/app/db`, `parameter/db` is `db`.
                    Some(rest) if rest.contains('/') => Target::Parameter {
                        region: Some(region.to_string()),
                        name: format!("/{rest}"),
                    },
                    Some(rest) if !rest.is_empty() => Target::Parameter {
                        region: Some(region.to_string()),
                        name: rest.to_string(),
                    },
                    _ => Target::Neither(value_from.to_string()),
                }
            }
            _ => Target::Neither(value_from.to_string()),
        }
    }
}

/// One distinct secret and what names it (`DB_URL of container "web"`).
struct Wanted {
    target: Target,
    uses: Vec<String>,
    /// The account an SSM parameter's ARN names.
    account: Option<String>,
}

/// Every secret the definition names, each once, with its uses.
fn wanted(td: &Value) -> Vec<Wanted> {
    let mut out: Vec<Wanted> = Vec::new();
    let mut add = |value_from: &str, used: String| {
        let target = Target::of(value_from);
        let account = value_from
            .starts_with("arn:")
            .then(|| value_from.split(':').nth(4))
            .flatten()
            .filter(|a| !a.is_empty())
            .map(str::to_string);
        match out
            .iter_mut()
            .find(|w| w.target == target && w.account == account)
        {
            Some(w) => w.uses.push(used),
            None => out.push(Wanted {
                target,
                uses: vec![used],
                account,
            }),
        }
    };
    for c in td["containerDefinitions"].as_array().into_iter().flatten() {
        let container = c["name"].as_str().unwrap_or("?");
        for s in c["secrets"].as_array().into_iter().flatten() {
            if let Some(from) = s["valueFrom"].as_str() {
                let name = s["name"].as_str().unwrap_or("?");
                add(from, format!("{name} of container {container:?}"));
            }
        }
        let options = &c["logConfiguration"]["secretOptions"];
        for s in options.as_array().into_iter().flatten() {
            if let Some(from) = s["valueFrom"].as_str() {
                let name = s["name"].as_str().unwrap_or("?");
                add(
                    from,
                    format!("log option {name} of container {container:?}"),
                );
            }
        }
        if let Some(from) = c["repositoryCredentials"]["credentialsParameter"].as_str() {
            add(
                from,
                format!("the repository credentials of container {container:?}"),
            );
        }
    }
    out
}

/// The check of each secret the definition names (none named: none),
/// asked together, each capped at [`PER_SECRET`]. `account`: the
/// caller's (its services' ARNs say it): an SSM parameter of another
/// account (shared through RAM) is not looked up in the caller's.
pub async fn check(td: &Value, account: Option<&str>) -> Vec<Value> {
    let wanted = wanted(td);
    if wanted.is_empty() {
        return Vec::new();
    }
    let Some(sdk) = deploykit::aws::loaded() else {
        return Vec::new();
    };
    let sdk = &sdk;
    futures_util::future::join_all(wanted.into_iter().map(|w| async move {
        let uses = w.uses.join(", ");
        let asked = async {
            match &w.target {
                Target::Secret { region, arn } => secret(sdk, region, arn, &uses).await,
                Target::Parameter { name, .. }
                    if w.account.is_some() && account.is_some() && w.account.as_deref() != account =>
                {
                    json!({"name": "secret", "status": "skipped",
                        "detail": format!("parameter {name} ({uses}) not checked: its ARN names account {}, not the caller's (a parameter shared from another account)", w.account.as_deref().unwrap_or("?"))})
                }
                Target::Parameter { region, name } => {
                    parameter(sdk, region.as_deref(), name, &uses).await
                }
                Target::Neither(arn) => json!({"name": "secret", "status": "failed",
                    "detail": format!("{arn} ({uses}) is neither a Secrets Manager secret nor an SSM parameter: ECS cannot read it, the tasks would fail to start")}),
            }
        };
        match tokio::time::timeout(PER_SECRET, asked).await {
            Ok(check) => check,
            Err(_) => json!({"name": "secret", "status": "skipped",
                "detail": format!("the secret of {uses} not checked: no answer within {} s", PER_SECRET.as_secs())}),
        }
    }))
    .await
}

/// One secret's lookup: a Secrets Manager or SSM endpoint that stalls
/// costs a skipped check, not the job.
const PER_SECRET: std::time::Duration = std::time::Duration::from_secs(30);

/// Whether `region` is another than the tool's (a client of its own).
fn other_region(sdk: &SdkConfig, region: Option<&str>) -> Option<Region> {
    region
        .filter(|r| sdk.region().map(|own| own.as_ref()) != Some(*r))
        .map(|r| Region::new(r.to_string()))
}

async fn secret(sdk: &SdkConfig, region: &str, arn: &str, uses: &str) -> Value {
    let mut config = aws_sdk_secretsmanager::config::Builder::from(sdk).interceptor(StallWatch);
    if let Some(region) = other_region(sdk, Some(region)) {
        config = config.region(region);
    }
    let client = aws_sdk_secretsmanager::Client::from_conf(config.build());
    match client.describe_secret().secret_id(arn).send().await {
        Ok(found) if found.deleted_date().is_some() => json!({"name": "secret", "status": "failed",
            "detail": format!("secret {arn} ({uses}) is scheduled for deletion: the tasks would fail to start (restore it, or name another)")}),
        Ok(_) => json!({"name": "secret", "status": "ok",
            "detail": format!("secret {arn} exists")}),
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            json!({"name": "secret", "status": "failed",
                "detail": format!("secret {arn} ({uses}) does not exist: the tasks would fail to start")})
        }
        Err(e) if is_denied(&e) => json!({"name": "secret", "status": "skipped",
            "detail": format!("secret {arn} not checked: the caller lacks secretsmanager:DescribeSecret")}),
        Err(e) => json!({"name": "secret", "status": "skipped",
            "detail": format!("secret {arn} not checked: {}", describe(&e))}),
    }
}

async fn parameter(sdk: &SdkConfig, region: Option<&str>, name: &str, uses: &str) -> Value {
    let mut config = aws_sdk_ssm::config::Builder::from(sdk).interceptor(StallWatch);
    if let Some(region) = other_region(sdk, region) {
        config = config.region(region);
    }
    let client = aws_sdk_ssm::Client::from_conf(config.build());
    let shown = match region {
        Some(region) => format!("parameter {name} (in {region})"),
        None => format!("parameter {name}"),
    };
    let filter = match ParameterStringFilter::builder()
        .key("Name")
        .option("Equals")
        .values(name)
        .build()
    {
        Ok(filter) => filter,
        Err(e) => {
            return json!({"name": "secret", "status": "skipped",
            "detail": format!("{shown} not checked: {e}")});
        }
    };
    // A filtered DescribeParameters may answer a page with nothing and a
    // token: follow the tokens (a bounded number of them).
    let mut token: Option<String> = None;
    for _ in 0..50 {
        let answer = client
            .describe_parameters()
            .parameter_filters(filter.clone())
            .set_next_token(token.take())
            .send()
            .await;
        match answer {
            Ok(page) if !page.parameters().is_empty() => {
                return json!({"name": "secret", "status": "ok",
                    "detail": format!("{shown} exists")});
            }
            Ok(page) => match page.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_string()),
                _ => {
                    return json!({"name": "secret", "status": "failed",
                        "detail": format!("{shown} ({uses}) does not exist: the tasks would fail to start")});
                }
            },
            Err(e) if is_denied(&e) => {
                return json!({"name": "secret", "status": "skipped",
                    "detail": format!("{shown} not checked: the caller lacks ssm:DescribeParameters")});
            }
            Err(e) => {
                return json!({"name": "secret", "status": "skipped",
                    "detail": format!("{shown} not checked: {}", describe(&e))});
            }
        }
    }
    json!({"name": "secret", "status": "skipped",
        "detail": format!("{shown} not checked: DescribeParameters kept answering pages without it")})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(region: &str, arn: &str) -> Target {
        Target::Secret {
            region: region.to_string(),
            arn: arn.to_string(),
        }
    }

    fn parameter(region: Option<&str>, name: &str) -> Target {
        Target::Parameter {
            region: region.map(str::to_string),
            name: name.to_string(),
        }
    }

    #[test]
    fn a_secret_is_looked_up_without_its_json_key_and_version() {
        let plain = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf";
        for given in [
            plain.to_string(),
            format!("{plain}:password::"),
            format!("{plain}:password:AWSCURRENT:"),
            format!("{plain}::AWSPREVIOUS:"),
            format!("{plain}:::0b1c2d3e-aaaa-bbbb-cccc-123456789012"),
        ] {
            assert_eq!(Target::of(&given), secret("eu-west-1", plain), "{given}");
        }
    }

    #[test]
    fn a_parameter_s_name_comes_from_its_arn_or_is_given_bare() {
        assert_eq!(
            Target::of("arn:aws:ssm:us-west-2:123456789012:parameter/app/db"),
            parameter(Some("us-west-2"), "/app/db")
        );
        assert_eq!(
            Target::of("arn:aws:ssm:us-west-2:123456789012:parameter/db"),
            parameter(Some("us-west-2"), "db")
        );
        assert_eq!(Target::of("/app/db"), parameter(None, "/app/db"));
        assert_eq!(Target::of("db"), parameter(None, "db"));
        assert_eq!(Target::of("db:3"), parameter(None, "db"));
    }

    #[test]
    fn an_arn_of_another_service_is_neither() {
        let kms = "arn:aws:kms:us-east-1:123456789012:key/abc";
        assert_eq!(Target::of(kms), Target::Neither(kms.to_string()));
    }

    #[test]
    fn each_secret_is_wanted_once_with_every_use() {
        let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf";
        let td = json!({"containerDefinitions": [
            {"name": "web", "secrets": [
                {"name": "DB_URL", "valueFrom": arn},
                {"name": "DB_PASSWORD", "valueFrom": format!("{arn}:password::")}],
             "logConfiguration": {"logDriver": "splunk", "secretOptions": [
                {"name": "splunk-token", "valueFrom": "/logs/token"}]}},
            {"name": "worker", "repositoryCredentials": {"credentialsParameter": arn}}]});
        let wanted = wanted(&td);
        assert_eq!(wanted.len(), 2);
        assert_eq!(wanted[0].target, secret("us-east-1", arn));
        assert_eq!(
            wanted[0].uses,
            [
                "DB_URL of container \"web\"",
                "DB_PASSWORD of container \"web\"",
                "the repository credentials of container \"worker\""
            ]
        );
        assert_eq!(wanted[1].target, parameter(None, "/logs/token"));
        assert_eq!(
            wanted[1].uses,
            ["log option splunk-token of container \"web\""]
        );
    }
}
