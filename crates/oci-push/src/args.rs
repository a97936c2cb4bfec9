//! The command line, and the checks on the destination and tags that come
//! before anything is read or sent.

use std::path::PathBuf;

use clap::Parser;
use deploykit::stream::Envelope;
use deploykit::{Error, Result};
use oci_client::Reference;

const EXAMPLES: &str = "\
Examples:
  # Push an OCI layout (buildx --output type=oci,tar=false, buildah, kaniko, skopeo) under two tags
  oci-push --from ./image --to registry.example.com/team/web --tag \"$GIT_SHA\" --tag latest

  # After ecr-login: the registry comes from the object on stdin
  ecr-login | oci-push --from image.oci.tar --repository web --tag \"$GIT_SHA\"

  # A docker save tar, no daemon (plain, .tar.gz or .tar.zst): layers compressed on the way
  oci-push --from web.tar.gz --to registry.example.com/team/web --tag \"$GIT_SHA\"

  # One image of a layout that holds several, one platform of an index
  oci-push --from ./layout --ref web --platform linux/arm64 --to localhost:5000/web --tag arm64

Output: the stdin object (or {}) with image: {registry, repository, digest, tags, uri,
mediaType, platforms?}; uri is registry/repository@digest, ready for taskdef-render.

Blobs the registry has are not sent (--force sends all); the others stream from disk
as one PUT each, their digests checked as they pass: a corrupt blob is exit 2 and no
manifest or tag is pushed. Credentials: --username with --password-stdin, else the
Docker config (auths, credHelpers, credsStore), else none. Plain HTTP only for
registries on this machine or with --insecure.

A docker save tar (classic, with symlinked layers, or Docker 25+) has uncompressed
layers: each is gzip-compressed as it streams (deterministic: one layer, one digest),
as docker push does (--compress zstd: zstd, in an OCI manifest; --compress none: as
they are); a layer the target tags already hold is
found through their manifests and configs and not sent again, with no local cache.

Exit codes: 0 pushed; 1 the registry refused or could not be reached; 2 bad flag or
image, nothing pushed. Any failure prints the stdin object (or {}; never the password
of --password-stdin) with error: {tool, message, exitCode} unless stdout is a
terminal, and an object on stdin that carries \"error\" (an earlier step failed) is
passed on untouched with that step's exit code, nothing pushed.";

/// Push an image to a registry with no Docker daemon, from an OCI image
/// layout, an oci-archive or a docker save tar, skipping blobs the registry
/// already has.
#[derive(Parser, Debug)]
#[command(name = "oci-push", version, after_long_help = EXAMPLES, after_help = "Examples and details: oci-push --help")]
pub struct Args {
    /// Do not read stdin (jq's -n), for a loop or script whose stdin is something else
    #[arg(long, short = 'n')]
    pub null_input: bool,

    /// The image: an OCI image layout directory, an oci-archive or a docker save tar
    #[arg(long, value_name = "PATH")]
    pub from: PathBuf,

    /// Destination REGISTRY/REPOSITORY (registry host with its port, if any)
    #[arg(long, value_name = "REGISTRY/REPOSITORY")]
    pub to: Option<String>,

    /// Destination repository in the registry of stdin's registry.endpoint (as ecr-login writes it)
    #[arg(long, value_name = "NAME", conflicts_with = "to")]
    pub repository: Option<String>,

    /// Tag to push (repeatable; at least one, or --digest-only)
    #[arg(long, value_name = "TAG")]
    pub tag: Vec<String>,

    /// Push by digest alone, with no tag
    #[arg(long, conflicts_with = "tag")]
    pub digest_only: bool,

    /// The image of that org.opencontainers.image.ref.name (or docker save RepoTag) when the source holds several
    #[arg(long = "ref", value_name = "NAME")]
    pub reference: Option<String>,

    /// One platform (os/arch) of a multi-platform index (default: the whole index)
    #[arg(long, value_name = "OS/ARCH")]
    pub platform: Option<String>,

    /// Username for the registry; the password comes on stdin (--password-stdin)
    #[arg(long, value_name = "NAME", requires = "password_stdin")]
    pub username: Option<String>,

    /// Read the password from stdin (then no JSON object is read: give --to)
    #[arg(long, requires = "username")]
    pub password_stdin: bool,

    /// Directory of the Docker config.json to read credentials from (default: $DOCKER_CONFIG, then ~/.docker)
    #[arg(long, value_name = "DIR")]
    pub docker_config: Option<PathBuf>,

    /// containers-registries.conf(5) file whose [[registry]] prefix/location/insecure entries say where a registry really is (default: $CONTAINERS_REGISTRIES_CONF)
    #[arg(long, value_name = "FILE")]
    pub registries_conf: Option<PathBuf>,

