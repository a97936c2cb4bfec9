//! Pushing to Amazon ECR. A push needs no ECR API call beyond the login
//! (a push-only CI role grants only the registry-side actions):
//! `DescribeRepositories` and `CreateRepository` are called only with
//! `--create-repository`, which creates a missing repository. Without it, a
//! repository that does not exist is recognised from the registry's own
//! answer (`NAME_UNKNOWN`), named with the flag and the command that
//! creates it ([`missing`]).

use aws_sdk_ecr::error::ProvideErrorMetadata;
use deploykit::aws::{self, AwsArgs};
use deploykit::{Error, Result, cli};

/// With `--create-repository` (`create`), makes sure `repository` exists in
/// the ECR registry `host` (the image's logical name), creating it; true
/// when it did. Without, asks nothing.
pub async fn ensure_repository(
    host: &str,
    repository: &str,
    create: bool,
    aws_args: &AwsArgs,
) -> Result<bool> {
    if !create {
        return Ok(false);
    }
    let Some((registry_id, region)) = deploykit::registry::ecr_host(host) else {
        cli::warn(format!(
            "--create-repository: {host} is not an Amazon ECR registry; ignored"
        ));
        return Ok(false);
    };
    let client = client(region, aws_args).await?;
    match describe(&client, registry_id, repository).await {
        Ok(_) => Ok(false),
        Err(e) if e.code() == Some("RepositoryNotFoundException") => {
            client
                .create_repository()
                .registry_id(registry_id)
                .repository_name(repository)
                .send()
                .await
                .map_err(|e| {
                    aws::call_error(
                        format!("creating ECR repository {repository:?} in {host}"),
                        e,
                    )
                })?;
            cli::note(format!("created ECR repository {repository} in {host}"));
            Ok(true)
        }
        Err(e) => Err(aws::call_error(
            format!("looking up ECR repository {repository:?} in {host}"),
            e,
        )),
    }
}

/// The registry answered that `repository` does not exist (`NAME_UNKNOWN`):
/// what to do, for ECR (which needs the repository made first) or another
/// registry.
pub fn missing(host: &str, repository: &str) -> Error {
    match deploykit::registry::ecr_host(host) {
        Some((_, region)) => Error::failed(format!(
            "ECR repository {repository:?} does not exist in {host}: pass --create-repository, or create it (aws ecr create-repository --repository-name {repository} --region {region})"
        )),
        None => Error::failed(format!(
            "repository {repository:?} does not exist in {host} (the registry answered NAME_UNKNOWN): create it there first"
        )),
    }
}

/// The statement that lets a role push to an ECR repository (the push
/// policy's registry-side actions, on that repository), as JSON to paste;
/// `None` for a registry that is not ECR.
pub fn push_statement(host: &str, repository: &str) -> Option<String> {
    let (account, region) = deploykit::registry::ecr_host(host)?;
    let statement = serde_json::json!({
        "Effect": "Allow",
        "Action": [
            "ecr:BatchCheckLayerAvailability",
            "ecr:GetDownloadUrlForLayer",
            "ecr:BatchGetImage",
            "ecr:InitiateLayerUpload",
            "ecr:UploadLayerPart",
            "ecr:CompleteLayerUpload",
            "ecr:PutImage",
        ],
        "Resource": format!("arn:aws:ecr:{region}:{account}:repository/{repository}"),
    });
    Some(statement.to_string())
}

/// DescribeRepositories for the one repository.
async fn describe(
    client: &aws_sdk_ecr::Client,
    registry_id: &str,
    repository: &str,
) -> std::result::Result<
    aws_sdk_ecr::operation::describe_repositories::DescribeRepositoriesOutput,
    aws_sdk_ecr::error::SdkError<
        aws_sdk_ecr::operation::describe_repositories::DescribeRepositoriesError,
    >,
> {
    client
        .describe_repositories()
        .registry_id(registry_id)
        .repository_names(repository)
        .send()
        .await
}

/// The ECR API client for the registry's region (its host names it;
/// --profile is the caller's).
async fn client(region: &str, aws_args: &AwsArgs) -> Result<aws_sdk_ecr::Client> {
    let config = aws::load(&AwsArgs {
        region: Some(region.to_string()),
        profile: aws_args.profile.clone(),
    })
    .await?;
    Ok(aws_sdk_ecr::Client::from_conf(
        aws_sdk_ecr::config::Builder::from(&config)
            .interceptor(aws::StallWatch)
            .build(),
    ))
}

/// A push to ECR given up on a cut connection (tried again first): ECR
/// answers a push into a repository that does not exist that way. One
/// DescribeRepositories says whether that is why; refused (a push-only
/// role), the message says the repository may not exist and which
/// permission would tell. Any other push failure is returned as it is.
pub async fn explain(e: Error, host: &str, repository: &str, aws_args: &AwsArgs) -> Error {
    let Some((registry_id, region)) = deploykit::registry::ecr_host(host) else {
        return e;
    };
    if !e.is_transient() {
        return e;
    }
    let Ok(client) = client(region, aws_args).await else {
        return e;
    };
    match describe(&client, registry_id, repository).await {
        Err(err) if err.code() == Some("RepositoryNotFoundException") => missing(host, repository),
        Err(err) if aws::is_denied(&err) => Error::failed(format!(
            "{}; the ECR repository {repository:?} may not exist (ECR closes the connection of a push into a missing one): ecr:DescribeRepositories would tell, and --create-repository creates it",
            e.message()
        )),
        _ => e,
    }
}
