//! oci-push: push an image to a registry with no Docker daemon, from an OCI
//! image layout or an oci-archive, under several tags, streaming each blob
//! from disk and skipping those the registry already has.
//!
//! [`run`] goes Args -> checked destination, tags and credentials (exit 2
//! before anything is sent) -> the source opened and the plan read
//! ([`plan`]: manifests and configs checked against their digests) -> the
//! transfer ([`push`]) -> the `image` object out.
//!
//! Sources: OCI layouts, oci-archives, docker save tars (classic and
//! Docker 25+, layers compressed on the way: [`docker`]).
//! Where a registry really is: [`location`] (registries.conf). An ECR
//! repository is looked up (and with `--create-repository` created) first:
//! [`ecr`].

mod args;
mod docker;
mod ecr;
mod idle;
mod location;
mod plan;
mod push;
mod retry;
mod source;

use deploykit::registry::{self, DockerConfig};
use deploykit::stream::Stdin;
use deploykit::{Error, Outcome, Result, cli};
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::secrets::RegistryAuth;
use serde_json::json;

/// What the registry's access log shows for every request of ours.
const USER_AGENT: &str = concat!("oci-push/", env!("CARGO_PKG_VERSION"));

pub use args::Args;

/// The whole tool: flags and stdin in, the `image` object out.
pub fn run(args: Args, stdin: Stdin) -> Result<Outcome> {
    // With --password-stdin, stdin is the password, not the pipe's object.
    let (mut envelope, password) = if args.password_stdin {
        let text = deploykit::stream::decode(stdin.bytes(), "stdin")?;
        let password = text.trim_end_matches(['\n', '\r']).to_string();
        if password.is_empty() {
            return Err(Error::usage("--password-stdin: stdin is empty"));
        }
        (Default::default(), Some(password))
    } else {
        (stdin.envelope()?, None)
    };
    let dest = args::destination(&args, &envelope)?;
    let idle_timeout = args::idle_timeout(&args)?;
    args.aws.check()?;
    if let (Some(flag), Some((_, region))) = (
        &args.aws.region,
        deploykit::registry::ecr_host(&dest.registry),
    ) && flag != region
    {
        return Err(Error::usage(format!(
            "--region {flag:?}, but the ECR registry {} is in {region:?}: drop --region, or push to the {flag} registry",
            dest.registry
        )));
    }
    let tags = args::tags(&args)?;
    let reuse_from = args::reuse_from(&args, &dest.repository)?;
    let mount_from = args::mount_from(&args)?;
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
    let source = source::Source::open(&args.from)?;
    let what = match &source {
        source::Source::DockerSave { .. } => {
            if let Some(platform) = &args.platform {
                return Err(Error::usage(format!(
                    "--platform {platform}: a docker save tar holds one platform"
                )));
            }
            What::Docker(docker::read(&source, args.reference.as_deref())?)
        }
        _ => {
            let plan = plan::plan(&source, args.reference.as_deref(), args.platform.as_deref())?;
            docker::check_layout(&plan, args.compress)?;
            What::Oci(plan)
        }
    };

    let conf = args.registries_conf.clone().or_else(|| {
        std::env::var_os("CONTAINERS_REGISTRIES_CONF")
            .filter(|v| !v.is_empty())
            .map(Into::into)
    });
    let at = location::resolve(conf.as_deref(), &dest.registry, &dest.repository)?;
    if at.host != dest.registry {
        cli::note(format!(
            "{} is at {} (registries.conf)",
            dest.registry, at.host
        ));
    }
    // Other repositories of the same registry, where registries.conf puts them.
    let elsewhere = |flag: &str, repository: &str| -> Result<String> {
        let there = location::resolve(conf.as_deref(), &dest.registry, repository)?;
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
    if let (Some(from), What::Docker(_)) = (&mount_from, &what)
        && !reuse_from.iter().any(|(repository, _)| repository == from)
    {
        deploykit::cli::warn(format!(
            "--mount-from {from}: a docker save tar's layers have no digest until they are compressed, so only its config can be mounted; --reuse-from {from}:TAG finds its layers there"
        ));
    }
    let insecure = args.insecure || at.insecure || is_loopback(&at.host);
    // A registry that stops answering fails the request (tried again), not
    // the CI job's own time-out hours later.
    // Uploads have no read time-out (it would run from the request's start
    // and cap a slow transfer that progresses): crate::idle watches them.
    let read_timeout = idle_timeout;
    let connect_timeout = read_timeout.min(std::time::Duration::from_secs(30));
    let host = at.host.clone();
    let oci = move |read_timeout: Option<std::time::Duration>| {
        oci_client::Client::new(ClientConfig {
            protocol: if insecure {
                ClientProtocol::HttpsExcept(vec![host.clone()])
            } else {
                ClientProtocol::Https
            },
            use_monolithic_push: true,
            user_agent: USER_AGENT,
            read_timeout,
            connect_timeout: Some(connect_timeout),
            ..Default::default()
        })
    };
    let http = move |read_timeout: Option<std::time::Duration>| {
        let builder = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(connect_timeout);
        match read_timeout {
            Some(t) => builder.read_timeout(t),
            None => builder,
        }
        .build()
        .map_err(|e| Error::failed(format!("setting up the HTTP client: {e}")))
    };
    let client = oci(Some(read_timeout));
    let http_client = http(Some(read_timeout))?;
    let uploads = {
        let oci = oci.clone();
        push::Uploads::new(
            move || Ok((oci(None), http(None)?)),
            &at.host,
            auth.clone(),
            oci_client::Reference::with_tag(
                at.host.clone(),
                at.repository.clone(),
                "latest".into(),
            ),
        )
    };
    let http = http_client;
    let target = push::Target {
        client: &client,
        registry: &dest.registry,
        host: &at.host,
        repository: &at.repository,
        tags: &tags,
        jobs: args.jobs,
        force: args.force,
        reuse_from: &reuse_from,
        mount_from: mount_from.as_deref(),
        auth: auth.clone(),
        insecure,
        http,
        uploads: &uploads,
        idle: idle_timeout,
    };
    let started = std::time::Instant::now();
    let runtime = deploykit::aws::runtime()?;
    let (top, platforms, stats) = runtime.block_on(async {
        // Only real credentials are stored: an anonymous entry makes the
        // client ping /v2/ before every request.
        ecr::ensure_repository(
            &dest.registry,
            &dest.repository,
            args.create_repository,
            &args.aws,
        )
        .await?;
        if !matches!(auth, RegistryAuth::Anonymous) {
            client.store_auth_if_needed(&at.host, &auth).await;
        }
        match what {
            What::Oci(plan) => {
                let tally = push::Tally::new();
                let plan = docker::compress_layout(&target, plan, args.compress, &tally).await?;
                let stats = push::push(&target, &plan, &tally).await?;
                Ok::<_, Error>((plan.top.clone(), plan.platforms.clone(), stats))
            }
            What::Docker(image) => {
                let (top, stats) = docker::push(&target, &image, args.compress).await?;
                Ok((top, Vec::new(), stats))
            }
        }
    })?;
    cli::note(format!(
        "pushed {}/{}@{}: {} blobs uploaded ({} bytes), {} already there ({} bytes), {}{} of {} tags already right, {:.2} s",
        dest.registry,
        dest.repository,
        top.digest,
        stats.uploaded_blobs,
        stats.uploaded_bytes,
        stats.skipped_blobs,
        stats.skipped_bytes,
        if stats.mounted_blobs > 0 {
            format!(
                "{} mounted from another repository ({} bytes), ",
                stats.mounted_blobs, stats.mounted_bytes
            )
        } else {
            String::new()
        },
        stats.tags_left,
        tags.len(),
        started.elapsed().as_secs_f64()
    ));
    if let Some(path) = &args.digest_file {
        deploykit::output::write(
            "--digest-file",
            path,
            format!("{}\n", top.digest).as_bytes(),
        )?;
    }
    let mut image = json!({
        "registry": dest.registry,
        "repository": dest.repository,
        "digest": top.digest,
        "tags": tags,
        "uri": format!("{}/{}@{}", dest.registry, dest.repository, top.digest),
        "mediaType": top.media_type,
    });
    if !platforms.is_empty() {
        image["platforms"] = json!(platforms);
    }
    envelope.insert("image".to_string(), image);
    Ok(Outcome::success(envelope))
}

/// What the source holds, ready to push.
enum What {
    Oci(plan::Plan),
    Docker(docker::DockerImage),
}

/// A registry on this machine (a loopback address or `localhost`), spoken
/// to over plain HTTP.
fn is_loopback(registry: &str) -> bool {
    let host = match registry.rsplit_once(':') {
        Some((host, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => registry,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::is_loopback;

    #[test]
    fn loopback_registries() {
        for yes in [
            "127.0.0.1:5000",
            "localhost",
            "LOCALHOST:5000",
            "[::1]:5000",
            "127.1.2.3",
        ] {
            assert!(is_loopback(yes), "{yes}");
        }
        for no in [
            "127.invalid",
            "127.corp.example:5000",
            "registry.example.com",
            "10.0.0.1:5000",
        ] {
            assert!(!is_loopback(no), "{no}");
        }
    }
}
