//! `--plan`'s image check: every container image exists in its registry,
//! for the task's platform. Asked through the registry protocol as
//! oci-push reaches a registry: `$CONTAINERS_REGISTRIES_CONF` says where a
//! registry really is (the tests' and the demo's ECR name is a local
//! registry), the Docker config (`$DOCKER_CONFIG`, as ecr-login writes it)
//! gives the credentials.
//!
//! - The platform wanted is the definition's `runtimePlatform`
//!   (`cpuArchitecture`, `operatingSystemFamily`), else linux/amd64, as
//!   ECS runs a task without one.
//! - An index (or Docker manifest list) must name that platform: if not,
//!   the check fails naming the platforms it has. A single manifest's
//!   platform is in its config blob, which is read.
//! - Not found (404): failed. Refused (401/403: no login, or a role
//!   without `ecr:BatchGetImage`), unreachable or slow: skipped, saying
//!   why, as a check the caller may not make is.

use std::time::Duration;

use deploykit::registry::location::{self, Location};
use deploykit::registry::{self, DockerConfig};
use deploykit::{Error, Result};
use oci_client::Reference;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::secrets::RegistryAuth;
use serde_json::{Value, json};

const USER_AGENT: &str = concat!("ecs-deploy/", env!("CARGO_PKG_VERSION"));

/// The manifest types asked for: indexes and images, OCI and Docker.
const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json, \
application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.v2+json";

/// The config media types of an image (OCI, Docker).
const IMAGE_CONFIGS: [&str; 2] = [
    "application/vnd.oci.image.config.v1+json",
    "application/vnd.docker.container.image.v1+json",
];

/// One image's whole check (authentication, manifest, config blob), and
/// one request's wait for an answer: a registry that stalls costs a
/// skipped check, not the job.
const PER_IMAGE: Duration = Duration::from_secs(30);
const PER_REQUEST: Duration = Duration::from_secs(10);

/// One check per distinct image of `td`.
pub async fn images(td: &Value) -> Result<Vec<Value>> {
    let wanted = platform(td);
    let conf = location::conf_path(None);
    let docker = DockerConfig::load(&registry::config_dir(None)?)?;
    let mut images: Vec<(&str, &str)> = Vec::new();
    for c in td["containerDefinitions"].as_array().into_iter().flatten() {
        if let Some(image) = c["image"].as_str()
            && !images.iter().any(|(i, _)| *i == image)
        {
            images.push((image, c["name"].as_str().unwrap_or("?")));
        }
    }
    let mut asks = Vec::new();
    let mut logins: Vec<(String, Login)> = Vec::new();
    for (image, container) in images {
        let reference = image.parse::<Reference>().map_err(|e| {
            Error::usage(format!(
                "container {container:?}: its image is not an image reference: {e}"
            ))
        })?;
        let mut at = location::resolve(
            conf.as_deref(),
            reference.registry(),
            reference.repository(),
        )?;
        at.host = api_host(&at.host);
        // A registry's login once, however many images it holds (a
        // credential helper may take seconds, up to its time limit).
        let registry_name = reference.registry().to_string();
        let found = match logins.iter().find(|(r, _)| *r == registry_name) {
            Some((_, found)) => found.clone(),
            None => {
                let found = registry::credentials_for(&docker, &registry_name)
                    .map(|c| c.map(|c| (c.username, c.password)))
                    .map_err(|e| e.message().to_string());
                logins.push((registry_name, found.clone()));
                found
            }
        };
        let auth = match found {
            Ok(Some((user, password))) => RegistryAuth::Basic(user, password),
            Ok(None) => RegistryAuth::Anonymous,
            Err(why) => {
                asks.push(Ask::Ready(check(
                    "skipped",
                    format!("image {image} not checked: {why}"),
                )));
                continue;
            }
        };
        asks.push(Ask::Registry {
            image: image.to_string(),
            reference,
            at,
            auth,
        });
    }
    let wanted = &wanted;
    let checks = futures_util::future::join_all(asks.into_iter().map(|ask| async move {
        match ask {
            Ask::Ready(check) => check,
            Ask::Registry {
                image,
                reference,
                at,
                auth,
            } => match tokio::time::timeout(PER_IMAGE, one(&reference, &at, &auth)).await {
                Ok(Ok(found)) => found.check(&image, wanted),
                Ok(Err(why)) => check("skipped", format!("image {image} not checked: {why}")),
                Err(_) => check(
                    "skipped",
                    format!(
                        "image {image} not checked: {} did not answer within {} s",
                        at.host,
                        PER_IMAGE.as_secs()
                    ),
                ),
            },
        }
    }))
    .await;
    Ok(checks)
}

