//! The transfer: HEAD every blob, upload the missing ones concurrently
//! ([`crate::upload`], the one uploader), then the manifests as their bytes
//! are, once per tag; a tag that already points at the digest is left
//! alone. [`push_layout`] and [`push_docker`] are the two sources' ways in:
//! layers to compress are found in the registry ([`crate::reuse`]) or
//! compressed and uploaded first, then what names them is written.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use deploykit::{Error, Result};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use oci_client::errors::OciDistributionError;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference, RegistryOperation};
use sha2::Digest;

use crate::compress::Compress;
use crate::docker_save::{self, DockerImage, Layer};
use crate::plan::{Blob, Manifest, Plan};
use crate::retry::{self, Failure};
use crate::reuse::{self, Pushed};
use crate::rewrite;
use crate::upload::{self, Content};

/// What a push did, for the summary line.
#[derive(Debug, Default)]
pub struct Stats {
    pub uploaded_blobs: u64,
    pub uploaded_bytes: u64,
    pub skipped_blobs: u64,
    pub skipped_bytes: u64,
    pub mounted_blobs: u64,
    pub mounted_bytes: u64,
    pub tags_left: u64,
}

/// Where to push and how.
pub struct Target<'a> {
    pub client: &'a Client,
    /// The image's registry, as named (for messages).
    pub registry: &'a str,
    /// Where connections go (registries.conf may move it) and the
    /// repository there.
    pub host: &'a str,
    pub repository: &'a str,
    pub tags: &'a [String],
    pub jobs: usize,
    pub force: bool,
    /// Images (repository at `host`, tag) whose layers a docker save
    /// tar's may be (`--reuse-from`); the target tags are looked at too.
    pub reuse_from: &'a [(String, String)],
    /// A repository at `host` to mount missing blobs from (`--mount-from`).
    pub mount_from: Option<&'a str>,
    pub auth: oci_client::secrets::RegistryAuth,
    /// Plain HTTP.
    pub insecure: bool,
    /// For the requests oci-client cannot make as we need them (a layer
    /// streamed with no digest yet, manifests), with the same time-outs.
    pub http: reqwest::Client,
    /// The same two clients with no read time-out, for the uploads, which
    /// [`crate::idle`] watches instead: a slow upload that progresses
    /// never times out.
    pub uploads: &'a Uploads,
    /// `--idle-timeout`.
    pub idle: std::time::Duration,
}

/// The clients that upload, made at the first upload (a push that sends
/// nothing, an unchanged re-push, never pays for them), with the login.
pub struct Uploads {
    make: Box<dyn Fn() -> Result<(Client, reqwest::Client)> + Send + Sync>,
    host: String,
    auth: RegistryAuth,
    login_at: Reference,
    made: tokio::sync::OnceCell<(Client, reqwest::Client)>,
}

impl Uploads {
    pub fn new(
        make: impl Fn() -> Result<(Client, reqwest::Client)> + Send + Sync + 'static,
        host: &str,
        auth: RegistryAuth,
        login_at: Reference,
    ) -> Self {
        Uploads {
            make: Box::new(make),
            host: host.to_string(),
            auth,
            login_at,
            made: tokio::sync::OnceCell::new(),
        }
    }

    /// oci-client's and ours, logged in (a bearer token fetched once, when
    /// the registry hands out tokens).
    pub async fn clients(&self) -> Result<&(Client, reqwest::Client)> {
        self.made
            .get_or_try_init(|| async {
                let (client, http) = (self.make)()?;
                if !matches!(self.auth, RegistryAuth::Anonymous) {
                    client.store_auth_if_needed(&self.host, &self.auth).await;
                    let _ = client
                        .auth(&self.login_at, &self.auth, RegistryOperation::Push)
                        .await;
                }
                Ok((client, http))
            })
            .await
    }
}

