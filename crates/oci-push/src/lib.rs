//! oci-push: push an image to a registry with no Docker daemon, from an OCI
//! image layout or an oci-archive, under several tags, streaming each blob
//! from disk and skipping those the registry already has.
//!
//! [`run`] goes Args -> checked destination, tags and credentials (exit 2
//! before anything is sent) -> the source opened and the plan read
//! ([`plan`]: manifests and configs checked against their digests) -> the
//! transfer ([`push`]) -> the `image` object out.
//!
//! This build reads OCI layouts and oci-archives; docker save tars,
//! compression on the way, registries.conf locations and ECR repository
//! creation are the next steps of its issue.

mod args;
mod plan;
mod push;
mod source;

use deploykit::registry::{self, DockerConfig};
use deploykit::stream::Stdin;
use deploykit::{Error, Outcome, Result, cli};
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::secrets::RegistryAuth;
use serde_json::json;

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
    let tags = args::tags(&args)?;
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
    let plan = plan::plan(&source, args.reference.as_deref(), args.platform.as_deref())?;

    let insecure = args.insecure || is_loopback(&dest.registry);
    let client = oci_client::Client::new(ClientConfig {
        protocol: if insecure {
            ClientProtocol::HttpsExcept(vec![dest.registry.clone()])
        } else {
            ClientProtocol::Https
        },
        use_monolithic_push: true,
        ..Default::default()
    });
    let target = push::Target {
        client: &client,
        registry: &dest.registry,
        repository: &dest.repository,
        tags: &tags,
        jobs: args.jobs,
        force: args.force,
        auth: auth.clone(),
    };
    let started = std::time::Instant::now();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::failed(format!("starting the async runtime: {e}")))?;
    let stats = runtime.block_on(async {
        // Only real credentials are stored: an anonymous entry makes the
        // client ping /v2/ before every request.
        if !matches!(auth, RegistryAuth::Anonymous) {
            client.store_auth_if_needed(&dest.registry, &auth).await;
        }
        push::push(&target, &plan).await
    })?;
    cli::note(format!(
        "pushed {}/{}@{}: {} blobs uploaded ({} bytes), {} already there ({} bytes), {} of {} tags already right, {:.2} s",
        dest.registry,
        dest.repository,
        plan.top.digest,
        stats.uploaded_blobs,
        stats.uploaded_bytes,
        stats.skipped_blobs,
        stats.skipped_bytes,
        stats.tags_left,
        tags.len(),
        started.elapsed().as_secs_f64()
    ));
    if let Some(path) = &args.digest_file {
        std::fs::write(path, format!("{}\n", plan.top.digest))
            .map_err(|e| Error::output(format!("writing {}", path.display()), &e))?;
    }
    let mut image = json!({
        "registry": dest.registry,
        "repository": dest.repository,
        "digest": plan.top.digest,
        "tags": tags,
        "uri": format!("{}/{}@{}", dest.registry, dest.repository, plan.top.digest),
        "mediaType": plan.top.media_type,
    });
    if !plan.platforms.is_empty() {
        image["platforms"] = json!(plan.platforms);
    }
    envelope.insert("image".to_string(), image);
    Ok(Outcome::success(envelope))
}

/// A registry on this machine, spoken to over plain HTTP.
fn is_loopback(registry: &str) -> bool {
    let host = match registry.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => registry,
    };
    host == "localhost" || host == "[::1]" || host.starts_with("127.")
}