/// A registry's login from the Docker config: user and password, none,
/// or why it could not be read.
type Login = std::result::Result<Option<(String, String)>, String>;

enum Ask {
    Ready(Value),
    Registry {
        image: String,
        reference: Reference,
        at: Location,
        auth: RegistryAuth,
    },
}

fn check(status: &str, detail: String) -> Value {
    json!({"name": "image", "status": status, "detail": detail})
}

/// Where a registry's API answers: Docker Hub's name is not its API's
/// host.
fn api_host(host: &str) -> String {
    match host {
        "docker.io" | "index.docker.io" => "registry-1.docker.io".to_string(),
        other => other.to_string(),
    }
}

/// `os/architecture[/variant]`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Platform {
    os: String,
    architecture: String,
    variant: Option<String>,
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

impl Platform {
    /// An image for `self` runs a task that wants `wanted` (a variant is
    /// not asked: ECS names none).
    fn runs(&self, wanted: &Platform) -> bool {
        self.os == wanted.os && self.architecture == wanted.architecture
    }

    fn of(doc: &Value) -> Option<Platform> {
        Some(Platform {
            os: doc["os"].as_str()?.to_string(),
            architecture: doc["architecture"].as_str()?.to_string(),
            variant: doc["variant"].as_str().map(str::to_string),
        })
    }
}

/// The platform ECS runs `td`'s tasks on: `runtimePlatform`, else
/// linux/amd64.
fn platform(td: &Value) -> Platform {
    let architecture = match td["runtimePlatform"]["cpuArchitecture"].as_str() {
        Some("ARM64") => "arm64",
        _ => "amd64",
    };
    let os = match td["runtimePlatform"]["operatingSystemFamily"].as_str() {
        Some(family) if family.starts_with("WINDOWS") => "windows",
        _ => "linux",
    };
    Platform {
        os: os.to_string(),
        architecture: architecture.to_string(),
        variant: None,
    }
}

/// What the registry holds under an image's name.
enum Found {
    Missing(String),
    /// An index: its platforms.
    Index(Vec<Platform>),
    /// One image: its platform, when its config says.
    Image(Option<Platform>),
    /// An artifact that is no image: its config's media type.
    NotAnImage(String),
}

impl Found {
    fn check(self, image: &str, wanted: &Platform) -> Value {
        match self {
            Found::Missing(why) => check(
                "failed",
                format!(
                    "image {image} does not exist ({why}): the tasks would fail to start (CannotPullContainerError); push it first"
                ),
            ),
            Found::Index(platforms) if platforms.iter().any(|p| p.runs(wanted)) => check(
                "ok",
                format!("image {image} exists, with a {wanted} image in its index"),
            ),
            Found::NotAnImage(kind) => check(
                "failed",
                format!(
                    "{image} is not a container image (its config is {kind}): the tasks would fail to start"
                ),
            ),
            Found::Index(platforms) if platforms.is_empty() => check(
                "failed",
                format!(
                    "image {image} has no image in its index, only attestations: the tasks would fail to start (CannotPullContainerError)"
                ),
            ),
            Found::Index(platforms) => {
                let has: Vec<String> = platforms.iter().map(ToString::to_string).collect();
                check(
                    "failed",
                    format!(
                        "image {image} has no {wanted} image: its index has {}; the tasks would fail to start (CannotPullContainerError){}",
                        has.join(", "),
                        fix(wanted)
                    ),
                )
            }
            Found::Image(Some(p)) if p.runs(wanted) => {
                check("ok", format!("image {image} exists, for {p}"))
            }
            Found::Image(Some(p)) => check(
                "failed",
                format!(
                    "image {image} is for {p}, the task runs on {wanted}: its containers would stop with \"exec format error\"{}",
                    fix(wanted)
                ),
            ),
            Found::Image(None) => check(
                "ok",
                format!("image {image} exists (its config names no platform)"),
            ),
        }
    }
}