impl Target<'_> {
    pub fn reference(&self, tag: &str) -> Reference {
        Reference::with_tag(
            self.host.to_string(),
            self.repository.to_string(),
            tag.to_string(),
        )
    }

    /// `scheme://host`.
    pub fn base(&self) -> String {
        let scheme = if self.insecure { "http" } else { "https" };
        format!("{scheme}://{}", self.host)
    }

    /// The Authorization header oci-client would send: a bearer token it
    /// fetched for the push, or Basic credentials.
    pub async fn authorization(&self, reference: &Reference) -> Result<Option<String>> {
        if matches!(self.auth, RegistryAuth::Anonymous) {
            return Ok(None);
        }
        let token = self
            .client
            .auth(reference, &self.auth, RegistryOperation::Push)
            .await
            .map_err(|e| registry_error(self.registry, "authenticating", e))?;
        Ok(match (token, &self.auth) {
            (Some(token), _) => Some(format!("Bearer {token}")),
            (None, RegistryAuth::Basic(user, password)) => {
                use base64::Engine;
                let pair =
                    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
                Some(format!("Basic {pair}"))
            }
            (None, _) => None,
        })
    }

    /// `repository:tag` at this registry.
    pub fn elsewhere(&self, repository: &str, tag: &str) -> Reference {
        Reference::with_tag(
            self.host.to_string(),
            repository.to_string(),
            tag.to_string(),
        )
    }

    /// Mounts `digest` from `repository` into the target; false when the
    /// registry would not (it lacks the blob there, or mounts).
    pub async fn mount(&self, image: &Reference, repository: &str, digest: &str) -> bool {
        let source = self.elsewhere(repository, "latest");
        self.client.mount_blob(image, &source, digest).await.is_ok()
    }

    fn by_digest(&self, digest: &str) -> Reference {
        Reference::with_digest(
            self.host.to_string(),
            self.repository.to_string(),
            digest.to_string(),
        )
    }
}

/// What a push sent and skipped, counted as the blobs go (concurrently),
/// each one said on stderr as it is counted; on a terminal, a progress bar
/// a blob while it uploads.
#[derive(Debug, Default)]
pub struct Tally {
    bars: Option<MultiProgress>,
    uploaded_blobs: AtomicU64,
    uploaded_bytes: AtomicU64,
    skipped_blobs: AtomicU64,
    skipped_bytes: AtomicU64,
    mounted_blobs: AtomicU64,
    mounted_bytes: AtomicU64,
}

impl Tally {
    /// Bars only when stderr is a terminal that can draw them (indicatif
    /// hides them otherwise, and TERM=dumb): a CI log gets one line a blob.
    pub fn new() -> Self {
        use std::io::IsTerminal;
        let bars = std::io::stderr()
            .is_terminal()
            .then(MultiProgress::new)
            .filter(|bars| !bars.is_hidden());
        Tally {
            bars,
            ..Default::default()
        }
    }

    /// A progress bar for `total` bytes of `what`, on a terminal.
    pub fn bar(&self, what: &str, total: u64) -> Option<ProgressBar> {
        let bars = self.bars.as_ref()?;
        let style = ProgressStyle::with_template(
            "{prefix} [{bar:24}] {bytes}/{total_bytes} {binary_bytes_per_sec}",
        )
        .expect("a valid template")
        .progress_chars("=> ");
        let bar = bars.add(ProgressBar::new(total).with_style(style));
        bar.set_prefix(what.to_string());
        Some(bar)
    }

    pub fn uploaded(&self, digest: &str, size: u64) {
        self.uploaded_blobs.fetch_add(1, Ordering::Relaxed);
        self.uploaded_bytes.fetch_add(size, Ordering::Relaxed);
        self.say(digest, size, "uploaded");
    }

    pub fn skipped(&self, digest: &str, size: u64) {
        self.skipped_blobs.fetch_add(1, Ordering::Relaxed);
        self.skipped_bytes.fetch_add(size, Ordering::Relaxed);
        self.say(digest, size, "already there");
    }

