//! Turns the flags and stdin into a [`Config`] checked through before the
//! image is opened or anything is sent: the destination and where
//! registries.conf puts it, tags, `--reuse-from` and `--mount-from`, the
//! credentials, `--digest-file`, `--region`. A mistake here is exit 2 with
//! nothing read (a `.tar.gz` is not decompressed) and nothing sent.

use std::path::PathBuf;
use std::time::Duration;

use deploykit::registry::{self, DockerConfig};
use deploykit::stream::{Envelope, Stdin};
use deploykit::{Error, Result, cli};
use oci_client::secrets::RegistryAuth;

use crate::args::Args;
use crate::compress::Compress;
use deploykit::registry::location::{self, Location};

/// Everything a push needs, validated.
pub struct Config {
    /// The stdin object, passed on with `image` added.
    pub envelope: Envelope,
    pub dest: Destination,
    /// Where connections go (registries.conf may move the registry).
    pub at: Location,
    /// Plain HTTP: `--insecure`, registries.conf's `insecure`, or a
    /// registry on this machine.
    pub insecure: bool,
    pub idle_timeout: Duration,
    pub tags: Vec<String>,
    /// (repository at `at.host`, tag).
    pub reuse_from: Vec<(String, String)>,
    /// A repository at `at.host`.
    pub mount_from: Option<String>,
    pub auth: RegistryAuth,
    pub digest_file: Option<PathBuf>,
    pub from: PathBuf,
    pub reference: Option<String>,
    pub platform: Option<String>,
    pub compress: Compress,
    pub jobs: usize,
    pub force: bool,
    pub create_repository: bool,
    pub aws: deploykit::aws::AwsArgs,
}

impl Config {
    /// Every flag and file checked, in the order a person fixes them.
    pub fn from_args(args: Args, stdin: Stdin) -> Result<Self> {
        // With --password-stdin, stdin is the password, not the pipe's object.
        let (envelope, password) = if args.password_stdin {
            let text = deploykit::stream::decode(stdin.bytes(), "stdin")?;
            let password = text.trim_end_matches(['\n', '\r']).to_string();
            if password.is_empty() {
                return Err(Error::usage("--password-stdin: stdin is empty"));
            }
            (Envelope::default(), Some(password))
        } else {
            (stdin.envelope()?, None)
        };
        let dest = destination(&args, &envelope)?;
        let idle_timeout = idle_timeout(&args)?;
        args.aws.check()?;
        if let (Some(flag), Some((_, region))) =
            (&args.aws.region, registry::ecr_host(&dest.registry))
            && flag != region
        {
            return Err(Error::usage(format!(
                "--region {flag:?}, but the ECR registry {} is in {region:?}: drop --region, or push to the {flag} registry",
                dest.registry
            )));
        }
        let tags = tags(&args)?;
        if args.jobs == 0 {
            return Err(Error::usage("--jobs: 1 or more"));
        }
        if let Some(platform) = args.platform.as_deref().filter(|p| !platform_ok(p)) {
            return Err(Error::usage(format!(
                "--platform {platform:?}: expected OS/ARCH or OS/ARCH/VARIANT, such as linux/amd64 or linux/arm64/v8"
            )));
        }
        let reuse_from = reuse_from(&args, &dest.repository)?;
        let mount_from = mount_from(&args)?;
        if let Some(path) = &args.digest_file {
            deploykit::output::check("--digest-file", path)?;
        }
        let auth = match (&args.username, password) {
            (Some(user), Some(password)) => RegistryAuth::Basic(user.clone(), password),
            (Some(_), None) => return Err(Error::usage("--username needs --password-stdin")),
            (None, Some(_)) => return Err(Error::usage("--password-stdin needs --username")),
            (None, None) => {
                let dir = registry::config_dir(args.docker_config.as_deref())?;
                let config = DockerConfig::load(&dir)?;
                match registry::credentials_for(&config, &dest.registry)? {
                    Some(c) => RegistryAuth::Basic(c.username, c.password),
                    None => RegistryAuth::Anonymous,
                }
            }
        };

        let conf = location::conf_path(args.registries_conf.as_deref());
        let at = location::resolve(conf.as_deref(), &dest.registry, &dest.repository)?;
        check_location(&at, &format!("{}/{}", dest.registry, dest.repository))?;
        if at.host != dest.registry {
            cli::note(format!(
                "{} is at {} (registries.conf)",
                dest.registry, at.host
            ));
        }
        // Other repositories of the same registry, where registries.conf puts them.
        let elsewhere = |flag: &str, repository: &str| -> Result<String> {
            let there = location::resolve(conf.as_deref(), &dest.registry, repository)?;
            check_location(&there, &format!("{}/{repository}", dest.registry))?;
            if there.host != at.host {
                return Err(Error::usage(format!(
                    "{flag} {repository}: registries.conf puts it at {}, not at {} where the image goes; blobs are shared within one registry",
                    there.host, at.host
                )));
            }
            Ok(there.repository)
        };
        let reuse_from = reuse_from
            .iter()
            .map(|(repository, tag)| Ok((elsewhere("--reuse-from", repository)?, tag.clone())))
            .collect::<Result<Vec<_>>>()?;
        let mount_from = mount_from
            .map(|repository| elsewhere("--mount-from", &repository))
            .transpose()?;
        let insecure = args.insecure || at.insecure || location::is_loopback(&at.host);
        Ok(Config {
            envelope,
            dest,
            at,
            insecure,
            idle_timeout,
            tags,
            reuse_from,
            mount_from,
            auth,
            digest_file: args.digest_file,
            from: args.from,
            reference: args.reference,
            platform: args.platform,
            compress: args.compress,
            jobs: args.jobs,
            force: args.force,
            create_repository: args.create_repository,
            aws: args.aws,
        })
    }
}