/// How to mend a platform mismatch.
fn fix(wanted: &Platform) -> String {
    if wanted.os != "linux" {
        return format!("; build the image for {wanted}");
    }
    let other = if wanted.architecture == "amd64" {
        "ARM64"
    } else {
        "X86_64"
    };
    format!(
        "; build the image for {wanted}, or set the definition's runtimePlatform.cpuArchitecture to {other} if the image is for that"
    )
}

/// Asks the registry for `reference` (at `at`): its manifest, and a single
/// image's config. `Err`: not checked, and why.
async fn one(
    reference: &Reference,
    at: &Location,
    auth: &RegistryAuth,
) -> std::result::Result<Found, String> {
    let insecure = at.insecure || location::is_loopback(&at.host);
    let client = oci_client::Client::new(ClientConfig {
        protocol: if insecure {
            ClientProtocol::HttpsExcept(vec![at.host.clone()])
        } else {
            ClientProtocol::Https
        },
        user_agent: USER_AGENT,
        connect_timeout: Some(Duration::from_secs(10)),
        read_timeout: Some(PER_REQUEST),
        ..Default::default()
    });
    let there = match reference.digest() {
        Some(digest) => {
            Reference::with_digest(at.host.clone(), at.repository.clone(), digest.to_string())
        }
        None => Reference::with_tag(
            at.host.clone(),
            at.repository.clone(),
            reference.tag().unwrap_or("latest").to_string(),
        ),
    };
    let ecr = registry::ecr_host(reference.registry()).is_some();
    let logged_in = !matches!(auth, RegistryAuth::Anonymous);
    let denied = |status: u16| {
        if logged_in {
            return format!(
                "{} refused the login stored for it in the Docker config (HTTP {status}){}",
                reference.registry(),
                if ecr {
                    ": an ECR login lasts 12 hours (run ecr-login again), and the caller needs ecr:BatchGetImage and ecr:GetDownloadUrlForLayer on the repository"
                } else {
                    ": expired or wrong? log in again"
                }
            );
        }
        format!(
            "{} refused to read it (HTTP {status}){}",
            reference.registry(),
            if ecr {
                ": log in first (ecr-login), as a caller allowed ecr:GetAuthorizationToken, ecr:BatchGetImage and ecr:GetDownloadUrlForLayer on the repository"
            } else {
                ": log in first (docker login, or credentials in $DOCKER_CONFIG/config.json)"
            }
        )
    };
    let authorization = match client
        .auth(&there, auth, oci_client::RegistryOperation::Pull)
        .await
    {
        Ok(Some(token)) => Some(format!("Bearer {token}")),
        Ok(None) => match auth {
            RegistryAuth::Basic(user, password) => {
                use base64::Engine;
                Some(format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
                ))
            }
            _ => None,
        },
        Err(oci_client::errors::OciDistributionError::AuthenticationFailure(_)) => {
            return Err(denied(401));
        }
        Err(e) => return Err(format!("{} did not answer: {}", at.host, reachable(&e))),
    };
    let http = reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(Duration::from_secs(10))
        .read_timeout(PER_REQUEST)
        .build()
        .map_err(|e| format!("setting up the HTTP client: {e}"))?;
    let scheme = if insecure { "http" } else { "https" };
    let get = |path: String, accept: &'static str| {
        let request = http
            .get(format!(
                "{scheme}://{}/v2/{}/{path}",
                at.host, at.repository
            ))
            .header(reqwest::header::ACCEPT, accept);
        match &authorization {
            Some(value) => request.header(reqwest::header::AUTHORIZATION, value),
            None => request,
        }
    };
    let name = there
        .digest()
        .or(there.tag())
        .unwrap_or("latest")
        .to_string();
    let answer = get(format!("manifests/{name}"), ACCEPT)
        .send()
        .await
        .map_err(|e| format!("{} did not answer: {}", at.host, without_url(&e)))?;
    let status = answer.status().as_u16();
    match status {
        200 => {}
        404 => {
            let body = answer.text().await.unwrap_or_default();
            let code = serde_json::from_str::<Value>(&body)
                .ok()
                .and_then(|d| d["errors"][0]["code"].as_str().map(str::to_string))
                .unwrap_or_else(|| "HTTP 404".to_string());
            return Ok(Found::Missing(code));
        }
        401 | 403 => return Err(denied(status)),
        _ => return Err(format!("{} answered HTTP {status}", reference.registry())),
    }
    let doc: Value = answer
        .json()
        .await
        .map_err(|e| format!("its manifest is not JSON: {}", without_url(&e)))?;
    if let Some(entries) = doc["manifests"].as_array() {
        // An index: its platforms, less attestations (unknown/unknown).
        // `platform` is optional: an index whose entries name none is not
        // judged.
        let unnamed = entries.iter().filter(|m| m["platform"].is_null()).count();
        if unnamed > 0 {
            return Err(format!(
                "its index names no platform for {unnamed} of its {} manifests",
                entries.len()
            ));
        }
        let platforms = entries
            .iter()
            .filter_map(|m| Platform::of(&m["platform"]))
            .filter(|p| p.os != "unknown")
            .collect();
        return Ok(Found::Index(platforms));
    }
    // A manifest whose config is not an image's (a Helm chart, a
    // signature): nothing ECS can run.
    if let Some(kind) = doc["config"]["mediaType"].as_str()
        && !IMAGE_CONFIGS.contains(&kind)
    {
        return Ok(Found::NotAnImage(kind.to_string()));
    }
    let Some(config) = doc["config"]["digest"].as_str() else {
        // Docker schema 1 names its architecture at the top.
        return Ok(Found::Image(doc["architecture"].as_str().map(|a| {
            Platform {
                os: "linux".to_string(),
                architecture: a.to_string(),
                variant: None,
            }
        })));
    };
    let blob = get(format!("blobs/{config}"), "*/*")
        .send()
        .await
        .map_err(|e| format!("{} did not answer: {}", at.host, without_url(&e)))?;
    if !blob.status().is_success() {
        return Err(format!(
            "its config blob {config}: HTTP {}",
            blob.status().as_u16()
        ));
    }
    let config: Value = blob
        .json()
        .await
        .map_err(|e| format!("its config blob is not JSON: {}", without_url(&e)))?;
    Ok(Found::Image(Platform::of(&config)))
}

