//! AWS access as ARCHITECTURE.md ("AWS access") says: `aws-config`'s default chain (env, profile,
//! SSO, web identity, ECS and IMDS), `--region` and `--profile`, and
//! `AWS_ENDPOINT_URL` honoured, so tests reach moto the way users reach AWS.
//!
//! Errors from the SDK are turned into one line a person can read: the
//! service's code and message (`ProvideErrorMetadata`), not the raw HTTP
//! response that `DisplayErrorContext` would print; a web identity token
//! that STS refused, with what to check (`web_identity`).

use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use aws_config::BehaviorVersion;
pub use aws_config::SdkConfig;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::AfterDeserializationInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_smithy_types::retry::ErrorKind;

use crate::error::{Error, Result};

mod web_identity;

/// The flags every AWS-calling tool takes, flattened into its clap `Args`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct AwsArgs {
    /// AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, then the profile's region)
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// Named profile from ~/.aws/config (default: AWS_PROFILE, then "default")
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
}

impl AwsArgs {
    /// Checks `--region`'s form before any call (exit 2 naming the value).
    pub fn check(&self) -> Result<()> {
        match &self.region {
            Some(region) => check_region(region),
            None => Ok(()),
        }
    }

    /// The region of the resources that ARNs name (read on stdin, or given
    /// as flags) is the region of the calls about them: it wins over
    /// `AWS_REGION` and the profile, so `aws ecs update-service --region
    /// eu-west-1 ... | ecs-wait` follows the eu-west-1 service even under
    /// `AWS_REGION=us-east-1`. An ARN whose region disagrees with an
    /// explicit `--region`, or with another ARN's, is exit 2 naming both.
    /// `arns` are (where it was read, the ARN).
    pub fn follow_arns<'a>(
        &mut self,
        arns: impl IntoIterator<Item = (String, &'a str)>,
    ) -> Result<()> {
        let mut found: Option<(String, &str)> = None;
        for (place, arn) in arns {
            let Some(region) = region_of_arn(arn) else {
                continue;
            };
            if check_region(region).is_err() {
                return Err(Error::usage(format!(
                    "{place}: its ARN names the region {region:?}, which is no region name such as us-east-1"
                )));
            }
            if let Some(flag) = &self.region
                && flag != region
            {
                return Err(Error::usage(format!(
                    "{place} is in region {region:?} (its ARN says so), but --region is {flag:?}: drop --region, or give the {flag} resource"
                )));
            }
            match &found {
                Some((first, other)) if *other != region => {
                    return Err(Error::usage(format!(
                        "{first} is in region {other:?} but {place} in {region:?} (their ARNs say so): one run works in one region"
                    )));
                }
                Some(_) => {}
                None => found = Some((place, region)),
            }
        }
        if let Some((place, region)) = found
            && self.region.is_none()
        {
            let env = std::env::var("AWS_REGION")
                .or_else(|_| std::env::var("AWS_DEFAULT_REGION"))
                .ok();
            if let Some(env) = env.filter(|env| env != region) {
                crate::cli::note(format!(
                    "working in region {region}, where {place} is (its ARN says so), not AWS_REGION's {env}"
                ));
            }
            self.region = Some(region.to_string());
        }
        Ok(())
    }
}

/// The region an ARN names (`arn:aws:ecs:eu-west-1:123456789012:service/c/s`
/// names `eu-west-1`), if it is an ARN and names one.
pub fn region_of_arn(arn: &str) -> Option<&str> {
    let mut parts = arn.splitn(6, ':');
    (parts.next()? == "arn").then_some(())?;
    let _partition = parts.next()?;
    let _service = parts.next()?;
    let region = parts.next()?;
    let _account = parts.next()?;
    parts.next()?;
    (!region.is_empty()).then_some(region)
}

/// A region name as AWS spells every one (`us-east-1`, `us-gov-west-1`):
/// lowercase letters, digits and dashes. Exit 2 naming the value (a region
/// is no secret), escaped for the terminal.
pub fn check_region(region: &str) -> Result<()> {
    let ok = !region.is_empty()
        && region.len() <= 32
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && region.bytes().any(|b| b == b'-');
    if ok {
        Ok(())
    } else {
        Err(Error::usage(format!(
            "--region {region:?}: expected a region name such as us-east-1"
        )))
    }
}