    pub fn mounted(&self, digest: &str, size: u64, from: &str) {
        self.mounted_blobs.fetch_add(1, Ordering::Relaxed);
        self.mounted_bytes.fetch_add(size, Ordering::Relaxed);
        self.say(digest, size, &format!("mounted from {from}"));
    }

    /// One line a blob on stderr: what happened to it (above the bars).
    fn say(&self, digest: &str, size: u64, what: &str) {
        let line = format!("blob {}… {what} ({size} bytes)", short(digest));
        match &self.bars {
            Some(bars) => {
                let _ = bars.println(format!("{}: {line}", deploykit::cli::tool()));
            }
            None => deploykit::cli::note(line),
        }
    }

    pub fn stats(&self, tags_left: u64) -> Stats {
        Stats {
            uploaded_blobs: self.uploaded_blobs.load(Ordering::Relaxed),
            uploaded_bytes: self.uploaded_bytes.load(Ordering::Relaxed),
            skipped_blobs: self.skipped_blobs.load(Ordering::Relaxed),
            skipped_bytes: self.skipped_bytes.load(Ordering::Relaxed),
            mounted_blobs: self.mounted_blobs.load(Ordering::Relaxed),
            mounted_bytes: self.mounted_bytes.load(Ordering::Relaxed),
            tags_left,
        }
    }
}

/// Pushes the plan; the stats say what was sent.
pub async fn push(target: &Target<'_>, plan: &Plan, tally: &Tally) -> Result<Stats> {
    // Every tag already names this very manifest: the registry accepted it
    // only with every blob it names, so there is nothing to ask blob by
    // blob (--force asks anyway: a registry that lost blobs). What each tag
    // names is asked once, here, for tag() too.
    let mut pointing = Vec::new();
    if !target.force {
        pointing = tags_pointing(target, &plan.top.digest).await;
        if !pointing.is_empty() && pointing.iter().all(|p| *p) {
            for blob in &plan.blobs {
                tally.skipped(&blob.digest, blob.size);
            }
            return Ok(tally.stats(target.tags.len() as u64));
        }
    }
    let image = target.reference(target.tags.first().map_or("latest", String::as_str));
    settled(&plan.blobs, target.jobs, |blob| {
        send_blob(target, &image, blob, tally)
    })
    .await?;
    for child in &plan.children {
        push_manifest(target, &target.by_digest(&child.digest), child).await?;
    }
    let tags_left = tag_knowing(target, &plan.top, &pointing).await?;
    Ok(tally.stats(tags_left))
}

/// An OCI layout's plan: its uncompressed layers found in the registry or
/// compressed and uploaded on the way ([`send_layers`]), its manifests
/// rewritten to name what they became ([`rewrite`]), then the rest as
/// [`push`] sends it. Returns the plan pushed (its top may be new).
pub async fn push_layout(
    target: &Target<'_>,
    plan: Plan,
    compress: Compress,
    tally: &Tally,
) -> Result<(Plan, Stats)> {
    let raw = rewrite::raw_layers(&plan, compress)?;
    let plan = if raw.is_empty() {
        plan
    } else {
        let known = known_layers(target).await;
        let reference = target.reference(target.tags.first().map_or("latest", String::as_str));
        let pushed = send_layers(target, &reference, &raw, compress, &known, tally).await?;
        rewrite::rewrite(plan, &raw, &pushed, compress)?
    };
    let stats = push(target, &plan, tally).await?;
    Ok((plan, stats))
}

/// A docker save tar's image: its config, its layers (found in the
/// registry, else compressed on the way), then the manifest that names
/// them under every tag.
pub async fn push_docker(
    target: &Target<'_>,
    image: &DockerImage,
    compress: Compress,
    tally: &Tally,
) -> Result<(Manifest, Stats)> {
    let known = known_layers(target).await;
    let reference = target.reference(target.tags.first().map_or("latest", String::as_str));
    send_blob(target, &reference, &image.config, tally).await?;
    let pushed = send_layers(target, &reference, &image.layers, compress, &known, tally).await?;
    let top = docker_save::manifest(&image.config, &pushed);
    let tags_left = tag(target, &top).await?;
    Ok((top, tally.stats(tags_left)))
}

