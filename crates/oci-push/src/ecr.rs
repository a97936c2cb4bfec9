//! Pushing to Amazon ECR: the repository must exist first (ECR answers a
//! push into a missing one with a bare connection reset). For an ECR host,
//! the repository is looked up through the ECR API before anything is
//! sent; `--create-repository` creates it (no creation template needed),
//! otherwise its absence is an error naming the repository and the flag.

use aws_sdk_ecr::error::ProvideErrorMetadata;
use deploykit::aws::{self, AwsArgs};
use deploykit::{Error, Result, cli};

/// Makes sure `repository` exists in the ECR registry `host` (the image's
/// logical name), creating it when asked.
pub async fn ensure_repository(
    host: &str,
    repository: &str,
    create: bool,
    aws_args: &AwsArgs,
) -> Result<bool> {
    let Some((registry_id, region)) = deploykit::registry::ecr_host(host) else {
        if create {
            cli::warn(format!(
                "--create-repository: {host} is not an Amazon ECR registry; ignored"
            ));
        }
        return Ok(false);
    };
    // The registry's host names its region; --profile is the caller's.
    let config = aws::load(&AwsArgs {
        region: Some(region.to_string()),
        profile: aws_args.profile.clone(),
    })
    .await?;
    let client = aws_sdk_ecr::Client::from_conf(
        aws_sdk_ecr::config::Builder::from(&config)
            .interceptor(aws::StallWatch)
            .build(),
    );
    let described = client
        .describe_repositories()
        .registry_id(registry_id)
        .repository_names(repository)
        .send()
        .await;
    match described {
        Ok(_) => Ok(false),
        Err(e) if e.code() == Some("RepositoryNotFoundException") => {
            if !create {
                return Err(Error::failed(format!(
                    "ECR repository {repository:?} does not exist in {host}: pass --create-repository, or create it (aws ecr create-repository --repository-name {repository} --region {region})"
                )));
            }
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
