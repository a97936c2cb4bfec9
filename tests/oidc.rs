//! A CI job that assumes its role itself (`AWS_ROLE_ARN` +
//! `AWS_WEB_IDENTITY_TOKEN_FILE`: GitLab's id_tokens, EKS, example 5),
//! refused by STS: every tool that loads credentials says which role, the
//! token's own claims and what the trust policy must say, and never prints
//! the token. STS is the scripted endpoint (moto never refuses a web
//! identity); no other endpoint is reached.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use deploy_tests::scripted::ScriptedSts;
use deploy_tests::{Output, workspace_bin};

const ROLE: &str = "arn:aws:iam::123456789012:role/deploy-web";

/// A claim no message may repeat: a token can carry anything.
const PRIVATE: &str = "s3cr3t-claim-value-7f3a";

/// The signature segment of [`token`]: never printed.
const SIGNATURE: &str = "ZmFrZS1zaWduYXR1cmUtOWQ0ZQ";

/// A GitHub Actions id token as the job gets it, for an environment's job.
fn token() -> String {
    let header = serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": "key-1"});
    let payload = serde_json::json!({
        "iss": "https://token.actions.githubusercontent.com",
        "aud": "sts.amazonaws.com",
        "sub": "repo:example-org/web:environment:production",
        "repository": "example-org/web",
        "ref": "refs/heads/main",
        "environment": "production",
        "actor_private": PRIVATE,
        "exp": 1767225600,
    });
    let b64 = |v: &serde_json::Value| URL_SAFE_NO_PAD.encode(v.to_string());
    format!("{}.{}.{SIGNATURE}", b64(&header), b64(&payload))
}

/// ecs-deploy and ecr-login (each loads credentials on its first call),
/// with `token` in the file `AWS_WEB_IDENTITY_TOKEN_FILE` names and STS
/// answering `code`: each run's error message (exit 1), after checking
/// that STS was asked once per run and that no part of the token was
/// printed.
fn refused(code: &str, token: &str) -> Vec<String> {
    let sts = ScriptedSts::start(code);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("web-identity-token");
    std::fs::write(&file, token).unwrap();
    let runs: [(&str, &[&str]); 2] = [
        (
            "ecs-deploy",
            &["--family", "web:1", "--cluster", "prod", "--service", "web"],
        ),
        ("ecr-login", &[]),
    ];
    let mut messages = Vec::new();
    for (tool, args) in runs {
        let out = deploy_tests::tool(workspace_bin(tool))
            .args(args)
            .env("AWS_REGION", "us-east-1")
            // Never reached: the credentials fail first.
            .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
            .env("AWS_ENDPOINT_URL_STS", &sts.endpoint)
            .env("AWS_ROLE_ARN", ROLE)
            .env("AWS_WEB_IDENTITY_TOKEN_FILE", &file)
            .env("AWS_ROLE_SESSION_NAME", "gh-actions")
            .run();
        never_prints_the_token(&out, token);
        let message = out.failure_report(1)["error"]["message"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(out.stderr.contains(&message), "{}", out.stderr);
        messages.push(format!("{tool}: {message}"));
    }
    let log = sts.log();
    assert_eq!(
        log.matches("AssumeRoleWithWebIdentity").count(),
        2,
        "STS was asked: {log}"
    );
    messages
}

#[track_caller]
fn never_prints_the_token(out: &Output, token: &str) {
    let mut secrets = vec![token, SIGNATURE, PRIVATE];
    secrets.extend(token.split('.').filter(|s| s.len() > 8));
    for secret in secrets {
        for (name, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            assert!(!text.contains(secret), "{name} holds {secret:?}:\n{text}");
        }
    }
}

/// The claims a trust policy tests, each as the message prints it.
const CLAIMS: [&str; 6] = [
    r#"iss "https://token.actions.githubusercontent.com""#,
    r#"aud "sts.amazonaws.com""#,
    r#"sub "repo:example-org/web:environment:production""#,
    r#"repository "example-org/web""#,
    r#"ref "refs/heads/main""#,
    r#"environment "production""#,
];

#[test]
fn a_trust_policy_refusal_shows_the_role_the_claims_and_the_conditions_to_match() {
    for message in refused("AccessDenied", &token()) {
        assert!(message.contains(&format!("could not assume role {ROLE} with a web identity token: AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity; the role's trust policy does not accept this token")), "{message}");
        for claim in CLAIMS {
            assert!(message.contains(claim), "{claim}: {message}");
        }
        assert!(
            message.contains(
                r#""token.actions.githubusercontent.com:aud" equal to "sts.amazonaws.com""#
            ),
            "{message}"
        );
        assert!(message.contains(r#""token.actions.githubusercontent.com:sub" equal to "repo:example-org/web:environment:production" or a StringLike pattern that covers it, such as "repo:example-org/web:*""#), "{message}");
        assert!(
            message.contains("aws-actions/configure-aws-credentials"),
            "{message}"
        );
    }
}

#[test]
fn an_issuer_sts_does_not_trust_is_said_plainly_with_the_claims() {
    for message in refused("InvalidIdentityToken", &token()) {
        assert!(message.contains(&format!("could not assume role {ROLE} with a web identity token: InvalidIdentityToken: No OpenIDConnect provider found")), "{message}");
        assert!(
            message.contains("the account needs an IAM OIDC identity provider for the issuer"),
            "{message}"
        );
        for claim in CLAIMS {
            assert!(message.contains(claim), "{claim}: {message}");
        }
    }
}

#[test]
fn an_expired_token_is_said_plainly_with_the_claims() {
    for message in refused("ExpiredTokenException", &token()) {
        assert!(
            message.contains(&format!(
                "could not assume role {ROLE} with a web identity token: ExpiredTokenException: Token expired"
            )),
            "{message}"
        );
        assert!(
            message.contains("the token had expired when STS read it"),
            "{message}"
        );
        for claim in CLAIMS {
            assert!(message.contains(claim), "{claim}: {message}");
        }
    }
}

#[test]
fn a_token_that_cannot_be_decoded_is_called_unreadable_and_not_printed() {
    // Three segments, as a JWT has, but the payload is no base64url JSON.
    let garbled = format!("eyJhbGciOiJSUzI1NiJ9.{PRIVATE}!not-base64.{SIGNATURE}");
    for message in refused("AccessDenied", &garbled) {
        assert!(
            message.contains(&format!(
                "could not assume role {ROLE} with a web identity token: AccessDenied"
            )),
            "{message}"
        );
        assert!(
            message.contains("web-identity-token) is unreadable"),
            "{message}"
        );
        assert!(!message.contains("the token's claims"), "{message}");
    }
}