/// The AWS flags of a tool that works in several regions in one run
/// (ecr-login): `--region` repeatable, the rest as in [`AwsArgs`].
#[derive(clap::Args, Debug, Clone, Default)]
pub struct AwsRegionsArgs {
    /// AWS region; repeat it to work in several regions at once (default: AWS_REGION, AWS_DEFAULT_REGION, then the profile's region)
    #[arg(long = "region", value_name = "REGION")]
    pub regions: Vec<String>,
    /// Named profile from ~/.aws/config (default: AWS_PROFILE, then "default")
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
}

impl AwsRegionsArgs {
    /// One [`AwsArgs`] per region given (duplicates dropped), or one with no
    /// region (the default chain's) when none was.
    pub fn each(&self) -> Vec<AwsArgs> {
        let mut regions: Vec<Option<String>> = Vec::new();
        for region in &self.regions {
            if !regions.iter().any(|r| r.as_deref() == Some(region)) {
                regions.push(Some(region.clone()));
            }
        }
        if regions.is_empty() {
            regions.push(None);
        }
        regions
            .into_iter()
            .map(|region| AwsArgs {
                region,
                profile: self.profile.clone(),
            })
            .collect()
    }
}

/// A single-threaded runtime: each tool makes a handful of calls in sequence,
/// and a second thread would only cost start-up time.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::failed(format!("starting the async runtime: {e}")))
}

/// Loads the SDK configuration from the default chain and the flags, and
/// makes sure a region is known before any call is made (exit 2 otherwise).
/// A call may take [`CALL_CAP`] with its retries, an attempt 60 s.
pub async fn load(args: &AwsArgs) -> Result<SdkConfig> {
    load_within(args, CALL_CAP).await
}

/// The longest any one AWS call may take, its retries included.
pub const CALL_CAP: Duration = Duration::from_secs(180);

/// [`load`] for a tool with a `--timeout`: no call takes longer than
/// `limit` (nor [`CALL_CAP`]), so an endpoint that never answers ends the
/// run at its time-out, not three minutes later.
pub async fn load_within(args: &AwsArgs, limit: Duration) -> Result<SdkConfig> {
    let limit = limit.clamp(Duration::from_secs(1), CALL_CAP);
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(region) = &args.region {
        check_region(region)?;
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    if let Some(profile) = &args.profile {
        loader = loader.profile_name(profile);
    }
    // An endpoint that stops answering fails the call (the SDK tries it
    // again) instead of hanging the job: the SDK sets no time-out itself.
    loader = loader.timeout_config(
        aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(10).min(limit))
            .read_timeout(Duration::from_secs(60).min(limit))
            .operation_attempt_timeout(Duration::from_secs(60).min(limit))
            .operation_timeout(limit)
            .build(),
    );
    let config = loader.load().await;
    let _ = LOADED.set(config.clone());
    match config.region() {
        None => Err(Error::usage(
            "no AWS region: pass --region, or set AWS_REGION or a region in the profile",
        )),
        // A region from the environment or the profile is checked as the
        // flag is, and said to come from there.
        Some(region) => match check_region(region.as_ref()) {
            Err(_) if args.region.is_none() => Err(Error::usage(format!(
                "the AWS region {:?} (from AWS_REGION, AWS_DEFAULT_REGION or the profile) is no region name such as us-east-1",
                region.as_ref()
            ))),
            checked => checked.map(|()| config),
        },
    }
}

/// Turns an SDK error into an [`Error`] (exit 1) that says what was being
/// done and what AWS answered: `describing task definition "web": ClientException: Unable to describe task definition.`
pub fn call_error<E>(doing: impl fmt::Display, err: SdkError<E, HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let said = describe(&err);
    if is_denied(&err) {
        let advice = denied_advice(&said, None);
        Error::failed(format!("{doing}: {said}{advice}")).denied()
    } else {
        Error::failed(format!("{doing}: {said}"))
    }
}

