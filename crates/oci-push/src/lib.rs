//! oci-push: push an image to a registry with no Docker daemon, from an OCI
//! image layout or an oci-archive, under several tags, streaming each blob
//! from disk and skipping those the registry already has.
//!
//! [`run`] goes Args -> [`config::Config`] (every flag and file checked:
//! exit 2 before the source is opened or anything is sent) -> the source
//! opened and the plan read ([`plan`]: manifests and configs checked
//! against their digests) -> the transfer ([`push`]) -> the `image` object
//! out.
//!
//! Sources: OCI layouts, oci-archives ([`plan`]), docker save tars (classic
//! and Docker 25+: [`docker_save`]); uncompressed layers compressed on the
//! way ([`compress`], [`rewrite`] for layouts), those the registry has
//! found first ([`reuse`]); every blob sent by one uploader ([`upload`]).
//! Where a registry really is: [`location`] (registries.conf). An ECR
//! repository is looked up (and with `--create-repository` created) first:
//! [`ecr`].

mod args;
mod compress;
mod config;
mod docker_save;
mod ecr;
mod idle;
mod media;
mod plan;
mod push;
mod retry;
mod reuse;
mod rewrite;
mod source;
mod upload;

use deploykit::stream::Stdin;
use deploykit::summary::{Inline, Section};
use deploykit::{Error, Outcome, Result, cli};
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::secrets::RegistryAuth;
use serde_json::json;

/// What the registry's access log shows for every request of ours.
const USER_AGENT: &str = concat!("oci-push/", env!("CARGO_PKG_VERSION"));

pub use args::Args;
use config::Config;

