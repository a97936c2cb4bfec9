//! Why STS would not give the role's credentials for a web identity token
//! (`AWS_ROLE_ARN` + `AWS_WEB_IDENTITY_TOKEN_FILE`: GitLab's `id_tokens`,
//! EKS, a CI job that assumes the role itself). The SDK fails the first
//! call with "an error occurred while loading credentials", the STS
//! refusal among its causes; [`explain`] turns that into what a person
//! fixes: the role, the token's own claims, and the trust-policy
//! conditions that must match them.
//!
//! The token is a credential: only its payload (the middle segment of the
//! JWT) is decoded, and only the claims a trust policy tests are printed,
//! never the token, its header, its signature or any other claim.

use aws_sdk_sts::error::SdkError;
use aws_sdk_sts::operation::assume_role_with_web_identity::AssumeRoleWithWebIdentityError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use base64::Engine;
use serde_json::{Map, Value};

/// The claims a trust policy tests, in the order they are printed.
const CLAIMS: [&str; 6] = ["iss", "aud", "sub", "repository", "ref", "environment"];

/// GitHub's issuer, whose tokens are asked for with the audience
/// `sts.amazonaws.com` (configure-aws-credentials' default).
const GITHUB: &str = "https://token.actions.githubusercontent.com";

/// The explanation of an STS refusal of `AssumeRoleWithWebIdentity` found
/// among `err`'s causes, or `None` when there is none. The role and the
/// token file are read from `AWS_ROLE_ARN` and
/// `AWS_WEB_IDENTITY_TOKEN_FILE`; a profile can name them instead
/// (`role_arn` + `web_identity_token_file` in ~/.aws/config), and then the
/// role and claims are not shown: the environment is how CI sets them.
pub(super) fn explain(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut next = Some(err);
    let refusal = loop {
        let e = next?;
        if let Some(sts) = e.downcast_ref::<SdkError<AssumeRoleWithWebIdentityError>>()
            && let Some(code) = sts.code()
        {
            break (code, sts.message().unwrap_or_default());
        }
        next = e.source();
    };
    let role = std::env::var("AWS_ROLE_ARN").ok();
    let token = std::env::var_os("AWS_WEB_IDENTITY_TOKEN_FILE").map(|file| {
        let claims = std::fs::read_to_string(&file).ok().and_then(|t| claims(&t));
        (std::path::PathBuf::from(file).display().to_string(), claims)
    });
    Some(words(refusal, role.as_deref(), token))
}

/// The JWT's payload claims, or `None` when `token` is no JWS compact
/// token (three dot-separated segments) with a base64url JSON object in
/// the middle.
fn claims(token: &str) -> Option<Map<String, Value>> {
    let mut segments = token.trim().split('.');
    let (Some(_header), Some(payload), Some(_signature), None) = (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) else {
        return None;
    };
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&json).ok()
}

/// The message: the role, STS's words and what they mean, the token's
/// claims, and (refused by the trust policy) the conditions to check.
fn words(
    (code, said): (&str, &str),
    role: Option<&str>,
    token: Option<(String, Option<Map<String, Value>>)>,
) -> String {
    let role = role.map_or("the profile's role".to_string(), |r| format!("role {r}"));
    let meaning = match code {
        "AccessDenied" => "the role's trust policy does not accept this token",
        "InvalidIdentityToken" => {
            "STS does not trust the token's issuer or audience: the account needs an IAM OIDC identity provider for the issuer, with the token's aud among its audiences"
        }
        "ExpiredTokenException" => {
            "the token had expired when STS read it: ask for it in the job that runs the tool (a CI token lives minutes), or let the file be refreshed (EKS does)"
        }
        _ => "STS refused the token",
    };
    let mut message =
        format!("could not assume {role} with a web identity token: {code}: {said}; {meaning}");
    let claims = match token {
        None => None,
        Some((file, None)) => {
            message.push_str(&format!(
                "; the token in AWS_WEB_IDENTITY_TOKEN_FILE ({file}) is unreadable: no JWT whose payload is base64url JSON"
            ));
            None
        }
        Some((_, Some(claims))) => {
            let shown: Vec<String> = CLAIMS
                .iter()
                .filter_map(|name| claims.get(*name).map(|v| format!("{name} {}", shown(v))))
                .collect();
            message.push_str(&format!("; the token's claims: {}", shown.join(", ")));
            Some(claims)
        }
    };
    if code == "AccessDenied" {
        message.push_str(&conditions(claims.as_ref()));
    }
    message.push_str(
        "; with GitHub's aws-actions/configure-aws-credentials that step assumes the role, before these tools run: there, check its audience, the trust policy's sub and the job's permissions (id-token: write)",
    );
    message
}