/// What to do about a refusal, from AWS's own words (`User: ARN is not
/// authorized to perform: ACTION [on resource: ARN]`): who was refused
/// (an assumed role and its session said plainly), and the smallest
/// policy statement that grants it, as JSON to paste. `action` is the
/// call's own, for a refusal that does not name one. Two actions need more
/// than their name: `ecs:TagResource` (ECS authorizes tags given on create
/// since 2024; the statement is conditioned on `ecs:CreateAction`) and
/// `iam:PassRole` (on the role, to ECS tasks only).
pub fn denied_advice(said: &str, action: Option<&str>) -> String {
    let after = |marker: &str| -> Option<&str> {
        let start = said.find(marker)? + marker.len();
        let rest = &said[start..];
        let end = rest.find([' ', ';', ',', '\n']).unwrap_or(rest.len());
        Some(rest[..end].trim_end_matches('.')).filter(|s| !s.is_empty())
    };
    let Some(action) = after("not authorized to perform: ").or(action) else {
        return String::new();
    };
    let resource = after(" on resource: ").unwrap_or("*");
    let caller = after("User: ").map(caller_words);
    let statement = match action {
        "ecs:TagResource" => serde_json::json!({
            "Effect": "Allow",
            "Action": "ecs:TagResource",
            "Resource": "*",
            "Condition": {"StringEquals": {"ecs:CreateAction": [
                "RegisterTaskDefinition", "RunTask", "CreateService", "UpdateService"
            ]}},
        }),
        "iam:PassRole" => serde_json::json!({
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": resource,
            "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
        }),
        _ => serde_json::json!({"Effect": "Allow", "Action": action, "Resource": resource}),
    };
    let why = match action {
        "ecs:TagResource" => " (tags given when a resource is created need it too)",
        "iam:PassRole" => " (a task definition's taskRoleArn or executionRoleArn is passed to ECS)",
        _ => "",
    };
    let whom = caller.unwrap_or_else(|| CALLER.to_string());
    format!("; {whom} lacks {action}{why}: add to its policy {statement}")
}

/// Who a refusal names when AWS's words do not: [`name_the_caller`]
/// replaces it.
pub const CALLER: &str = "the caller";

/// The first configuration [`load`] built: the one whose credentials a
/// refusal was for.
static LOADED: OnceLock<SdkConfig> = OnceLock::new();

/// The configuration the tool loaded first (none before [`load`]): for a
/// client of another service made deep in the work (a crash's logs).
pub fn loaded() -> Option<SdkConfig> {
    LOADED.get().cloned()
}

/// A refusal whose message names no caller ("the caller lacks ..."), made
/// to name it: one `sts:GetCallerIdentity` (which needs no permission),
/// made only now, after the refusal, with the credentials the tool used,
/// an assumed role and its session said plainly. Any other error, or a
/// caller that cannot be asked within a few seconds, is returned as it is.
/// Runs outside the tool's runtime (`cli` calls it once the work is done).
pub fn name_the_caller(e: Error) -> Error {
    let unnamed = format!("; {CALLER} lacks ");
    if !e.is_denied() || !e.message().contains(&unnamed) {
        return e;
    }
    let Ok(rt) = runtime() else { return e };
    let ask = async {
        let config = match LOADED.get() {
            Some(config) => config.clone(),
            None => load_within(&AwsArgs::default(), Duration::from_secs(5))
                .await
                .ok()?,
        };
        let sts = aws_sdk_sts::Client::new(&config);
        let who = tokio::time::timeout(Duration::from_secs(5), sts.get_caller_identity().send())
            .await
            .ok()?
            .ok()?;
        who.arn().map(str::to_string)
    };
    match rt.block_on(ask) {
        Some(arn) => {
            let whom = caller_words(&arn);
            e.reworded(|m| m.replacen(&unnamed, &format!("; {whom} lacks "), 1))
        }
        None => e,
    }
}

/// An ARN as a refusal names it: an assumed role and its session plainly
/// (`role ROLE (session SESSION, ARN)`), anything else as it is.
fn caller_words(arn: &str) -> String {
    // arn:aws:sts::123456789012:assumed-role/ROLE/SESSION
    match arn
        .split_once(":assumed-role/")
        .and_then(|(_, r)| r.split_once('/'))
    {
        Some((role, session)) => format!("role {role} (session {session}, {arn})"),
        None => arn.to_string(),
    }
}