/// Where the image goes.
#[derive(Debug, Clone)]
pub struct Destination {
    pub registry: String,
    pub repository: String,
}

/// `--idle-timeout` (or the old `--timeout SECONDS`, with a warning).
fn idle_timeout(args: &Args) -> Result<std::time::Duration> {
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
fn destination(args: &Args, envelope: &Envelope) -> Result<Destination> {
    // user:password@host: a password where a host goes is neither taken nor
    // repeated (the README's secrets rule).
    let with_credentials = |from: &str| {
        Error::usage(format!(
            "{from}: holds credentials before an @ (user:password@host), which are neither taken nor repeated here: give --username with --password-stdin, or log in first (ecr-login, docker login)"
        ))
    };
    let (registry, repository) = match (&args.to, &args.repository) {
        (Some(to), _) if to.split('/').next().is_some_and(|r| r.contains('@')) => {
            return Err(with_credentials("--to"));
        }
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
            if endpoint.contains('@') {
                return Err(with_credentials("stdin's registry.endpoint"));
            }
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
    if !registry_ok(&registry) {
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

/// A registry host with a dot or a port (`registry.example.com`,
/// `localhost:5000`, `[::1]:5000`), its port 1-65535.
fn registry_ok(registry: &str) -> bool {
    let (host, port) = match registry.rsplit_once(':') {
        Some((host, port)) if !registry.ends_with(']') => (host, Some(port)),
        _ => (registry, None),
    };
    let host_ok = !host.is_empty()
        && host.bytes().all(|b| b.is_ascii_alphanumeric() || b".-[]:".contains(&b))
        // Docker Hub style `team/web` has no registry host: say so.
        && (host.contains('.') || host.contains(':') || host.eq_ignore_ascii_case("localhost") || port.is_some());
    host_ok && port.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p > 0))
}

/// Where registries.conf put `logical` (REGISTRY/REPOSITORY), checked as
/// `--to` is: a `location` with a scheme, a bad host or port, or a path
/// that makes no repository name is exit 2 before the source is opened.
fn check_location(at: &Location, logical: &str) -> Result<()> {
    if at.host.contains("://") || at.host.ends_with(':') && at.repository.starts_with('/') {
        return Err(Error::usage(format!(
            "registries.conf: the location for {logical} has a scheme; give host[:port][/path] (insecure = true for plain HTTP)"
        )));
    }
    // user:password@host: neither taken nor repeated (it may be a secret).
    if at.host.contains('@') {
        return Err(Error::usage(format!(
            "registries.conf: the location for {logical} holds credentials before an @, which are neither taken nor repeated here: give --username with --password-stdin, or log in first"
        )));
    }
    if !registry_ok(&at.host) {
        return Err(Error::usage(format!(
            "registries.conf: the location for {logical} is on {:?}: expected a registry host with a dot or a port, a port 1-65535, no scheme (insecure = true for plain HTTP)",
            at.host
        )));
    }
    if !repository_ok(&at.repository) {
        return Err(Error::usage(format!(
            "registries.conf: the location for {logical} makes the repository {:?}: lowercase letters and digits, separated by . _ __ or -, parts separated by /",
            at.repository
        )));
    }
    Ok(())
}

/// `--platform`: OS/ARCH or OS/ARCH/VARIANT (`linux/amd64`, `linux/arm64/v8`).
fn platform_ok(platform: &str) -> bool {
    let parts: Vec<&str> = platform.split('/').collect();
    (2..=3).contains(&parts.len())
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        })
}