    /// Create the repository when the registry is Amazon ECR and it does not exist (through the ECR API)
    #[arg(long)]
    pub create_repository: bool,

    /// Plain HTTP to a registry that is not on this machine
    #[arg(long)]
    pub insecure: bool,

    /// Another image whose layers a docker save tar's may already be (TAG of the target repository, or REPOSITORY:TAG in the same registry; repeatable): found layers are not compressed or sent, and are mounted from another repository
    #[arg(long, value_name = "REF")]
    pub reuse_from: Vec<String>,

    /// A repository of the same registry to mount missing blobs from, when it has them, instead of uploading them
    #[arg(long, value_name = "REPOSITORY")]
    pub mount_from: Option<String>,

    /// Upload every blob and tag without asking what the registry has
    #[arg(long)]
    pub force: bool,

    /// How long a registry may stay silent before the request fails and is tried again (90s, 2m)
    #[arg(long, value_name = "DURATION", default_value = "60s")]
    pub idle_timeout: String,

    /// The old name of --idle-timeout, in bare seconds (a deprecation warning)
    #[arg(long = "timeout", value_name = "SECONDS", hide = true)]
    pub old_timeout: Option<u64>,

    /// Blobs uploaded at once
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub jobs: usize,

    /// How uncompressed layers (docker save tars, uncompressed layouts) are sent: gzip (as docker push does), zstd (in an OCI manifest) or none (as they are)
    #[arg(long, value_enum, value_name = "HOW", default_value = "gzip")]
    pub compress: crate::docker::Compress,

    /// Also write the pushed digest to this file
    #[arg(long, value_name = "PATH")]
    pub digest_file: Option<PathBuf>,

    #[command(flatten, next_help_heading = "AWS (ECR's API, for an ECR registry)")]
    pub aws: deploykit::aws::AwsArgs,
}

impl deploykit::cli::Streams for Args {
    fn null_input(&self) -> bool {
        self.null_input
    }

    fn stdin_role(&self) -> deploykit::cli::StdinRole {
        if self.password_stdin {
            deploykit::cli::StdinRole::Secret("--password-stdin")
        } else {
            deploykit::cli::StdinRole::Object
        }
    }
}

/// Where the image goes.
#[derive(Debug, Clone)]
pub struct Destination {
    pub registry: String,
    pub repository: String,
}

/// `--idle-timeout` (or the old `--timeout SECONDS`, with a warning).
pub fn idle_timeout(args: &Args) -> Result<std::time::Duration> {
    if let Some(secs) = args.old_timeout {
        deploykit::cli::warn(format!(
            "--timeout is now --idle-timeout, which takes a duration (--idle-timeout {secs}s)"
        ));
        return Ok(std::time::Duration::from_secs(secs.max(1)));
    }
    deploykit::flags::duration(&args.idle_timeout)
        .filter(|d| !d.is_zero())
        .ok_or_else(|| Error::usage("--idle-timeout: expected a duration such as 30s, 90s or 5m"))
}

/// `--to`, or `--repository` with stdin's `registry.endpoint`; both checked.
pub fn destination(args: &Args, envelope: &Envelope) -> Result<Destination> {
    let (registry, repository) = match (&args.to, &args.repository) {
        (Some(to), _) => {
            let (registry, repository) = to.split_once('/').ok_or_else(|| {
                Error::usage(format!(
                    "--to {to:?}: expected REGISTRY/REPOSITORY, such as registry.example.com/team/web"
                ))
            })?;
            (registry.to_string(), repository.to_string())
        }
        (None, Some(repository)) => {
            let endpoint = envelope
                .get("registry")
                .and_then(|r| r.get("endpoint"))
                .and_then(|e| e.as_str())
                .ok_or_else(|| {
                    Error::usage(
                        "--repository needs the registry: pipe in ecr-login's object (registry.endpoint), or give --to REGISTRY/REPOSITORY",
                    )
                })?;
            (endpoint.to_string(), repository.clone())
        }
        (None, None) => {
            return Err(Error::usage(
                "no destination: give --to REGISTRY/REPOSITORY, or --repository NAME after ecr-login",
            ));
        }
    };
    if registry.contains("://") || repository.starts_with('/') {
        return Err(Error::usage(format!(
            "registry {registry:?}: give the host alone, with no scheme (https:// is the default; plain HTTP for this machine or --insecure)"
        )));
    }
    let (host, port) = match registry.rsplit_once(':') {
        Some((host, port)) if !registry.ends_with(']') => (host, Some(port)),
        _ => (registry.as_str(), None),
    };
    let host_ok = !host.is_empty()
        && host.bytes().all(|b| b.is_ascii_alphanumeric() || b".-[]:".contains(&b))
        // Docker Hub style `team/web` has no registry host: say so.
        && (host.contains('.') || host.contains(':') || host.eq_ignore_ascii_case("localhost") || port.is_some());
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p > 0));
    if !host_ok || !port_ok {
        return Err(Error::usage(format!(
            "registry {registry:?}: expected a registry host with a dot or a port (registry.example.com, localhost:5000), a port 1-65535"
        )));
    }
    if !repository_ok(&repository) {
        return Err(Error::usage(format!(
            "repository {repository:?}: lowercase letters and digits, separated by . _ __ or -, parts separated by /"
        )));
    }
    Ok(Destination {
        registry,
        repository,
    })
}