/// Whether AWS refused the call for want of a permission: real AWS says
/// `AccessDeniedException` in JSON (or `AccessDenied`); moto, enforcing
/// IAM, answers a JSON-protocol call with HTTP 403 and an XML
/// `AccessDenied` body, which the SDK cannot read as the service's error.
pub fn is_denied<E>(err: &SdkError<E, HttpResponse>) -> bool
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    const DENIED: [&str; 2] = ["AccessDeniedException", "AccessDenied"];
    match err {
        SdkError::ServiceError(service) => match service.err().code() {
            Some(code) => DENIED.contains(&code),
            None => {
                xml_error(service.raw()).is_some_and(|(code, _)| DENIED.contains(&code.as_str()))
            }
        },
        SdkError::ResponseError(response) => {
            xml_error(response.raw()).is_some_and(|(code, _)| DENIED.contains(&code.as_str()))
        }
        _ => false,
    }
}

/// `(Code, Message)` of an XML error body (`<ErrorResponse><Error><Code>`),
/// as the query protocol answers and as moto answers a refusal whatever
/// the protocol.
fn xml_error(raw: &HttpResponse) -> Option<(String, String)> {
    let body = std::str::from_utf8(raw.body().bytes()?).ok()?;
    let tag = |name: &str| -> Option<String> {
        let open = format!("<{name}>");
        let start = body.find(&open)? + open.len();
        let end = body[start..].find(&format!("</{name}>"))? + start;
        Some(body[start..end].trim().to_string())
    };
    Some((tag("Code")?, tag("Message").unwrap_or_default()))
}

/// One line for an SDK error: `Code: message` when the service said so.
pub fn describe<E>(err: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match err {
        SdkError::ServiceError(service) => {
            let inner = service.err();
            match (inner.code(), inner.message()) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                (Some(code), None) => code.to_string(),
                (None, Some(message)) => message.to_string(),
                (None, None) => match xml_error(service.raw()) {
                    Some((code, message)) if !message.is_empty() => format!("{code}: {message}"),
                    Some((code, _)) => code,
                    None => format!("HTTP {}", service.raw().status().as_u16()),
                },
            }
        }
        SdkError::TimeoutError(_) => "the request timed out".to_string(),
        SdkError::DispatchFailure(_) => {
            // Credentials are loaded on the first call: STS refusing the
            // web identity token fails it here.
            if let Some(explained) = web_identity::explain(err) {
                return explained;
            }
            let why = causes(err);
            // The credential chain's own report lists every provider it
            // tried and why each said no: that is the useful part.
            match why.split_once("no credentials found in chain") {
                Some((_, tried)) => {
                    let tried = tried.trim_start_matches(". Attempted:").trim_end();
                    format!("no AWS credentials found; the providers tried:{tried}")
                }
                None => format!("could not send the request: {why}"),
            }
        }
        SdkError::ResponseError(response) => match xml_error(response.raw()) {
            Some((code, message)) if !message.is_empty() => format!("{code}: {message}"),
            Some((code, _)) => code,
            None => format!(
                "unreadable response (HTTP {})",
                response.raw().status().as_u16()
            ),
        },
        other => causes(other),
    }
}

/// Whether the same call may pass if made again a little later: the
/// codes the SDK itself retries as throttling or transient (aws-runtime's
/// lists), a 5xx, 408 or 429, a time-out, a connection that failed or
/// dropped. Not: a refusal (access denied, validation), missing
/// credentials, an answer that could not be read.
pub fn is_transient<E>(err: &SdkError<E, HttpResponse>) -> bool
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    use aws_runtime::retries::classifiers::{THROTTLING_ERRORS, TRANSIENT_ERRORS};
    match err {
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            service.err().code().is_some_and(|code| {
                THROTTLING_ERRORS.contains(&code) || TRANSIENT_ERRORS.contains(&code)
            }) || status == 408
                || status == 429
                || status >= 500
        }
        SdkError::TimeoutError(_) => true,
        // A connection closed mid-answer is "other" with a transient kind.
        SdkError::DispatchFailure(failure) => {
            failure.is_io()
                || failure.is_timeout()
                || matches!(
                    failure.as_other(),
                    Some(
                        ErrorKind::TransientError
                            | ErrorKind::ThrottlingError
                            | ErrorKind::ServerError
                    )
                )
        }
        SdkError::ResponseError(response) => response.raw().status().as_u16() >= 500,
        _ => false,
    }
}

