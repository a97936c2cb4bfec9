//! The one uploader, for every blob a push sends: POST for an upload URL,
//! then the body streamed from disk in one request, committed with its
//! digest. Two contents:
//!
//! - a blob whose digest and size are known (a layout's, a config): one
//!   PUT carrying the body and `?digest=`, the bytes checked against the
//!   digest as they pass, so a corrupt blob is never committed;
//! - a layer compressed on the way ([`crate::compress`]), whose digest is
//!   known only at its end: one PATCH with the whole stream, then the PUT
//!   with the digest computed as it passed, as docker uploads it.
//!
//! Either way: credentials only to the registry's own scheme, host and port
//! (an upload `Location` elsewhere, a storage host or plain HTTP, gets none,
//! as docker and go-containerregistry do: CVE-2020-15157); a relative
//! `Location` resolved against the URL that answered; no read time-out
//! ([`crate::idle`] watches the body move instead, so a slow upload that
//! progresses never fails); a transient failure tried again
//! ([`crate::retry`]), but never a blob the registry has committed by then.

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use deploykit::{Error, Result};
use indicatif::ProgressBar;
use oci_client::Reference;
use sha2::{Digest, Sha256};

use crate::compress::{self, Compress};
use crate::docker_save::Layer;
use crate::idle::Progress;
use crate::plan::Blob;
use crate::push::{Tally, Target, same_origin, short, unauthorized, without_queries};
use crate::retry::{self, Failure};

/// What is uploaded.
#[derive(Clone, Copy)]
pub enum Content<'a> {
    /// Digest and size known: one PUT with the body.
    Blob(&'a Blob),
    /// Compressed on the way, in this form unless it is gzip already.
    Layer(&'a Layer, Compress),
}

/// What the registry holds now.
#[derive(Debug, Clone)]
pub struct Stored {
    pub digest: String,
    pub size: u64,
}

impl Content<'_> {
    /// `uploading blob sha256:...` / `uploading layer sha256:...` (its diff id).
    fn doing(&self) -> String {
        match self {
            Content::Blob(blob) => format!("uploading blob {}", blob.digest),
            Content::Layer(layer, _) => format!("uploading layer {}", layer.diff_id),
        }
    }

    /// The progress bar's label and length (the bytes read from disk).
    fn bar(&self) -> (String, u64) {
        match self {
            Content::Blob(blob) => (format!("blob {}…", short(&blob.digest)), blob.size),
            Content::Layer(layer, _) => (
                format!("layer {}…", short(&layer.diff_id)),
                layer.place.size,
            ),
        }
    }
}

/// Uploads `content` into the target repository (`reference` names it, for
/// the login and the existence checks), tried again on a transient
/// failure unless the registry has the blob by then.
pub async fn upload(
    target: &Target<'_>,
    reference: &Reference,
    content: Content<'_>,
    tally: &Tally,
) -> Result<Stored> {
    let doing = content.doing();
    let doing = doing.as_str();
    retry::retry(doing, retry::DEFAULT, |attempt| async move {
        if attempt > 1
            && let Content::Blob(blob) = content
            && crate::push::exists(target, reference, blob).await?
        {
            return Ok(Stored {
                digest: blob.digest.clone(),
                size: blob.size,
            });
        }
        let (label, len) = content.bar();
        let bar = tally.bar(&label, len);
        let progress = Progress::default();
        let sent = crate::idle::within(
            &progress,
            target.idle,
            once(target, reference, content, bar.clone(), progress.clone()),
        )
        .await;
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        // Silence is tried again, as a dropped connection is.
        sent.unwrap_or_else(|silent| {
            Err(Failure {
                transient: Some(silent.to_string()),
                error: Error::failed(format!("{doing} to {}: {silent}", target.registry)),
            })
        })
    })
    .await
}