/// A repository name as the distribution spec allows it: lowercase
/// letters and digits, separated by one `.` or `_`, two `__` or any number
/// of `-`, components separated by `/`. Written out rather than asked of
/// oci-spec's `Reference`, whose parse compiles a Unicode regex on first
/// use: 17 MiB and about 40 ms a run, more than an unchanged re-push takes
/// in all. A test holds the two to the same answers.
fn repository_ok(repository: &str) -> bool {
    // The distribution spec's repository components: lowercase letters and
    // digits, separated by one `.` or `_`, two `__`, or any number of `-`.
    let component_ok = |c: &str| {
        let bytes = c.as_bytes();
        let mut ok = !c.is_empty()
            && bytes[0].is_ascii_alphanumeric()
            && bytes[bytes.len() - 1].is_ascii_alphanumeric();
        let mut i = 0;
        while ok && i < bytes.len() {
            let b = bytes[i];
            if b.is_ascii_lowercase() || b.is_ascii_digit() {
                i += 1;
                continue;
            }
            let run = bytes[i..]
                .iter()
                .take_while(|&&x| !(x.is_ascii_lowercase() || x.is_ascii_digit()))
                .count();
            let sep = &c[i..i + run];
            ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-');
            i += run;
        }
        ok
    };
    repository.len() <= 255 && repository.split('/').all(component_ok)
}

/// A tag as the distribution spec allows it: `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`.
fn tag_ok(tag: &str) -> bool {
    !tag.is_empty()
        && tag.len() <= 128
        && (tag.as_bytes()[0].is_ascii_alphanumeric() || tag.starts_with('_'))
        && tag
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// `--reuse-from` values as (repository, tag): a TAG of `repository`, or
/// REPOSITORY:TAG.
fn reuse_from(args: &Args, repository: &str) -> Result<Vec<(String, String)>> {
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
fn mount_from(args: &Args) -> Result<Option<String>> {
    match &args.mount_from {
        Some(repo) if !repository_ok(repo) => Err(Error::usage(format!(
            "--mount-from {repo:?}: expected a repository of the same registry (lowercase letters and digits, separated by . _ __ or -, parts separated by /)"
        ))),
        other => Ok(other.clone()),
    }
}

/// The tags, each checked (`[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`), each once.
fn tags(args: &Args) -> Result<Vec<String>> {
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

    /// The grammar written out here says what oci-spec's Reference (the
    /// distribution spec's regexp) says, on names built to probe each rule.
    #[test]
    fn the_grammar_agrees_with_oci_specs_reference() {
        use oci_client::Reference;
        let parts = [
            "a", "web", "a.b", "a_b", "a__b", "a___b", "a-b", "a--b", "a..b", "A", "-a", "a-",
            "_a", ".a", "0", "a0", "é", "",
        ];
        let mut names: Vec<String> = Vec::new();
        for x in parts {
            names.push(x.to_string());
            for y in parts {
                names.push(format!("{x}/{y}"));
                names.push(format!("{x}{y}"));
            }
        }
        for name in &names {
            let library = !name.is_empty()
                && Reference::try_from(format!("r.invalid/{name}:t")).is_ok_and(|r| {
                    r.registry() == "r.invalid" && r.repository() == name && r.tag() == Some("t")
                });
            assert_eq!(repository_ok(name), library, "repository {name:?}");
        }
        // Not "é": oci-spec's Rust regex reads the spec's \w as Unicode,
        // the spec (Go's regexp) and the registries as ASCII. Ours follows
        // the spec.
        assert!(!tag_ok("é"));
        let tags = [
            "v1", "_x", ".x", "-x", "a.b-c_d", "Latest", "a/b", "a:b", "a@b", "",
        ];
        for tag in tags
            .iter()
            .map(|t| t.to_string())
            .chain(["a".repeat(128), "a".repeat(129)])
        {
            let library = Reference::try_from(format!("r.invalid/x:{tag}"))
                .is_ok_and(|r| r.repository() == "x" && r.tag() == Some(tag.as_str()));
            assert_eq!(tag_ok(&tag), library, "tag {tag:?}");
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
