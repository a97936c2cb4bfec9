//! The region a tool works in against the region its images come from.
//!
//! A task definition's images name their ECR registry, and so a region
//! (`ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME`). When a cluster or a
//! service is not found in the region the tool works in, and the images
//! come from another, the likeliest cause is the wrong `--region`: one
//! look-up in the images' region says whether it is there
//! ([`cluster_elsewhere`], [`services_elsewhere`]). That look-up is
//! optional: refused, failing or slow, it costs the hint and nothing else
//! (no warning: the not-found error already says what went wrong). An
//! image pulled from another region than the cluster's is one warning per
//! registry region ([`cross_region_pulls`]).
//!
//! A cluster or service given as an ARN is never looked up elsewhere: its
//! ARN says its region, and the tool already works there
//! (`AwsArgs::follow_arns`).

use std::time::Duration;

use aws_sdk_ecs::Client;
use serde_json::Value;

use crate::aws::CaptureBody;
use crate::registry::{ecr_host, host_part};

/// How long the optional look-up may take: it only adds a hint to an error.
const LOOK_UP_FOR: Duration = Duration::from_secs(5);

/// Each container image of `td` that is in an ECR registry, as
/// `(image without its tag or digest, the registry's region)`, in order.
pub fn image_regions(td: &Value) -> Vec<(String, String)> {
    td["containerDefinitions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["image"].as_str())
        .filter(|image| image.contains('/'))
        .filter_map(|image| {
            let (_, region) = ecr_host(host_part(image))?;
            Some((repository_of(image).to_string(), region.to_string()))
        })
        .collect()
}

/// `HOST/NAME:TAG` or `HOST/NAME@DIGEST` → `HOST/NAME`.
fn repository_of(image: &str) -> &str {
    let image = image.split('@').next().unwrap_or(image);
    match image.rfind(':') {
        Some(colon) if !image[colon..].contains('/') => &image[..colon],
        _ => image,
    }
}

/// The first registry region of `td`'s images that is not `used`.
fn other_region(td: Option<&Value>, used: &str) -> Option<String> {
    image_regions(td?)
        .into_iter()
        .map(|(_, region)| region)
        .find(|region| region != used)
}

/// The region `client` works in.
fn region_of(client: &Client) -> Option<String> {
    client.config().region().map(ToString::to_string)
}

/// `client` as it is (credentials, endpoint, interceptors), in `region`.
fn client_in(client: &Client, region: &str) -> Client {
    Client::from_conf(
        client
            .config()
            .to_builder()
            .region(aws_sdk_ecs::config::Region::new(region.to_string()))
            .build(),
    )
}

/// `cluster` was not found where `client` works: when `td`'s images come
/// from another region, one DescribeClusters there, and the hint when the
/// cluster is ACTIVE in it: `cluster "prod" was not found in us-east-1 but
/// exists in eu-central-1: did you mean --region eu-central-1?`. None
/// otherwise, whatever the look-up met.
pub async fn cluster_elsewhere(
    client: &Client,
    td: Option<&Value>,
    cluster: &str,
) -> Option<String> {
    if cluster.starts_with("arn:") {
        return None;
    }
    let used = region_of(client)?;
    let other = other_region(td, &used)?;
    let capture = CaptureBody::default();
    let asked = client_in(client, &other)
        .describe_clusters()
        .clusters(cluster)
        .customize()
        .interceptor(capture.clone())
        .send();
    tokio::time::timeout(LOOK_UP_FOR, asked).await.ok()?.ok()?;
    let answer = capture.json("DescribeClusters").ok()?;
    let found = answer["clusters"].as_array()?.iter().any(|c| {
        c["clusterName"].as_str() == Some(cluster) && c["status"].as_str() == Some("ACTIVE")
    });
    found.then(|| {
        format!(
            "cluster {cluster:?} was not found in {used} but exists in {other}: did you mean --region {other}?"
        )
    })
}

/// Services `names` were not found in `cluster` where `client` works: when
/// `td`'s images come from another region, one DescribeServices there (at
/// most ten names, as ECS takes in one call), and the hint for each found
/// ACTIVE there: `(name, service "web" was not found in cluster "default"
/// in us-east-1 but exists in eu-central-1: did you mean --region
/// eu-central-1?)`. Empty otherwise, whatever the look-up met.
pub async fn services_elsewhere(
    client: &Client,
    td: Option<&Value>,
    cluster: &str,
    names: &[String],
) -> Vec<(String, String)> {
    let names: Vec<String> = names
        .iter()
        .filter(|n| !n.starts_with("arn:"))
        .take(10)
        .cloned()
        .collect();
    if names.is_empty() || cluster.starts_with("arn:") {
        return Vec::new();
    }
    let Some(used) = region_of(client) else {
        return Vec::new();
    };
    let Some(other) = other_region(td, &used) else {
        return Vec::new();
    };
    let capture = CaptureBody::default();
    let asked = client_in(client, &other)
        .describe_services()
        .cluster(cluster)
        .set_services(Some(names.clone()))
        .customize()
        .interceptor(capture.clone())
        .send();
    let answered = matches!(tokio::time::timeout(LOOK_UP_FOR, asked).await, Ok(Ok(_)));
    let Some(answer) = answered
        .then(|| capture.json("DescribeServices").ok())
        .flatten()
    else {
        return Vec::new();
    };
    let services = answer["services"].as_array().cloned().unwrap_or_default();
    names
        .into_iter()
        .filter(|name| {
            services.iter().any(|s| {
                s["serviceName"].as_str() == Some(name) && s["status"].as_str() == Some("ACTIVE")
            })
        })
        .map(|name| {
            let hint = format!(
                "service {name:?} was not found in cluster {cluster:?} in {used} but exists in {other}: did you mean --region {other}?"
            );
            (name, hint)
        })
        .collect()
}

/// One warning per registry region of `td`'s images that is not
/// `cluster_region`, naming its images: they are pulled across regions.
pub fn cross_region_pulls(td: &Value, cluster_region: &str) -> Vec<String> {
    let mut by_region: Vec<(String, Vec<String>)> = Vec::new();
    for (image, region) in image_regions(td) {
        if region == cluster_region {
            continue;
        }
        match by_region.iter_mut().find(|(r, _)| *r == region) {
            Some((_, images)) if !images.contains(&image) => images.push(image),
            Some(_) => {}
            None => by_region.push((region, vec![image])),
        }
    }
    by_region
        .into_iter()
        .map(|(region, images)| {
            let (noun, verb) = if images.len() == 1 {
                ("image", "pulls")
            } else {
                ("images", "pull")
            };
            format!(
                "{noun} {} {verb} from {region} while the service runs in {cluster_region}: cross-region pulls are slower, cost data transfer and need their own VPC endpoints",
                images.join(", ")
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn td(images: &[&str]) -> Value {
        let containers: Vec<Value> = images
            .iter()
            .enumerate()
            .map(|(i, image)| json!({"name": format!("c{i}"), "image": image}))
            .collect();
        json!({"family": "f", "containerDefinitions": containers})
    }

    #[test]
    fn only_ecr_images_have_a_region() {
        let td = td(&[
            "123456789012.dkr.ecr.eu-central-1.amazonaws.com/web:1",
            "public.ecr.aws/nginx/nginx:1",
            "nginx",
            "registry.example:5000/app@sha256:abc",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/api@sha256:abc",
        ]);
        assert_eq!(
            image_regions(&td),
            [
                (
                    "123456789012.dkr.ecr.eu-central-1.amazonaws.com/web".to_string(),
                    "eu-central-1".to_string()
                ),
                (
                    "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/api".to_string(),
                    "us-east-1".to_string()
                ),
            ]
        );
        assert_eq!(
            other_region(Some(&td), "us-east-1").as_deref(),
            Some("eu-central-1")
        );
        assert_eq!(
            other_region(Some(&td), "eu-central-1").as_deref(),
            Some("us-east-1")
        );
    }

    #[test]
    fn one_warning_per_registry_region() {
        let td = td(&[
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web:1",
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/sidecar:2",
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web:1",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/log-router:1",
            "123456789012.dkr.ecr.ap-south-1.amazonaws.com/agent:1",
        ]);
        let warnings = cross_region_pulls(&td, "us-east-1");
        assert_eq!(warnings.len(), 2, "{warnings:#?}");
        assert!(
            warnings[0].starts_with("images 123456789012.dkr.ecr.eu-west-1.amazonaws.com/web, 123456789012.dkr.ecr.eu-west-1.amazonaws.com/sidecar pull from eu-west-1 while the service runs in us-east-1: "),
            "{warnings:#?}"
        );
        assert!(
            warnings[1].starts_with(
                "image 123456789012.dkr.ecr.ap-south-1.amazonaws.com/agent pulls from ap-south-1"
            ),
            "{warnings:#?}"
        );
        assert!(cross_region_pulls(&td, "eu-west-1").len() == 2);
    }
}