/// The trust-policy conditions the claims must meet, keyed by the issuer
/// without its scheme (`token.actions.githubusercontent.com:aud`,
/// `gitlab.com:sub`; AWS keys an EKS cluster's issuer with its path too).
fn conditions(claims: Option<&Map<String, Value>>) -> String {
    let text = |name: &str| claims.and_then(|c| c.get(name)?.as_str());
    let issuer = text("iss").unwrap_or(GITHUB);
    let key = issuer.trim_start_matches("https://").trim_end_matches('/');
    let aud = if issuer == GITHUB {
        shown(&Value::from("sts.amazonaws.com"))
    } else {
        claims
            .and_then(|c| c.get("aud"))
            .map_or_else(|| "the token's aud".to_string(), shown)
    };
    // The key, quoted as JSON: an issuer is the token's word, and may hold
    // a line break or a quote.
    let key = |claim: &str| shown(&Value::from(format!("{key}:{claim}")));
    let sub = match text("sub") {
        Some(sub) => {
            let mut parts = sub.splitn(3, ':');
            let pattern = match (parts.next(), parts.next(), parts.next()) {
                // GitHub's repo:ORG/REPO:..., GitLab's project_path:GROUP/PROJECT:...
                (Some(kind @ ("repo" | "project_path")), Some(name), Some(_)) => {
                    format!(" or a StringLike pattern that covers it, such as \"{kind}:{name}:*\"")
                }
                _ => String::new(),
            };
            format!("equal to {}{pattern}", shown(&Value::from(sub)))
        }
        None => "matching the token's sub".to_string(),
    };
    format!(
        "; the trust policy's conditions must match the token: {} equal to {aud}, and {} {sub}",
        key("aud"),
        key("sub")
    )
}

/// The longest a claim is shown (characters).
const CLAIM_SHOWN: usize = 200;

/// A claim as the message shows it: a string (or a list of strings, as
/// `aud` may be) as JSON, cut at [`CLAIM_SHOWN`] characters; anything else
/// is not shown, only named (a claim is the token's word, not ours).
fn shown(value: &Value) -> String {
    let cut = |s: &str| -> String {
        match s.char_indices().nth(CLAIM_SHOWN) {
            Some((at, _)) => format!("{}…", &s[..at]),
            None => s.to_string(),
        }
    };
    match value {
        Value::String(s) => Value::from(cut(s)).to_string(),
        Value::Array(items) if items.iter().all(Value::is_string) => {
            let items: Vec<Value> = items
                .iter()
                .take(5)
                .map(|v| Value::from(cut(v.as_str().unwrap_or_default())))
                .collect();
            Value::from(items).to_string()
        }
        _ => "(not a string: not shown)".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(json: &str) -> String {
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!("{}.{}.c2ln", b64(r#"{"alg":"RS256"}"#), b64(json))
    }

    #[test]
    fn only_the_payload_of_a_three_segment_token_is_read() {
        let claims = claims(&payload(r#"{"sub":"repo:o/r:ref:refs/heads/main"}"#)).unwrap();
        assert_eq!(claims["sub"], "repo:o/r:ref:refs/heads/main");
        assert!(super::claims("a.b").is_none());
        assert!(super::claims("a.e30.c.d.e").is_none());
        assert!(super::claims("a.!!.c").is_none());
    }

    #[test]
    fn a_claim_is_shown_as_a_string_cut_short_or_not_at_all() {
        let long = "x".repeat(300);
        let json = format!(
            r#"{{"iss":"https://evil.example/\n::error::forged","sub":{{"inner":"PRIVATE"}},"aud":"{long}"}}"#
        );
        let said = words(
            ("AccessDenied", "no"),
            Some("arn:aws:iam::1:role/r"),
            Some(("f".into(), claims(&payload(&json)))),
        );
        assert!(!said.contains("PRIVATE") && !said.contains('\n'), "{said}");
        assert!(said.contains("sub (not a string: not shown)"), "{said}");
        assert!(
            said.contains(&format!("aud \"{}…\"", "x".repeat(200))),
            "{said}"
        );
        assert!(
            said.contains(r#""evil.example/\n::error::forged:aud""#),
            "{said}"
        );
    }

    #[test]
    fn a_gitlab_token_is_checked_under_its_own_issuer() {
        let claims = claims(&payload(
            r#"{"iss":"https://gitlab.com","aud":"https://gitlab.com","sub":"project_path:g/p:ref_type:branch:ref:main"}"#,
        ));
        let said = conditions(claims.as_ref());
        assert!(
            said.contains(r#""gitlab.com:aud" equal to "https://gitlab.com""#),
            "{said}"
        );
        assert!(said.contains(r#"such as "project_path:g/p:*""#), "{said}");
    }
}