/// The chain of causes, one after another, without the Debug dump that
/// `DisplayErrorContext` appends: `io error: ...: Connection refused (os error 111)`.
fn causes(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = err.source();
    while let Some(e) = next {
        let text = e.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    if parts.is_empty() {
        DisplayErrorContext(err).to_string()
    } else {
        parts.join(": ")
    }
}

/// Keeps the raw JSON body of an operation's response, so a tool can pass on
/// what AWS returned as `serde_json::Value` (every field, even those newer
/// than our SDK build) instead of re-serialising the SDK's typed output.
///
/// Attach a clone with `.customize().interceptor(capture.clone())`; after
/// `send()` succeeds, [`CaptureBody::json`] holds the body.
#[derive(Debug, Clone, Default)]
pub struct CaptureBody(Arc<Mutex<Option<Vec<u8>>>>);

impl CaptureBody {
    /// The captured body as JSON; an error names `what` when there is none.
    pub fn json(&self, what: &str) -> Result<serde_json::Value> {
        let body = self
            .0
            .lock()
            .map_err(|_| Error::failed("capture lock poisoned"))?
            .take();
        let body =
            body.ok_or_else(|| Error::failed(format!("{what}: the response had no body")))?;
        serde_json::from_slice(&body)
            .map_err(|e| Error::failed(format!("{what}: the response is not JSON: {e}")))
    }
}

impl Intercept for CaptureBody {
    fn name(&self) -> &'static str {
        "CaptureBody"
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // Non-streaming operations have their whole body in memory by now.
        if let Some(bytes) = context.response().body().bytes() {
            *self.0.lock().map_err(|_| "capture lock poisoned")? = Some(bytes.to_vec());
        }
        Ok(())
    }
}

/// How long a call may go unanswered before stderr says so, and how often
/// it says so again.
pub const STALL_NOTE_AFTER: Duration = Duration::from_secs(10);
const STALL_NOTE_EVERY: Duration = Duration::from_secs(30);

/// Says on stderr when an AWS call goes unanswered: after
/// [`STALL_NOTE_AFTER`] a line naming the call and the endpoint, then one
/// every 30 s, until the answer comes or the call's time-out ends it. An
/// endpoint that accepts and never answers (a proxy, a firewall dropping
/// replies) otherwise leaves the CI log silent for minutes. Give it to
/// every client: `aws::watched(aws_sdk_ecs::config::Builder::from(&sdk))`.
#[derive(Debug, Default, Clone)]
pub struct StallWatch;