/// The whole tool: flags and stdin in, the `image` object out.
pub fn run(args: Args, stdin: Stdin) -> Result<Outcome> {
    let config = Config::from_args(args, stdin)?;
    let source = source::Source::open(&config.from)?;
    let what = match &source {
        source::Source::DockerSave { .. } => {
            if let Some(platform) = &config.platform {
                return Err(Error::usage(format!(
                    "--platform {platform}: a docker save tar holds one platform"
                )));
            }
            What::Docker(docker_save::read(&source, config.reference.as_deref())?)
        }
        _ => {
            let plan = plan::plan(
                &source,
                config.reference.as_deref(),
                config.platform.as_deref(),
            )?;
            rewrite::check_layout(&plan, config.compress)?;
            What::Oci(plan)
        }
    };
    if let (Some(from), What::Docker(_)) = (&config.mount_from, &what)
        && !config
            .reuse_from
            .iter()
            .any(|(repository, _)| repository == from)
    {
        cli::warn(format!(
            "--mount-from {from}: a docker save tar's layers have no digest until they are compressed, so only its config can be mounted; --reuse-from {from}:TAG finds its layers there"
        ));
    }

    let Config {
        dest,
        at,
        insecure,
        idle_timeout,
        tags,
        reuse_from,
        mount_from,
        auth,
        ..
    } = &config;
    // A registry that stops answering fails the request (tried again), not
    // the CI job's own time-out hours later.
    // Uploads have no read time-out (it would run from the request's start
    // and cap a slow transfer that progresses): crate::idle watches them.
    let read_timeout = *idle_timeout;
    let connect_timeout = read_timeout.min(std::time::Duration::from_secs(30));
    let host = at.host.clone();
    let insecure = *insecure;
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
    let target = push::Target {
        client: &client,
        registry: &dest.registry,
        host: &at.host,
        repository: &at.repository,
        tags,
        jobs: config.jobs,
        force: config.force,
        reuse_from,
        mount_from: mount_from.as_deref(),
        auth: auth.clone(),
        insecure,
        http: http_client,
        uploads: &uploads,
        idle: *idle_timeout,
    };
    let started = std::time::Instant::now();
    let runtime = deploykit::aws::runtime()?;
    let tally = push::Tally::new();
    let mut created = false;
    let pushed = runtime.block_on(async {
        created = ecr::ensure_repository(
            &dest.registry,
            &dest.repository,
            config.create_repository,
            &config.aws,
        )
        .await?;
        // Only real credentials are stored: an anonymous entry makes the
        // client ping /v2/ before every request.
        if !matches!(auth, RegistryAuth::Anonymous) {
            client.store_auth_if_needed(&at.host, auth).await;
        }
        let pushed = match what {
            What::Oci(plan) => push::push_layout(&target, plan, config.compress, &tally)
                .await
                .map(|(plan, stats)| (plan.top, plan.platforms, stats)),
            What::Docker(image) => push::push_docker(&target, &image, config.compress, &tally)
                .await
                .map(|(top, stats)| (top, Vec::new(), stats)),
        };
        match pushed {
            Ok(pushed) => Ok(pushed),
            // --create-repository asked DescribeRepositories already.
            Err(e) if config.create_repository => Err(e),
            Err(e) => Err(ecr::explain(e, &dest.registry, &dest.repository, &config.aws).await),
        }
    });
    let (top, platforms, stats) = pushed.map_err(|e| sent_before(e, &config, &tally, created))?;
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
    if let Some(path) = &config.digest_file {
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
    let section = section(&image);
    let mut envelope = config.envelope;
    envelope.insert("image".to_string(), image);
    Ok(Outcome::success(envelope).with_summary(section))
}

/// The job summary's section: what was pushed (repository, digest, tags,
/// platforms); `image`, `digest` and `tags` (a JSON list) for later steps.
fn section(image: &serde_json::Value) -> Section {
    let text = |key: &str| image[key].as_str().unwrap_or_default();
    let tags: Vec<&str> = image["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t.as_str())
        .collect();
    let platforms: Vec<&str> = image["platforms"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p.as_str())
        .collect();
    let mut section = Section::new("pushed");
    let mut row = vec![
        Inline::text(&format!("{}/{}", text("registry"), text("repository"))),
        Inline::code(text("digest")),
        Inline::join(tags.iter().map(|t| Inline::code(t)), ", "),
    ];
    let mut headers = vec!["Repository", "Digest", "Tags"];
    if !platforms.is_empty() {
        headers.push("Platforms");
        row.push(Inline::text(&platforms.join(", ")));
    }
    section.body().table(&headers, &[row]);
    section
        .output("image", text("uri"))
        .output("digest", text("digest"))
        .output("tags", json!(tags).to_string());
    section
}

/// A bad image found mid-stream (a corrupt blob: exit 2) after some blobs
/// went, or after `--create-repository` made the repository: the message
/// says so. Exit 2 promises that no manifest or tag was pushed, not that
/// nothing was sent.
fn sent_before(e: Error, config: &Config, tally: &push::Tally, created: bool) -> Error {
    if e.exit() != deploykit::Exit::Usage {
        return e;
    }
    let stats = tally.stats(0);
    let mut sent = Vec::new();
    if created {
        sent.push(format!(
            "ECR repository {} was created",
            config.dest.repository
        ));
    }
    if stats.uploaded_blobs > 0 {
        let (blobs, were) = match stats.uploaded_blobs {
            1 => ("1 blob".to_string(), "was"),
            n => (format!("{n} blobs"), "were"),
        };
        sent.push(format!(
            "{blobs} ({} bytes) {were} uploaded to {}/{}, which no manifest names",
            stats.uploaded_bytes, config.dest.registry, config.dest.repository
        ));
    }
    if sent.is_empty() {
        return e;
    }
    Error::usage(format!(
        "{}; before that, {}",
        e.message(),
        sent.join(", and ")
    ))
}

/// What the source holds, ready to push.
enum What {
    Oci(plan::Plan),
    Docker(docker_save::DockerImage),
}

/// The whole command, `argv` as a process gets it: the `oci-push` binary
/// passes its own, the multicall `deploykit` binary the one it was given.
pub fn main(argv: Vec<std::ffi::OsString>) -> std::process::ExitCode {
    deploykit::cli::main_with_summary_from("oci-push", argv, run)
}