/// One try: POST, the body, the commit.
async fn once(
    target: &Target<'_>,
    reference: &Reference,
    content: Content<'_>,
    bar: Option<ProgressBar>,
    progress: Progress,
) -> std::result::Result<Stored, Failure> {
    let doing = content.doing();
    let fail = |e: String, transient: Option<String>| Failure {
        error: Error::failed(format!(
            "{doing} at {}: {}",
            target.registry,
            without_queries(&e)
        )),
        transient,
    };
    let sent = |e: reqwest::Error| fail(e.to_string(), retry::request(&e));
    // No read time-out: crate::idle watches the upload.
    let (_, http) = target.uploads.clients().await?;
    let base = target.base();
    let authorization = target.authorization(reference).await?;
    let authorized = |method: reqwest::Method, url: &str| {
        let request = http.request(method, url);
        match &authorization {
            Some(value) if same_origin(&base, url) => {
                request.header(reqwest::header::AUTHORIZATION, value)
            }
            _ => request,
        }
    };
    let start = authorized(
        reqwest::Method::POST,
        &format!("{base}/v2/{}/blobs/uploads/", target.repository),
    )
    .header(reqwest::header::CONTENT_LENGTH, 0)
    .send()
    .await
    .map_err(sent)?;
    let location = upload_location(start)
        .await
        .map_err(|(e, t)| answer(target, &doing, e, t))?;

    let (stored, done) = match content {
        Content::Blob(blob) => {
            let corrupt = Arc::new(AtomicBool::new(false));
            let body = reqwest::Body::wrap_stream(checked(blob, corrupt.clone(), bar, progress));
            let done = authorized(reqwest::Method::PUT, &with_digest(&location, &blob.digest))
                .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                .header(reqwest::header::CONTENT_LENGTH, blob.size)
                .body(body)
                .send()
                .await;
            if corrupt.load(Ordering::Relaxed) {
                return Err(Failure::fatal(Error::usage(format!(
                    "blob {} does not match its digest: the source is corrupt; no manifest or tag was pushed",
                    blob.digest
                ))));
            }
            let stored = Stored {
                digest: blob.digest.clone(),
                size: blob.size,
            };
            (stored, done)
        }
        Content::Layer(layer, compress) => {
            let (rx, worker) = compress::spawn(layer, compress, bar);
            let body = reqwest::Body::wrap_stream(body_of(rx, progress));
            let patched = authorized(reqwest::Method::PATCH, &location)
                .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                .body(body)
                .send()
                .await;
            let joined = tokio::task::spawn_blocking(move || worker.join())
                .await
                .map_err(|e| Error::failed(format!("{doing}: {e}")))?
                .map_err(|_| Error::failed(format!("{doing}: the compressing thread stopped")))?;
            // The registry's answer first: when it refused the upload, the
            // compressing side only saw its channel close.
            let patched = patched.map_err(sent)?;
            let location = upload_location(patched)
                .await
                .map_err(|(e, t)| answer(target, &doing, e, t))?;
            let passed =
                joined.map_err(|e| Error::input(format!("reading layer {}", layer.diff_id), &e))?;
            if passed.diff_id != layer.diff_id {
                return Err(Error::usage(format!(
                    "layer {} does not match its diff id (its content hashes to {}): the image is corrupt; no manifest or tag was pushed",
                    layer.diff_id, passed.diff_id
                ))
                .into());
            }
            let done = authorized(
                reqwest::Method::PUT,
                &with_digest(&location, &passed.digest),
            )
            .header(reqwest::header::CONTENT_LENGTH, 0)
            .send()
            .await;
            let stored = Stored {
                digest: passed.digest,
                size: passed.size,
            };
            (stored, done)
        }
    };
    let failed = match done {
        Ok(done) if done.status().is_success() => return Ok(stored),
        Ok(done) => {
            let status = done.status();
            let text = done.text().await.unwrap_or_default();
            if text.contains("DIGEST_INVALID") {
                // Our own check missed it (it should not): the registry's word.
                return Err(Failure::fatal(Error::usage(format!(
                    "the registry refused blob {} as not hashing to that digest: the source is corrupt; no manifest or tag was pushed",
                    stored.digest
                ))));
            }
            let text: String = text.trim().chars().take(300).collect();
            answer(
                target,
                &doing,
                format!("HTTP {status}: {text}"),
                retry::status(status.as_u16()),
            )
        }
        Err(e) => sent(e),
    };
    // The answer was lost, or an error, but the blob may be committed: it
    // is not sent again if it is.
    if failed.transient.is_some()
        && target
            .client
            .blob_exists(reference, &stored.digest)
            .await
            .unwrap_or(false)
    {
        return Ok(stored);
    }
    Err(failed)
}

/// A 403 from the registry: logged in, but not allowed to push here (ECR:
/// a role without the registry-side push actions, or a token for another
/// registry). For ECR, the statement that grants the push, marked as a
/// refusal so that who was refused is asked once the run is over
/// (`aws::CALLER`, `aws::name_the_caller`): the registry names nobody.
pub(crate) fn refused(target: &Target<'_>, doing: &str, why: &str) -> Error {
    let refused = format!(
        "{doing} at {}: refused ({}): the login may not push to {}",
        target.registry,
        without_queries(why),
        target.repository
    );
    match crate::ecr::push_statement(target.registry, target.repository) {
        Some(statement) => Error::failed(format!(
            "{refused}; {} lacks the ECR push actions: add to its policy {statement}",
            deploykit::aws::CALLER
        ))
        .denied(),
        None => Error::failed(refused),
    }
}

/// A failed answer as a [`Failure`]; a 401 says that the login failed.
fn answer(target: &Target<'_>, doing: &str, why: String, transient: Option<String>) -> Failure {
    if why.starts_with("HTTP 401") {
        return Failure::fatal(unauthorized(target.registry, doing));
    }
    // Logged in, but not allowed to push here (ECR: a role without the
    // upload actions, or a token for another registry).
    if why.starts_with("HTTP 403") {
        return Failure::fatal(refused(target, doing, &why));
    }
    // A repository that does not exist (ECR does not make one on push).
    if why.starts_with("HTTP 404") && why.contains("NAME_UNKNOWN") {
        return Failure::fatal(crate::ecr::missing(target.registry, target.repository));
    }
    Failure {
        error: Error::failed(format!(
            "{doing} at {}: {}",
            target.registry,
            without_queries(&why)
        )),
        transient,
    }
}