/// The watcher of one attempt: dropping it (the answer came, or the
/// attempt ended) ends the watching thread.
#[derive(Debug, Clone)]
struct Watching(#[allow(dead_code)] std::sync::mpsc::Sender<()>);

impl aws_smithy_types::config_bag::Storable for Watching {
    type Storer = aws_smithy_types::config_bag::StoreReplace<Self>;
}

impl Intercept for StallWatch {
    fn name(&self) -> &'static str {
        "StallWatch"
    }

    fn read_before_transmit(
        &self,
        context: &aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let call = cfg
            .load::<aws_smithy_runtime_api::client::orchestrator::Metadata>()
            .map(|m| format!("{}:{}", m.service().to_ascii_lowercase(), m.name()))
            .unwrap_or_else(|| "an AWS call".to_string());
        let uri = context.request().uri();
        // The endpoint alone: a presigned query string is no one's business.
        let endpoint = uri.split('?').next().unwrap_or(uri).to_string();
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        std::thread::spawn(move || {
            let started = std::time::Instant::now();
            let mut wait = STALL_NOTE_AFTER;
            while stopped.recv_timeout(wait) == Err(std::sync::mpsc::RecvTimeoutError::Timeout) {
                crate::cli::note(format!(
                    "still waiting for {call} at {endpoint}: no answer in {}s",
                    started.elapsed().as_secs()
                ));
                wait = STALL_NOTE_EVERY;
            }
        });
        cfg.interceptor_state().store_put(Watching(stop));
        Ok(())
    }

    fn read_after_transmit(
        &self,
        _context: &aws_smithy_runtime_api::client::interceptors::context::BeforeDeserializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        cfg.interceptor_state().unset::<Watching>();
        Ok(())
    }

    fn read_after_attempt(
        &self,
        _context: &aws_smithy_runtime_api::client::interceptors::context::FinalizerInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        cfg.interceptor_state().unset::<Watching>();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use aws_smithy_runtime_api::client::result::ConnectorError;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    use super::*;

    #[test]
    fn a_refusal_names_the_role_and_the_statement_to_add() {
        let said = "AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/ci-deploy/GitHubActions is not authorized to perform: ecs:RegisterTaskDefinition on resource: * because no identity-based policy allows the ecs:RegisterTaskDefinition action";
        let advice = denied_advice(said, None);
        assert!(
            advice.starts_with("; role ci-deploy (session GitHubActions, arn:aws:sts::123456789012:assumed-role/ci-deploy/GitHubActions) lacks ecs:RegisterTaskDefinition: add to its policy "),
            "{advice}"
        );
        assert!(
            advice.ends_with(
                r#"{"Effect":"Allow","Action":"ecs:RegisterTaskDefinition","Resource":"*"}"#
            ),
            "{advice}"
        );
    }

    #[test]
    fn tags_on_create_need_tag_resource_conditioned_on_the_create_action() {
        let said = "AccessDeniedException: User: arn:aws:iam::123456789012:user/ci is not authorized to perform: ecs:TagResource on resource: arn:aws:ecs:us-east-1:123456789012:task-definition/web:3 because no identity-based policy allows the ecs:TagResource action";
        let advice = denied_advice(said, Some("ecs:RegisterTaskDefinition"));
        assert!(
            advice.contains("lacks ecs:TagResource (tags given when"),
            "{advice}"
        );
        assert!(advice.contains(r#""Condition":{"StringEquals":{"ecs:CreateAction":["RegisterTaskDefinition","RunTask""#), "{advice}");
    }

    #[test]
    fn pass_role_is_granted_on_the_role_to_ecs_tasks() {
        let said = "AccessDeniedException: User: arn:aws:iam::123456789012:user/ci is not authorized to perform: iam:PassRole on resource: arn:aws:iam::123456789012:role/web-task";
        let advice = denied_advice(said, None);
        assert!(
            advice.contains(r#""Resource":"arn:aws:iam::123456789012:role/web-task""#),
            "{advice}"
        );
        assert!(
            advice.contains(r#""iam:PassedToService":"ecs-tasks.amazonaws.com""#),
            "{advice}"
        );
    }

    #[test]
    fn a_refusal_that_names_nothing_gets_the_calls_own_action() {
        let advice = denied_advice(
            "AccessDeniedException: denied",
            Some("ecr:DescribeRepositories"),
        );
        assert!(
            advice.starts_with("; the caller lacks ecr:DescribeRepositories"),
            "{advice}"
        );
        assert_eq!(denied_advice("AccessDeniedException: denied", None), "");
    }

    fn service(status: u16, code: &str) -> SdkError<ErrorMetadata, HttpResponse> {
        let raw = HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::empty());
        SdkError::service_error(ErrorMetadata::builder().code(code).build(), raw)
    }

    fn dispatch(e: ConnectorError) -> SdkError<ErrorMetadata, HttpResponse> {
        SdkError::dispatch_failure(e)
    }

    #[test]
    fn throttling_and_server_errors_are_transient() {
        assert!(is_transient(&service(400, "ThrottlingException")));
        assert!(is_transient(&service(503, "ServerException")));
        assert!(is_transient(&service(429, "Whatever")));
        assert!(is_transient(&service(408, "Whatever")));
    }

    #[test]
    fn refusals_are_not_transient() {
        assert!(!is_transient(&service(400, "AccessDeniedException")));
        assert!(!is_transient(&service(400, "InvalidParameterException")));
        assert!(!is_transient(&service(400, "ClientException")));
    }

    #[test]
    fn a_dropped_or_refused_connection_is_transient() {
        let io = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(is_transient(&dispatch(ConnectorError::io(io.into()))));
        let closed = std::io::Error::other("connection closed before message completed");
        assert!(is_transient(&dispatch(ConnectorError::other(
            closed.into(),
            Some(ErrorKind::TransientError)
        ))));
        let slow = std::io::Error::other("slow");
        assert!(is_transient(&dispatch(ConnectorError::timeout(
            slow.into()
        ))));
    }

    #[test]
    fn a_user_error_in_dispatch_is_not_transient() {
        let no_credentials = std::io::Error::other("no credentials found in chain");
        assert!(!is_transient(&dispatch(ConnectorError::user(
            no_credentials.into()
        ))));
        let unknown = std::io::Error::other("?");
        assert!(!is_transient(&dispatch(ConnectorError::other(
            unknown.into(),
            None
        ))));
    }
}