/// What the registry holds for the target tags' (and `--reuse-from`'s)
/// layers; nothing with `--force`, which sends every layer.
async fn known_layers(target: &Target<'_>) -> HashMap<(String, Compress), Pushed> {
    if target.force {
        HashMap::new()
    } else {
        reuse::known_layers(target).await
    }
}

/// Each layer: found in the registry (the target's or, mounted, another
/// repository's), else compressed and uploaded; `--jobs` at once, in order.
async fn send_layers(
    target: &Target<'_>,
    reference: &Reference,
    layers: &[Layer],
    compress: Compress,
    known: &HashMap<(String, Compress), Pushed>,
    tally: &Tally,
) -> Result<Vec<Pushed>> {
    settled(layers, target.jobs, |layer| {
        let form = if layer.gzip { Compress::Gzip } else { compress };
        let known = known.get(&(layer.diff_id.clone(), form)).cloned();
        async move {
            if let Some(found) = reuse::found(target, reference, known, tally).await {
                return Ok(found);
            }
            let stored =
                upload::upload(target, reference, Content::Layer(layer, compress), tally).await?;
            tally.uploaded(&stored.digest, stored.size);
            Ok(Pushed {
                digest: stored.digest,
                size: stored.size,
                form,
                from: None,
            })
        }
    })
    .await
}

/// `job` on each item, `jobs` at once, the results in the items' order.
/// After the first failure no new job starts, but those under way finish
/// rather than being dropped mid-request: a blob the registry commits
/// meanwhile is counted, so what a failure says was uploaded is what the
/// registry holds. Returns the first failure.
async fn settled<'i, I, T, F, Fut>(items: &'i [I], jobs: usize, job: F) -> Result<Vec<T>>
where
    F: Fn(&'i I) -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    use futures_util::StreamExt;
    let stop = std::sync::atomic::AtomicBool::new(false);
    let stop = &stop;
    let job = &job;
    let mut done: Vec<(usize, Option<Result<T>>)> =
        futures_util::stream::iter(items.iter().enumerate())
            .map(|(i, item)| async move {
                if stop.load(Ordering::Relaxed) {
                    return (i, None);
                }
                let result = job(item).await;
                if result.is_err() {
                    stop.store(true, Ordering::Relaxed);
                }
                (i, Some(result))
            })
            .buffer_unordered(jobs.max(1))
            .collect()
            .await;
    // The first failure, in the order they happened.
    if let Some(at) = done.iter().position(|(_, r)| matches!(r, Some(Err(_)))) {
        let (_, failed) = done.swap_remove(at);
        return Err(failed.expect("a result").err().expect("an error"));
    }
    done.sort_by_key(|(i, _)| *i);
    Ok(done
        .into_iter()
        .filter_map(|(_, r)| r.and_then(Result::ok))
        .collect())
}

/// A blob whose digest and size are known: skipped when the registry has
/// it (unless `--force`), else uploaded; counted either way.
pub async fn send_blob(
    target: &Target<'_>,
    image: &Reference,
    blob: &Blob,
    tally: &Tally,
) -> Result<()> {
    if !target.force && exists(target, image, blob).await? {
        tally.skipped(&blob.digest, blob.size);
        return Ok(());
    }
    if let Some(from) = target.mount_from
        && target.mount(image, from, &blob.digest).await
    {
        tally.mounted(&blob.digest, blob.size, from);
        return Ok(());
    }
    upload::upload(target, image, Content::Blob(blob), tally).await?;
    tally.uploaded(&blob.digest, blob.size);
    Ok(())
}

/// `sha256:` and the first 12 hex digits.
pub fn short(digest: &str) -> &str {
    digest.get(..19).unwrap_or(digest)
}