/// A reqwest error and its cause, without URL queries (a redirect to
/// storage may carry a signed one).
fn without_url(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        text = format!("{text}: {c}");
        cause = c.source();
    }
    registry::without_queries(&text)
}

fn reachable(e: &oci_client::errors::OciDistributionError) -> String {
    match e {
        oci_client::errors::OciDistributionError::RequestError(r) => without_url(r),
        other => other.to_string(),
    }
}

impl Found {
    #[cfg(test)]
    fn platforms(&self) -> Vec<String> {
        match self {
            Found::Index(p) => p.iter().map(ToString::to_string).collect(),
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_platform_is_linux_amd64_unless_runtime_platform_says() {
        assert_eq!(platform(&json!({})).to_string(), "linux/amd64");
        assert_eq!(
            platform(&json!({"runtimePlatform": {"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"}}))
                .to_string(),
            "linux/arm64"
        );
        assert_eq!(
            platform(
                &json!({"runtimePlatform": {"operatingSystemFamily": "WINDOWS_SERVER_2022_CORE"}})
            )
            .to_string(),
            "windows/amd64"
        );
    }

    #[test]
    fn docker_hub_images_are_asked_of_its_api_host() {
        let nginx: Reference = "nginx".parse().unwrap();
        assert_eq!(api_host(nginx.registry()), "registry-1.docker.io");
        assert_eq!(nginx.repository(), "library/nginx");
        assert_eq!(api_host("127.0.0.1:5000"), "127.0.0.1:5000");
    }

    #[test]
    fn an_index_without_the_platform_names_what_it_has() {
        let found = Found::Index(vec![
            Platform::of(&json!({"os": "linux", "architecture": "arm64", "variant": "v8"}))
                .unwrap(),
        ]);
        assert_eq!(found.platforms(), ["linux/arm64/v8"]);
        let c = found.check("r.example/web:1", &platform(&json!({})));
        assert_eq!(c["status"], "failed");
        assert!(
            c["detail"]
                .as_str()
                .unwrap()
                .contains("its index has linux/arm64/v8"),
            "{c}"
        );
    }
}