/// A repository name as the distribution spec allows it: lowercase
/// letters and digits, separated by one `.` or `_`, two `__` or any number
/// of `-`, components separated by `/`. The grammar is oci-client's (the
/// distribution spec's reference regexp), asked through a placeholder host;
/// the messages stay ours, naming the flag.
fn repository_ok(repository: &str) -> bool {
    !repository.is_empty()
        && Reference::try_from(format!("r.invalid/{repository}:t")).is_ok_and(|r| {
            r.registry() == "r.invalid"
                && r.repository() == repository
                && r.tag() == Some("t")
                && r.digest().is_none()
        })
}

/// A tag as the distribution spec allows it: `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`
/// (oci-client's grammar, as for [`repository_ok`]).
fn tag_ok(tag: &str) -> bool {
    Reference::try_from(format!("r.invalid/x:{tag}"))
        .is_ok_and(|r| r.repository() == "x" && r.tag() == Some(tag) && r.digest().is_none())
}

/// `--reuse-from` values as (repository, tag): a TAG of `repository`, or
/// REPOSITORY:TAG.
pub fn reuse_from(args: &Args, repository: &str) -> Result<Vec<(String, String)>> {
    args.reuse_from
        .iter()
        .map(|reference| {
            let (repo, tag) = match reference.rsplit_once(':') {
                Some((repo, tag)) => (repo, tag),
                None => (repository, reference.as_str()),
            };
            if !repository_ok(repo) || !tag_ok(tag) {
                return Err(Error::usage(format!(
                    "--reuse-from {reference:?}: expected a TAG of the target repository, or REPOSITORY:TAG in the same registry"
                )));
            }
            Ok((repo.to_string(), tag.to_string()))
        })
        .collect()
}

/// `--mount-from`, checked.
pub fn mount_from(args: &Args) -> Result<Option<String>> {
    match &args.mount_from {
        Some(repo) if !repository_ok(repo) => Err(Error::usage(format!(
            "--mount-from {repo:?}: expected a repository of the same registry (lowercase letters and digits, separated by . _ __ or -, parts separated by /)"
        ))),
        other => Ok(other.clone()),
    }
}

/// The tags, each checked (`[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`), each once.
pub fn tags(args: &Args) -> Result<Vec<String>> {
    if args.tag.is_empty() && !args.digest_only {
        return Err(Error::usage(
            "no --tag: give at least one, or --digest-only to push by digest alone",
        ));
    }
    let mut tags: Vec<String> = Vec::new();
    for tag in &args.tag {
        if !tag_ok(tag) {
            return Err(Error::usage(format!(
                "--tag {tag:?}: a tag is letters, digits, _ . and -, at most 128, not starting with . or -"
            )));
        }
        if !tags.contains(tag) {
            tags.push(tag.clone());
        }
    }
    Ok(tags)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repositories_as_the_distribution_spec_allows() {
        for ok in ["web", "team/web", "a.b_c__d--e/f-g", "a0/1b"] {
            assert!(repository_ok(ok), "{ok}");
        }
        for bad in [
            "",
            "Web",
            "team/",
            "/web",
            "a..b",
            "a___b",
            "-a",
            "a-",
            "team//web",
            "web:1",
            "web@sha256:0",
            "a b",
        ] {
            assert!(!repository_ok(bad), "{bad}");
        }
    }

    #[test]
    fn tags_as_the_distribution_spec_allows() {
        let longest = "a".repeat(128);
        for ok in ["v1.2.3", "_x", "Latest", "a-b_c.d", longest.as_str()] {
            assert!(tag_ok(ok), "{ok}");
        }
        let too_long = "a".repeat(129);
        for bad in [
            "",
            ".x",
            "-x",
            "a/b",
            "a:b",
            "a@b",
            "a b",
            too_long.as_str(),
        ] {
            assert!(!tag_ok(bad), "{bad}");
        }
    }
}