/// Pushes `top` under every tag (by digest alone with none); a tag that
/// already points at it is left alone. Returns how many were. A registry
/// that refuses the manifest refuses it at the first tag, before any tag
/// moves; a tag that fails after others were set says which were.
pub async fn tag(target: &Target<'_>, top: &Manifest) -> Result<u64> {
    tag_knowing(target, top, &[]).await
}

/// [`tag`], with what each tag names already asked (`pointing`, one a tag,
/// in order; empty: ask).
async fn tag_knowing(target: &Target<'_>, top: &Manifest, pointing: &[bool]) -> Result<u64> {
    let asked;
    let pointing = if pointing.len() == target.tags.len() || target.force {
        pointing
    } else {
        asked = tags_pointing(target, &top.digest).await;
        &asked
    };
    let mut pending = Vec::new();
    for (i, tag) in target.tags.iter().enumerate() {
        let reference = target.reference(tag);
        let already = pointing.get(i).copied().unwrap_or(false);
        if target.force || !already {
            pending.push((tag, reference));
        }
    }
    let left = (target.tags.len() - pending.len()) as u64;
    if target.tags.is_empty() {
        push_manifest(target, &target.by_digest(&top.digest), top).await?;
    }
    let mut set: Vec<&str> = Vec::new();
    for (tag, reference) in pending {
        push_manifest(target, &reference, top).await.map_err(|e| {
            if set.is_empty() {
                e
            } else {
                e.context(format!(
                    "tags already moved to {} before this: {}",
                    top.digest,
                    set.join(", ")
                ))
            }
        })?;
        set.push(tag);
    }
    Ok(left)
}

/// Whether the target repository has `blob` (HEAD), tried again on a
/// transient failure.
pub async fn exists(target: &Target<'_>, image: &Reference, blob: &Blob) -> Result<bool> {
    let what = format!("checking blob {}", blob.digest);
    retry::retry(&what, retry::DEFAULT, |_| async {
        target
            .client
            .blob_exists(image, &blob.digest)
            .await
            .map_err(|e| match forbidden(&e) {
                true => Failure::fatal(crate::upload::refused(target, &what, "HTTP 403 Forbidden")),
                false => Failure {
                    transient: retry::oci(&e),
                    error: registry_error(target.registry, &what, e),
                },
            })
    })
    .await
}

/// The manifest types a tag may name, for the Accept header.
const MANIFEST_TYPES: &str = "application/vnd.oci.image.index.v1+json, \
application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json, \
application/vnd.docker.distribution.manifest.v2+json";

/// Whether the tag of `reference` names `digest` now: one HEAD (a GET only
/// when the registry sends no Docker-Content-Digest). Any failure reads as
/// "no", so the tag is pushed. Our own request: oci-client's lookup asks
/// HEAD then GET on a missing tag, and stores an anonymous login that
/// makes it ping /v2/ before every later request.
async fn points_at(
    target: &Target<'_>,
    reference: &Reference,
    authorization: &Option<String>,
    digest: &str,
) -> bool {
    let tag = reference.tag().unwrap_or("latest");
    let url = format!("{}/v2/{}/manifests/{tag}", target.base(), target.repository);
    let ask = |head: bool| {
        let mut request = if head {
            target.http.head(&url)
        } else {
            target.http.get(&url)
        };
        request = request.header(reqwest::header::ACCEPT, MANIFEST_TYPES);
        if let Some(value) = authorization {
            request = request.header(reqwest::header::AUTHORIZATION, value);
        }
        request.send()
    };
    let Ok(answer) = ask(true).await else {
        return false;
    };
    if !answer.status().is_success() {
        return false;
    }
    if let Some(found) = answer
        .headers()
        .get("docker-content-digest")
        .and_then(|v| v.to_str().ok())
    {
        return found == digest;
    }
    let Ok(answer) = ask(false).await else {
        return false;
    };
    if !answer.status().is_success() {
        return false;
    }
    match answer.bytes().await {
        Ok(body) => format!("sha256:{:x}", sha2::Sha256::digest(&body)) == digest,
        Err(_) => false,
    }
}