/// The upload's next URL, from a 202's Location (absolute or not); else
/// why not, and whether another try may work.
async fn upload_location(
    response: reqwest::Response,
) -> std::result::Result<String, (String, Option<String>)> {
    let status = response.status();
    if status != reqwest::StatusCode::ACCEPTED {
        // The registry's error code (NAME_UNKNOWN, DENIED, ...) is in the body.
        let text = response.text().await.unwrap_or_default();
        let text: String = text.trim().chars().take(300).collect();
        let why = if text.is_empty() {
            format!("HTTP {status}")
        } else {
            format!("HTTP {status}: {text}")
        };
        return Err((why, retry::status(status.as_u16())));
    }
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or(("no Location in the registry's answer".to_string(), None))?;
    // A relative Location is relative to the URL that answered (which may
    // be an upload host of its own), as HTTP says.
    response
        .url()
        .join(location)
        .map(String::from)
        .map_err(|e| (format!("the registry's Location is no URL: {e}"), None))
}

/// `location` with `digest=` added to its query.
fn with_digest(location: &str, digest: &str) -> String {
    let separator = if location.contains('?') { '&' } else { '?' };
    format!("{location}{separator}digest={}", digest.replace(':', "%3A"))
}

/// The blob's bytes from its place on disk, 256 KiB at a time; the stream
/// ends in an error (so the registry commits nothing) when they do not hash
/// to the digest. The check happens as the last byte is read, before it is
/// handed on: with a known length the client may stop polling once it has
/// sent that many bytes, so an error after the last chunk could come too
/// late. Each piece is read on the blocking pool (a positioned read of the
/// file: the source may be a decompressed tar that has no name).
fn checked(
    blob: &Blob,
    corrupt: Arc<AtomicBool>,
    bar: Option<ProgressBar>,
    progress: Progress,
) -> impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send + 'static {
    let reader = blob.place.reader().map(|r| r.take(blob.size));
    let expected = blob.digest.clone();
    let state = (Some(reader), Sha256::new(), blob.size);
    futures_util::stream::unfold(state, move |(reader, mut hasher, remaining)| {
        let expected = expected.clone();
        let corrupt = corrupt.clone();
        let bar = bar.clone();
        let progress = progress.clone();
        async move {
            let fail = |e: std::io::Error, hasher| Some((Err(e), (None, hasher, 0)));
            let mut reader = match reader.filter(|_| remaining > 0)? {
                Ok(reader) => reader,
                Err(e) => return fail(e, hasher),
            };
            let want = (256 << 10).min(remaining as usize);
            let read = tokio::task::spawn_blocking(move || {
                let mut buf = vec![0u8; want];
                let read = reader.read(&mut buf);
                (reader, buf, read)
            })
            .await;
            let (reader, mut buf, read) = match read {
                Ok(done) => done,
                Err(e) => return fail(std::io::Error::other(e), hasher),
            };
            match read {
                Ok(0) => fail(
                    std::io::Error::other("the blob ended before its size"),
                    hasher,
                ),
                Ok(n) => {
                    buf.truncate(n);
                    progress.mark();
                    hasher.update(&buf);
                    if let Some(bar) = &bar {
                        bar.inc(n as u64);
                    }
                    let remaining = remaining - n as u64;
                    if remaining == 0
                        && crate::plan::digest_of(std::mem::take(&mut hasher)) != expected
                    {
                        corrupt.store(true, Ordering::Relaxed);
                        return fail(
                            std::io::Error::other("the blob does not match its digest"),
                            hasher,
                        );
                    }
                    Some((Ok(Bytes::from(buf)), (Some(Ok(reader)), hasher, remaining)))
                }
                Err(e) => fail(e, hasher),
            }
        }
    })
}

/// The compressing thread's pieces as the request body, each one it hands
/// on marked as progress.
fn body_of(
    mut rx: tokio::sync::mpsc::Receiver<std::io::Result<Bytes>>,
    progress: Progress,
) -> impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send + 'static {
    futures_util::stream::poll_fn(move |cx| {
        let polled = rx.poll_recv(cx);
        if polled.is_ready() {
            progress.mark();
        }
        polled
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_joins_the_locations_query() {
        assert_eq!(
            with_digest("http://r/v2/x/blobs/uploads/1", "sha256:ab"),
            "http://r/v2/x/blobs/uploads/1?digest=sha256%3Aab"
        );
        assert_eq!(
            with_digest("http://r/v2/x/blobs/uploads/1?_state=s", "sha256:ab"),
            "http://r/v2/x/blobs/uploads/1?_state=s&digest=sha256%3Aab"
        );
    }
}