/// [`points_at`] for every tag at once, in the tags' order, logged in
/// once for all of them.
async fn tags_pointing(target: &Target<'_>, digest: &str) -> Vec<bool> {
    let references: Vec<Reference> = target.tags.iter().map(|t| target.reference(t)).collect();
    let Some(first) = references.first() else {
        return Vec::new();
    };
    let Ok(authorization) = target.authorization(first).await else {
        return vec![false; references.len()];
    };
    futures_util::future::join_all(
        references
            .iter()
            .map(|r| points_at(target, r, &authorization, digest)),
    )
    .await
}

/// PUT of the manifest's bytes as they are, at a tag or its digest, with
/// our own request: oci-client's panics on a by-digest push when the
/// registry sends no Location (ECR does not).
async fn push_manifest(
    target: &Target<'_>,
    reference: &Reference,
    manifest: &Manifest,
) -> Result<()> {
    let at = reference
        .digest()
        .or_else(|| reference.tag())
        .unwrap_or("latest")
        .to_string();
    let what = format!("pushing manifest {reference}");
    let url = format!("{}/v2/{}/manifests/{at}", target.base(), target.repository);
    let stored = retry::retry(&what, retry::DEFAULT, |_| async {
        let mut request = target
            .http
            .put(&url)
            .header(reqwest::header::CONTENT_TYPE, &manifest.media_type)
            .body(manifest.bytes.clone());
        if let Some(value) = target.authorization(reference).await? {
            request = request.header(reqwest::header::AUTHORIZATION, value);
        }
        let fail = |e: String, transient: Option<String>| Failure {
            error: Error::failed(format!("{what} at {}: {e}", target.registry)),
            transient,
        };
        let answer = request
            .send()
            .await
            .map_err(|e| fail(without_queries(&e.to_string()), retry::request(&e)))?;
        let status = answer.status();
        if status == reqwest::StatusCode::FORBIDDEN {
            let text = answer.text().await.unwrap_or_default();
            let text: String = text.trim().chars().take(300).collect();
            let why = format!("HTTP {status}: {text}");
            return Err(Failure::fatal(crate::upload::refused(target, &what, &why)));
        }
        if status == reqwest::StatusCode::UNAUTHORIZED {
            return Err(Failure::fatal(Error::failed(format!(
                "{what}: authentication failed at {} (HTTP {}; check the login: ecr-login, docker login, or --username with --password-stdin)",
                target.registry,
                status.as_u16()
            ))));
        }
        if !status.is_success() {
            let text = answer.text().await.unwrap_or_default();
            let text: String = text.trim().chars().take(300).collect();
            return Err(fail(format!("HTTP {status}: {text}"), retry::status(status.as_u16())));
        }
        // What the registry says it stored: Docker-Content-Digest, else the
        // digest its Location ends in.
        let header = |name| {
            answer
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        Ok(header("docker-content-digest")
            .or_else(|| header("location").and_then(|l| stored_digest(&l).map(str::to_string))))
    })
    .await?;
    if let Some(stored) = stored
        && stored != manifest.digest
    {
        return Err(Error::failed(format!(
            "{what}: {} stored it as {stored}, not as {} (the bytes sent): the registry rewrote the manifest",
            target.registry, manifest.digest
        )));
    }
    Ok(())
}

/// Whether `url` is on the registry at `base` (`scheme://host:port`): the
/// same scheme, host and port, so that its credentials may go there.
pub fn same_origin(base: &str, url: &str) -> bool {
    match (reqwest::Url::parse(base), reqwest::Url::parse(url)) {
        (Ok(base), Ok(url)) => {
            base.scheme() == url.scheme()
                && base.host_str() == url.host_str()
                && base.port_or_known_default() == url.port_or_known_default()
        }
        _ => false,
    }
}

/// The digest at the end of a manifest's Location, if it ends in one.
fn stored_digest(location: &str) -> Option<&str> {
    let path = location.split(['?', '#']).next()?;
    let (_, last) = path.rsplit_once("/manifests/")?;
    last.starts_with("sha256:").then_some(last)
}

/// The registry refused our credentials (exit 1): says which registry,
/// and where the login comes from.
pub fn unauthorized(registry: &str, doing: &str) -> Error {
    Error::failed(format!(
        "{doing}: authentication failed at {registry} (check the login: ecr-login, docker login, or --username with --password-stdin)"
    ))
}

/// One line for a registry failure (exit 1), naming the registry; an
/// authentication failure says so. URLs lose their query strings: an
/// upload's `_state` is the registry's token, of no use to a person.
/// Whether oci-client's error is the registry's 403.
fn forbidden(e: &OciDistributionError) -> bool {
    match e {
        OciDistributionError::ServerError { code, .. } => *code == 403,
        OciDistributionError::RequestError(r) => r.status() == Some(reqwest::StatusCode::FORBIDDEN),
        _ => false,
    }
}

pub fn registry_error(registry: &str, doing: &str, e: OciDistributionError) -> Error {
    let unauthorized = match &e {
        OciDistributionError::AuthenticationFailure(_)
        | OciDistributionError::UnauthorizedError { .. } => true,
        OciDistributionError::ServerError { code, .. } => *code == 401,
        OciDistributionError::RequestError(r) => {
            r.status() == Some(reqwest::StatusCode::UNAUTHORIZED)
        }
        _ => false,
    };
    if unauthorized {
        return self::unauthorized(registry, doing);
    }
    let mut why = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        let t = s.to_string();
        if !why.contains(&t) {
            why.push_str(": ");
            why.push_str(&t);
        }
        source = s.source();
    }
    Error::failed(format!("{doing} at {registry}: {}", without_queries(&why)))
}

pub(crate) use deploykit::registry::without_queries;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_401_inside_a_digest_is_no_authentication_failure() {
        let e = OciDistributionError::ServerError {
            url: "http://r/v2/x/blobs/sha256:4010aa".into(),
            code: 500,
            message: "boom".into(),
        };
        let text = registry_error("r", "uploading", e).to_string();
        assert!(!text.contains("authentication failed"), "{text}");
    }

    #[test]
    fn a_server_401_is_an_authentication_failure() {
        let e = OciDistributionError::ServerError {
            url: "http://r/v2/".into(),
            code: 401,
            message: "no".into(),
        };
        assert!(
            registry_error("r", "pushing", e)
                .to_string()
                .contains("authentication failed at r")
        );
    }

    #[test]
    fn credentials_go_to_the_registrys_own_origin_only() {
        let base = "https://r.example:5000";
        assert!(same_origin(
            base,
            "https://r.example:5000/v2/web/blobs/uploads/1"
        ));
        assert!(!same_origin(base, "https://storage.example/upload/1"));
        assert!(!same_origin(
            base,
            "http://r.example:5000/v2/web/blobs/uploads/1"
        ));
        assert!(!same_origin(
            base,
            "https://r.example:5001/v2/web/blobs/uploads/1"
        ));
        assert!(same_origin(
            "https://r.example",
            "https://r.example:443/v2/"
        ));
    }

    #[test]
    fn the_stored_digest_is_read_from_the_location() {
        assert_eq!(
            stored_digest("http://r/v2/a/b/manifests/sha256:abc"),
            Some("sha256:abc")
        );
        assert_eq!(stored_digest("/v2/a/manifests/latest"), None);
        assert_eq!(stored_digest("/v2/a/blobs/sha256:abc"), None);
    }

    #[test]
    fn upload_state_tokens_are_not_repeated() {
        assert_eq!(
            without_queries(
                "url http://r/v2/x/blobs/uploads/u?_state=abc&digest=sha256%3A1, code: 400"
            ),
            "url http://r/v2/x/blobs/uploads/u, code: 400"
        );
    }
}
