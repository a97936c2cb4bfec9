//! `docker save` tars, classic (`manifest.json`, `<id>/layer.tar`, layers
//! possibly symlink entries as skopeo writes them) or Docker 25+ (the same
//! `manifest.json` over an OCI layout): their layers are uncompressed, so
//! each is gzip-compressed while it streams, as `docker push` does,
//! deterministically (fixed level, no timestamp: one layer, one digest)
//! and over every core ([`parallel_compress`]; zstd with `--compress zstd`),
//! and uploaded the way docker uploads it: POST, one PATCH carrying the
//! whole compressed stream, PUT with the digest computed as it passed. No
//! temp file, no second pass; memory stays flat (a few 1 MiB buffers).
//!
//! Before compressing anything, the manifests the target tags point at now
//! are read: a layer whose uncompressed digest (`rootfs.diff_ids`) is there
//! already, as a blob the registry still has, is referenced, not sent. An
//! unchanged re-push compresses and uploads nothing, with no local cache.

use std::collections::HashMap;
use std::io::{Read, Write};

use bytes::Bytes;
use deploykit::{Error, Result};
use futures_util::TryStreamExt;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::plan::{Blob, Manifest, Plan, digest_of, sha256};
use crate::push::{Stats, Tally, Target};
use crate::retry::Failure;
use crate::source::{Place, Source};

pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
const OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// How uncompressed layers are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Compress {
    /// gzip, as docker push sends them (the default)
    Gzip,
    /// zstd (an OCI manifest then: Docker's schema 2 has no zstd layer type)
    Zstd,
    /// as they are
    None,
}

impl Compress {
    /// The media type of a layer sent in this form, in a Docker or an OCI manifest.
    fn layer_type(self, oci: bool) -> &'static str {
        match (self, oci) {
            (Compress::Gzip, false) => DOCKER_LAYER_GZIP,
            (Compress::None, false) => DOCKER_LAYER,
            (Compress::Gzip, true) => OCI_LAYER_GZIP,
            (Compress::Zstd, _) => OCI_LAYER_ZSTD,
            (Compress::None, true) => OCI_LAYER,
        }
    }

    /// The form a layer of this media type was sent in.
    fn of_media_type(media_type: &str) -> Option<Self> {
        if media_type.ends_with("gzip") {
            Some(Compress::Gzip)
        } else if media_type.ends_with("zstd") {
            Some(Compress::Zstd)
        } else if media_type.ends_with(".tar") {
            Some(Compress::None)
        } else {
            None
        }
    }
}

/// One image of a docker save tar.
#[derive(Debug)]
pub struct DockerImage {
    pub config: Blob,
    pub layers: Vec<Layer>,
}

/// One layer: where its tar is, and its diff id.
#[derive(Debug, Clone)]
pub struct Layer {
    pub place: Place,
    pub diff_id: String,
    /// Already gzip (Docker 25+ with the containerd image store writes its
    /// layers compressed): sent as it is, its diff id checked by
    /// decompressing on the way.
    pub gzip: bool,
}

/// Whether the bytes at `place` begin as gzip does.
fn starts_as_gzip(place: &Place) -> Result<bool> {
    let mut magic = Vec::with_capacity(2);
    place
        .reader()
        .and_then(|reader| reader.take(2).read_to_end(&mut magic))
        .map(|_| magic == [0x1f, 0x8b])
        .map_err(|e| Error::input(format!("reading {}", place.path.display()), &e))
}

/// What a layer became in the registry.
#[derive(Debug, Clone)]
struct Pushed {
    digest: String,
    size: u64,
    form: Compress,
    /// Found in another repository of the registry (`--reuse-from`).
    from: Option<String>,
}

/// Reads `manifest.json` and the config; `reference` picks an image by one
/// of its RepoTags when the tar holds several.
pub fn read(source: &Source, reference: Option<&str>) -> Result<DockerImage> {
    let manifest: Value = serde_json::from_slice(&source.read("manifest.json")?)
        .map_err(|e| Error::usage(format!("manifest.json: not valid JSON: {e}")))?;
    let images = manifest
        .as_array()
        .filter(|a| !a.is_empty())
        .ok_or_else(|| Error::usage("manifest.json lists no images"))?;
    let tags = |i: &Value| -> Vec<String> {
        i["RepoTags"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t.as_str().map(str::to_string))
            .collect()
    };
    let image = match reference {
        Some(wanted) => {
            let found: Vec<&Value> = images
                .iter()
                .filter(|i| {
                    tags(i).iter().any(|t| {
                        t == wanted || t.rsplit_once(':').is_some_and(|(_, tag)| tag == wanted)
                    })
                })
                .collect();
            match found.as_slice() {
                [one] => *one,
                [] => {
                    let all: Vec<String> = images.iter().flat_map(tags).collect();
                    return Err(Error::usage(format!(
                        "--ref {wanted:?}: no image with that tag in the tar (tags: {})",
                        all.join(", ")
                    )));
                }
                several => {
                    let all: Vec<String> = several.iter().flat_map(|i| tags(i)).collect();
                    return Err(Error::usage(format!(
                        "--ref {wanted:?} matches {} images ({}): give the whole REPOSITORY:TAG",
                        several.len(),
                        all.join(", ")
                    )));
                }
            }
        }
        None if images.len() == 1 => &images[0],
        None => {
            let all: Vec<String> = images.iter().flat_map(tags).collect();
            return Err(Error::usage(format!(
                "the tar holds {} images ({}): choose one with --ref",
                images.len(),
                all.join(", ")
            )));
        }
    };
    let config_name = image["Config"]
        .as_str()
        .ok_or_else(|| Error::usage("manifest.json: an image without Config"))?;
    let config_place = source.place(config_name)?;
    let config_bytes = crate::source::read_place(&config_place, config_name)?;
    let config: Value = serde_json::from_slice(&config_bytes)
        .map_err(|e| Error::usage(format!("{config_name}: not valid JSON: {e}")))?;
    let diff_ids: Vec<String> = config["rootfs"]["diff_ids"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d.as_str().map(str::to_string))
        .collect();
    let layer_names: Vec<&str> = image["Layers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if layer_names.len() != diff_ids.len() {
        return Err(Error::usage(format!(
            "manifest.json names {} layers, the config's rootfs.diff_ids {}: the tar is inconsistent",
            layer_names.len(),
            diff_ids.len()
        )));
    }
    let layers = layer_names
        .iter()
        .zip(diff_ids)
        .map(|(name, diff_id)| {
            let place = source.place(name)?;
            Ok(Layer {
                gzip: starts_as_gzip(&place)?,
                place,
                diff_id,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(DockerImage {
        config: Blob {
            digest: sha256(&config_bytes),
            size: config_place.size,
            place: config_place,
        },
        layers,
    })
}

/// Pushes the image: config, layers (compressed on the way unless found
/// in the registry), then the manifest under every tag.
pub async fn push(
    target: &Target<'_>,
    image: &DockerImage,
    compress: Compress,
) -> Result<(Manifest, Stats)> {
    let tally = Tally::new();
    let known = if target.force {
        HashMap::new()
    } else {
        known_layers(target).await
    };
    let reference = target.reference(target.tags.first().map_or("latest", String::as_str));
    let config = &image.config;
    crate::push::send_blob(target, &reference, config, &tally).await?;

    let pushed = send_layers(target, &reference, &image.layers, compress, &known, &tally).await?;

    // Docker's schema 2, as docker push writes it; an OCI manifest when a
    // layer is zstd, which schema 2 cannot name.
    let oci = pushed.iter().any(|p| p.form == Compress::Zstd);
    let (manifest_type, config_type) = if oci {
        (OCI_MANIFEST, OCI_CONFIG)
    } else {
        (DOCKER_MANIFEST, DOCKER_CONFIG)
    };
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": manifest_type,
        "config": {"mediaType": config_type, "size": config.size, "digest": config.digest},
        "layers": pushed.iter().map(|p| json!({"mediaType": p.form.layer_type(oci), "size": p.size, "digest": p.digest})).collect::<Vec<_>>(),
    });
    let bytes = serde_json::to_vec(&manifest).expect("json");
    let top = Manifest {
        digest: sha256(&bytes),
        media_type: manifest_type.to_string(),
        bytes,
    };
    let tags_left = crate::push::tag(target, &top).await?;
    Ok((top, tally.stats(tags_left)))
}

/// The media types of uncompressed layers.
const RAW: [&str; 2] = [OCI_LAYER, DOCKER_LAYER];

/// The manifests of a plan that name layers: the index's, or the one.
fn image_manifests(plan: &Plan) -> Vec<&Manifest> {
    if plan.children.is_empty() {
        vec![&plan.top]
    } else {
        plan.children.iter().collect()
    }
}

/// Before anything is sent: a Docker schema 2 manifest with uncompressed
/// layers cannot take zstd ones (schema 2 has no such type).
pub fn check_layout(plan: &Plan, compress: Compress) -> Result<()> {
    if compress != Compress::Zstd {
        return Ok(());
    }
    for manifest in image_manifests(plan) {
        let doc: Value = serde_json::from_slice(&manifest.bytes).map_err(|e| {
            Error::usage(format!("manifest {}: not valid JSON: {e}", manifest.digest))
        })?;
        let raw = doc["layers"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|l| RAW.contains(&l["mediaType"].as_str().unwrap_or_default()));
        if raw && doc["mediaType"].as_str() == Some(DOCKER_MANIFEST) {
            return Err(Error::usage(format!(
                "--compress zstd: manifest {} is Docker schema 2, which cannot name zstd layers; use --compress gzip or none",
                manifest.digest
            )));
        }
    }
    Ok(())
}

/// An OCI layout's uncompressed layers (`...layer.v1.tar`, or Docker's
/// `...diff.tar`) compressed on the way as a docker save tar's are (their
/// digest is their diff id), and the manifests that name them rewritten to
/// name the compressed blobs: a new digest, said on stderr. Then what
/// pointed at a rewritten manifest is rewritten too: a `subject` (OCI 1.1
/// attestations, signatures), the index's descriptors and their
/// `vnd.docker.reference.digest` annotations (buildx attestations). The
/// rest is pushed as it is. `--compress none` leaves the plan alone.
pub async fn compress_layout(
    target: &Target<'_>,
    plan: Plan,
    compress: Compress,
    tally: &Tally,
) -> Result<Plan> {
    if compress == Compress::None {
        return Ok(plan);
    }
    check_layout(&plan, compress)?;
    let manifests = image_manifests(&plan);
    let mut docs = Vec::new();
    let mut raw: Vec<Blob> = Vec::new();
    for manifest in &manifests {
        let doc: Value = serde_json::from_slice(&manifest.bytes).map_err(|e| {
            Error::usage(format!("manifest {}: not valid JSON: {e}", manifest.digest))
        })?;
        for layer in doc["layers"].as_array().into_iter().flatten() {
            let media_type = layer["mediaType"].as_str().unwrap_or_default();
            let Some(digest) = layer["digest"].as_str() else {
                continue;
            };
            if !RAW.contains(&media_type) || raw.iter().any(|b| b.digest == digest) {
                continue;
            }
            let blob = plan
                .blobs
                .iter()
                .find(|b| b.digest == digest)
                .cloned()
                .ok_or_else(|| {
                    Error::usage(format!(
                        "manifest {}: layer {digest} is not in the plan",
                        manifest.digest
                    ))
                })?;
            raw.push(blob);
        }
        docs.push(doc);
    }
    if raw.is_empty() {
        return Ok(plan);
    }
    let layers: Vec<Layer> = raw
        .iter()
        .map(|blob| Layer {
            place: blob.place.clone(),
            diff_id: blob.digest.clone(),
            gzip: false,
        })
        .collect();
    let known = if target.force {
        HashMap::new()
    } else {
        known_layers(target).await
    };
    let reference = target.reference(target.tags.first().map_or("latest", String::as_str));
    let pushed = send_layers(target, &reference, &layers, compress, &known, tally).await?;
    let became: HashMap<&str, &Pushed> = raw
        .iter()
        .map(|b| b.digest.as_str())
        .zip(pushed.iter())
        .collect();

    // Old manifest digest -> the new manifest.
    let mut rewritten: HashMap<String, Manifest> = HashMap::new();
    let serialize = |doc: &Value, old: &Manifest| -> Manifest {
        let bytes = serde_json::to_vec(doc).expect("json");
        Manifest {
            digest: sha256(&bytes),
            media_type: old.media_type.clone(),
            bytes,
        }
    };
    for (manifest, doc) in manifests.iter().zip(docs.iter_mut()) {
        let oci = doc["mediaType"].as_str() != Some(DOCKER_MANIFEST);
        let mut changed = false;
        // get_mut, not IndexMut: that would add a null member where none was.
        let layers = doc.get_mut("layers").and_then(Value::as_array_mut);
        for layer in layers.into_iter().flatten() {
            let Some(p) = layer["digest"].as_str().and_then(|d| became.get(d)) else {
                continue;
            };
            layer["mediaType"] = json!(p.form.layer_type(oci));
            layer["digest"] = json!(p.digest);
            layer["size"] = json!(p.size);
            changed = true;
        }
        if changed {
            let new = serialize(doc, manifest);
            deploykit::cli::note(format!(
                "manifest {}: its uncompressed layers were {} on the way, so it is pushed as {} (--compress none keeps it as it is)",
                manifest.digest,
                if compress == Compress::Zstd {
                    "zstd-compressed"
                } else {
                    "gzip-compressed"
                },
                new.digest
            ));
            rewritten.insert(manifest.digest.clone(), new);
        }
    }
    // A manifest whose subject was rewritten names the new one.
    for (manifest, doc) in manifests.iter().zip(docs.iter_mut()) {
        let Some(new) = doc["subject"]["digest"]
            .as_str()
            .and_then(|d| rewritten.get(d))
        else {
            continue;
        };
        let (digest, size) = (new.digest.clone(), new.bytes.len());
        doc["subject"]["digest"] = json!(digest);
        doc["subject"]["size"] = json!(size);
        let new = serialize(doc, manifest);
        deploykit::cli::note(format!(
            "manifest {}: its subject was rewritten, so it is pushed as {}",
            manifest.digest, new.digest
        ));
        rewritten.insert(manifest.digest.clone(), new);
    }
    let blobs = plan
        .blobs
        .into_iter()
        .filter(|b| !became.contains_key(b.digest.as_str()))
        .collect();
    if plan.children.is_empty() {
        let top = rewritten.remove(&plan.top.digest).unwrap_or(plan.top);
        return Ok(Plan { blobs, top, ..plan });
    }
    let mut index: Value = serde_json::from_slice(&plan.top.bytes)
        .map_err(|e| Error::usage(format!("index {}: not valid JSON: {e}", plan.top.digest)))?;
    let entries = index.get_mut("manifests").and_then(Value::as_array_mut);
    for entry in entries.into_iter().flatten() {
        if let Some(new) = entry["digest"].as_str().and_then(|d| rewritten.get(d)) {
            entry["digest"] = json!(new.digest);
            entry["size"] = json!(new.bytes.len());
        }
        let annotation = entry
            .get_mut("annotations")
            .and_then(|a| a.get_mut("vnd.docker.reference.digest"));
        if let Some(annotation) = annotation
            && let Some(new) = annotation.as_str().and_then(|d| rewritten.get(d))
        {
            *annotation = json!(new.digest);
        }
    }
    let top = serialize(&index, &plan.top);
    let children = plan
        .children
        .into_iter()
        .map(|c| rewritten.remove(&c.digest).unwrap_or(c))
        .collect();
    Ok(Plan {
        blobs,
        children,
        top,
        platforms: plan.platforms,
    })
}

/// Each layer: found in the registry (the target's or, mounted, another
/// repository's), else compressed and uploaded; `--jobs` at once, in order.
async fn send_layers(
    target: &Target<'_>,
    reference: &oci_client::Reference,
    layers: &[Layer],
    compress: Compress,
    known: &HashMap<(String, Compress), Pushed>,
    tally: &Tally,
) -> Result<Vec<Pushed>> {
    futures_util::stream::iter(layers.iter().map(Ok::<_, Error>))
        .map_ok(|layer| {
            let form = if layer.gzip { Compress::Gzip } else { compress };
            let known = known.get(&(layer.diff_id.clone(), form)).cloned();
            async move {
                if let Some(found) = known {
                    if target
                        .client
                        .blob_exists(reference, &found.digest)
                        .await
                        .unwrap_or(false)
                    {
                        tally.skipped(&found.digest, found.size);
                        return Ok(found);
                    }
                    if let Some(from) = found.from.as_deref()
                        && target.mount(reference, from, &found.digest).await
                    {
                        tally.mounted(&found.digest, found.size, from);
                        return Ok(found);
                    }
                }
                let pushed = stream_layer(target, reference, layer, compress, tally).await?;
                tally.uploaded(&pushed.digest, pushed.size);
                Ok(pushed)
            }
        })
        .try_buffered(target.jobs.max(1))
        .try_collect()
        .await
}

/// diff id (and the form it was sent in) → the blob the registry holds for
/// it, from the manifests and configs the target tags (and `--reuse-from`)
/// point at now. The target repository's own blobs win over others'.
async fn known_layers(target: &Target<'_>) -> HashMap<(String, Compress), Pushed> {
    let mut known: HashMap<(String, Compress), Pushed> = HashMap::new();
    let here = target
        .tags
        .iter()
        .map(|tag| (target.repository, tag.as_str()));
    let there = target
        .reuse_from
        .iter()
        .map(|(repository, tag)| (repository.as_str(), tag.as_str()));
    // A tag may name an index (a multi-platform image): its manifests are
    // read too, one level down, at most 64.
    let mut work: Vec<(&str, oci_client::Reference, Option<String>)> = Vec::new();
    for (repository, tag) in here {
        work.push((repository, target.elsewhere(repository, tag), None));
    }
    for (repository, tag) in there {
        let named = format!("--reuse-from {repository}:{tag}");
        work.push((repository, target.elsewhere(repository, tag), Some(named)));
    }
    let mut read = 0;
    while let Some((repository, reference, named)) = work.pop() {
        read += 1;
        if read > 64 + target.tags.len() + target.reuse_from.len() {
            break;
        }
        let from = (repository != target.repository).then(|| repository.to_string());
        let Ok((bytes, _)) = target
            .client
            .pull_manifest_raw(
                &reference,
                &target.auth,
                &[DOCKER_MANIFEST, OCI_MANIFEST, OCI_INDEX, DOCKER_LIST],
            )
            .await
        else {
            if let Some(named) = named {
                deploykit::cli::warn(format!(
                    "{named}: no such image in the registry; nothing is reused from it"
                ));
            }
            continue;
        };
        let Ok(manifest) = serde_json::from_slice::<Value>(&bytes) else {
            continue;
        };
        if let Some(children) = manifest["manifests"].as_array() {
            for child in children.iter().take(64) {
                if let Some(digest) = child["digest"].as_str() {
                    let child = oci_client::Reference::with_digest(
                        target.host.to_string(),
                        repository.to_string(),
                        digest.to_string(),
                    );
                    work.push((repository, child, None));
                }
            }
            continue;
        }
        let Some(config_digest) = manifest["config"]["digest"].as_str() else {
            continue;
        };
        let mut config = Vec::new();
        let descriptor = oci_client::manifest::OciDescriptor {
            digest: config_digest.to_string(),
            media_type: manifest["config"]["mediaType"]
                .as_str()
                .unwrap_or(DOCKER_CONFIG)
                .to_string(),
            size: manifest["config"]["size"].as_i64().unwrap_or(0),
            ..Default::default()
        };
        if target
            .client
            .pull_blob(&reference, &descriptor, &mut config)
            .await
            .is_err()
        {
            continue;
        }
        let Ok(config) = serde_json::from_slice::<Value>(&config) else {
            continue;
        };
        let diff_ids = config["rootfs"]["diff_ids"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let layers = manifest["layers"].as_array().cloned().unwrap_or_default();
        for (diff_id, layer) in diff_ids.iter().zip(layers.iter()) {
            let (Some(diff_id), Some(digest)) = (diff_id.as_str(), layer["digest"].as_str()) else {
                continue;
            };
            let Some(form) =
                Compress::of_media_type(layer["mediaType"].as_str().unwrap_or_default())
            else {
                continue;
            };
            known
                .entry((diff_id.to_string(), form))
                .or_insert_with(|| Pushed {
                    digest: digest.to_string(),
                    size: layer["size"].as_u64().unwrap_or(0),
                    form,
                    from: from.clone(),
                });
        }
    }
    known
}

/// The gzip level: fixed, so one layer always gives one digest. Level 3
/// with zlib-rs compresses shared libraries to within 3% of level 6 in
/// 60% of the time (136 MB: 47.7 vs 46.3 MB, 1.0 vs 1.6 s on one core).
const GZIP_LEVEL: u32 = 3;

/// The zstd level: fixed, zstd's own default.
const ZSTD_LEVEL: i32 = 3;

/// Compresses blocks, each on its own into a complete gzip member or zstd
/// frame: the same bytes in, the same bytes out. One a thread, its
/// compressor state kept from block to block (allocating it anew for each
/// 1 MiB block fragmented the heap: memory grew with the layer).
struct Packer {
    form: Compress,
    deflate: flate2::Compress,
    zstd: Option<zstd::bulk::Compressor<'static>>,
}

impl Packer {
    fn new(form: Compress) -> std::io::Result<Self> {
        Ok(Packer {
            form,
            deflate: flate2::Compress::new(flate2::Compression::new(GZIP_LEVEL), false),
            zstd: match form {
                Compress::Zstd => Some(zstd::bulk::Compressor::new(ZSTD_LEVEL)?),
                _ => None,
            },
        })
    }

    /// `block` compressed into `out` (cleared first).
    fn pack(&mut self, block: &[u8], out: &mut Vec<u8>) -> std::io::Result<()> {
        out.clear();
        if let Some(zstd) = &mut self.zstd {
            out.reserve(zstd::zstd_safe::compress_bound(block.len()));
            zstd.compress_to_buffer(block, out)?;
            return Ok(());
        }
        debug_assert!(self.form == Compress::Gzip);
        // RFC 1952: no name, time 0, "unknown" OS, as flate2's GzBuilder
        // writes it; the deflate stream; CRC-32 and size.
        out.reserve(block.len() + block.len() / 64 + 64);
        out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
        self.deflate.reset();
        loop {
            let consumed = self.deflate.total_in() as usize;
            let status = self
                .deflate
                .compress_vec(&block[consumed..], out, flate2::FlushCompress::Finish)
                .map_err(std::io::Error::other)?;
            if status == flate2::Status::StreamEnd {
                break;
            }
            out.reserve(64 << 10);
        }
        let mut crc = flate2::Crc::new();
        crc.update(block);
        out.extend_from_slice(&crc.sum().to_le_bytes());
        out.extend_from_slice(&(block.len() as u32).to_le_bytes());
        Ok(())
    }
}

/// One block compressed alone (an empty layer's one member).
fn member(form: Compress, block: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    Packer::new(form)?.pack(block, &mut out)?;
    Ok(out)
}

/// The size of the blocks compressed apart.
const BLOCK: usize = 1 << 20;

/// gzip (or zstd) over every core, deterministically: the input is cut
/// into 1 MiB blocks, each compressed on its own into a complete gzip
/// member (fixed level, time 0, no name) or zstd frame, and they are
/// written in order. A multi-member gzip stream is one valid gzip file
/// (RFC 1952), which docker, containerd and every Go reader take, as
/// concatenated frames are one zstd stream; the output depends on the
/// input alone, not on how many threads made it. Memory stays at a few
/// blocks per thread. Returns the reader (its hasher has seen everything).
fn parallel_compress<R: Read + Send, W: Write>(
    input: R,
    out: &mut W,
    form: Compress,
) -> std::io::Result<R> {
    use std::sync::mpsc::sync_channel;
    use std::sync::{Arc, Mutex};
    let threads = compress_threads();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let stop = &stop;
    let budget = Budget::global();
    type Done = (usize, std::io::Result<Vec<u8>>, Vec<u8>);
    std::thread::scope(|scope| {
        let (job_tx, job_rx) = sync_channel::<(usize, Vec<u8>)>(threads);
        let job_rx = Arc::new(Mutex::new(job_rx));
        let (done_tx, done_rx) = sync_channel::<Done>(threads);
        // Buffers go round instead of being allocated for every block:
        // input blocks back to the reader, output buffers back to the workers.
        for _ in 0..threads {
            let job_rx = job_rx.clone();
            let done_tx = done_tx.clone();
            scope.spawn(move || {
                let mut packer = match Packer::new(form) {
                    Ok(packer) => packer,
                    Err(e) => {
                        let _ = done_tx.send((usize::MAX, Err(e), Vec::new()));
                        return;
                    }
                };
                loop {
                    let job = job_rx.lock().map(|rx| rx.recv());
                    let Ok(Ok((i, block))) = job else { break };
                    let mut out = budget.spare_out();
                    let packed = packer.pack(&block, &mut out).map(|()| out);
                    if done_tx.send((i, packed, block)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(done_tx);
        // Blocks read but not yet written are bounded, across every layer
        // compressed at once (--jobs): the reader takes a token of the
        // process's budget for each, the writer gives it back once the
        // block is out. Without this, a worker that falls behind lets the
        // others' blocks pile up (memory grew with the layer), and each
        // layer at once had a budget of its own (memory grew with --jobs).
        let reader = scope.spawn(move || -> std::io::Result<(R, usize)> {
            let mut input = input;
            let mut count = 0;
            // No token: the writer failed and gave up.
            while budget.acquire(stop) {
                let mut block = budget.spare_block();
                block.resize(BLOCK, 0);
                let mut filled = 0;
                while filled < BLOCK {
                    let n = match input.read(&mut block[filled..]) {
                        Ok(n) => n,
                        Err(e) => {
                            budget.release(1);
                            return Err(e);
                        }
                    };
                    if n == 0 {
                        break;
                    }
                    filled += n;
                }
                if filled == 0 {
                    budget.release(1);
                    break;
                }
                block.truncate(filled);
                if job_tx.send((count, block)).is_err() {
                    budget.release(1);
                    break;
                }
                count += 1;
                if filled < BLOCK {
                    break;
                }
            }
            Ok((input, count))
        });
        // Members come back in any order: write them in the input's.
        let mut waiting = std::collections::BTreeMap::new();
        let mut next = 0;
        let mut failed = None;
        for (i, compressed, block) in done_rx {
            budget.keep_block(block);
            match compressed {
                Ok(bytes) => {
                    waiting.insert(i, bytes);
                }
                Err(e) => {
                    failed.get_or_insert(e);
                    budget.release(1);
                }
            }
            while let Some(bytes) = waiting.remove(&next) {
                if failed.is_none()
                    && let Err(e) = out.write_all(&bytes)
                {
                    failed = Some(e);
                }
                budget.keep_out(bytes);
                next += 1;
                budget.release(1);
            }
            if failed.is_some() {
                // The reader stops at its next block instead of waiting.
                stop.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        }
        // Blocks that can no longer be written (one before them failed).
        budget.release(waiting.len());
        let (input, count) = reader
            .join()
            .map_err(|_| std::io::Error::other("the reading thread stopped"))??;
        if let Some(e) = failed {
            return Err(e);
        }
        if count == 0 {
            // An empty layer is still one (empty) member.
            out.write_all(&member(form, &[])?)?;
        }
        Ok(input)
    })
}

/// The blocks that may be read and not yet written, for the whole process.
struct Budget {
    free: std::sync::Mutex<usize>,
    freed: std::sync::Condvar,
    /// Buffers go round instead of being allocated for every block: input
    /// blocks and output buffers, at most one of each a token.
    blocks: std::sync::Mutex<Vec<Vec<u8>>>,
    outs: std::sync::Mutex<Vec<Vec<u8>>>,
}

impl Budget {
    /// Two blocks a core and one, shared by every layer compressed at once.
    fn global() -> &'static Budget {
        static BUDGET: std::sync::OnceLock<Budget> = std::sync::OnceLock::new();
        BUDGET.get_or_init(|| Budget {
            free: std::sync::Mutex::new(Self::tokens()),
            freed: std::sync::Condvar::new(),
            blocks: Default::default(),
            outs: Default::default(),
        })
    }

    fn tokens() -> usize {
        compress_threads() * 2 + 1
    }

    fn spare_block(&self) -> Vec<u8> {
        Self::take(&self.blocks)
    }

    fn spare_out(&self) -> Vec<u8> {
        Self::take(&self.outs)
    }

    fn keep_block(&self, block: Vec<u8>) {
        Self::keep(&self.blocks, block);
    }

    fn keep_out(&self, out: Vec<u8>) {
        Self::keep(&self.outs, out);
    }

    fn take(pool: &std::sync::Mutex<Vec<Vec<u8>>>) -> Vec<u8> {
        pool.lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop()
            .unwrap_or_default()
    }

    fn keep(pool: &std::sync::Mutex<Vec<Vec<u8>>>, buffer: Vec<u8>) {
        let mut pool = pool.lock().unwrap_or_else(|e| e.into_inner());
        if pool.len() < Self::tokens() && buffer.capacity() > 0 {
            pool.push(buffer);
        }
    }

    /// Waits for a token; false once `stop` is set.
    fn acquire(&self, stop: &std::sync::atomic::AtomicBool) -> bool {
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if stop.load(std::sync::atomic::Ordering::Relaxed) {
                return false;
            }
            if *free > 0 {
                *free -= 1;
                return true;
            }
            free = self
                .freed
                .wait_timeout(free, std::time::Duration::from_millis(50))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    fn release(&self, n: usize) {
        if n == 0 {
            return;
        }
        *self.free.lock().unwrap_or_else(|e| e.into_inner()) += n;
        self.freed.notify_all();
    }
}

/// Compressing threads a layer: the cores, at most 8.
fn compress_threads() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8)
}

/// What the compressing thread found once the layer had passed.
struct Passed {
    digest: String,
    size: u64,
    diff_id: String,
}

/// The pieces of an upload's body: small, as each layer uploading at once
/// holds a few of them.
const PIECE: usize = 256 << 10;

/// A `Write` that hashes and counts what passes and sends it on in
/// 256 KiB pieces through a bounded channel (the upload's body).
struct ChannelWriter {
    tx: tokio::sync::mpsc::Sender<std::io::Result<Bytes>>,
    buf: Vec<u8>,
    hasher: Sha256,
    size: u64,
}

impl ChannelWriter {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let piece = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(PIECE)));
        self.tx
            .blocking_send(Ok(piece))
            .map_err(|_| std::io::Error::other("the upload stopped"))
    }
}

impl Write for ChannelWriter {
    /// Fills the piece and no more (a bigger write would grow it, and
    /// memory with it); the caller's write_all hands the rest.
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let n = data.len().min(PIECE - self.buf.len());
        self.hasher.update(&data[..n]);
        self.size += n as u64;
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() >= PIECE {
            self.send()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Writes to the upload and to a check at once.
struct Tee<W: Write> {
    out: ChannelWriter,
    check: W,
}

impl<W: Write> Write for Tee<W> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.out.write_all(data)?;
        self.check.write_all(data)?;
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A `Write` that only hashes.
struct HashSink(Sha256);

impl Write for HashSink {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.update(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A `Read` that hashes what it reads (the uncompressed layer: its diff id).
struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    /// The layer's progress, on a terminal.
    bar: Option<indicatif::ProgressBar>,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        if let Some(bar) = &self.bar {
            bar.inc(n as u64);
        }
        Ok(n)
    }
}

/// Compresses `layer` while the upload sends what comes out, tried again
/// (compressed again: the same bytes) on a transient failure.
async fn stream_layer(
    target: &Target<'_>,
    reference: &oci_client::Reference,
    layer: &Layer,
    compress: Compress,
    tally: &Tally,
) -> Result<Pushed> {
    let what = format!("uploading layer {}", layer.diff_id);
    crate::retry::retry(&what, crate::retry::DEFAULT, |_| async {
        let what = format!("layer {}…", crate::push::short(&layer.diff_id));
        let bar = tally.bar(&what, layer.place.size);
        let progress = crate::idle::Progress::default();
        let sent = crate::idle::within(
            &progress,
            target.idle,
            stream_layer_once(
                target,
                reference,
                layer,
                compress,
                bar.clone(),
                progress.clone(),
            ),
        )
        .await;
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        // Silence is tried again, as a dropped connection is.
        sent.unwrap_or_else(|silent| {
            Err(Failure {
                transient: Some(silent.to_string()),
                error: Error::failed(format!(
                    "uploading layer {} to {}: {silent}",
                    layer.diff_id, target.registry
                )),
            })
        })
    })
    .await
}

/// Compresses `layer` on a thread of its own while the upload sends what
/// comes out: POST, one PATCH with the whole stream, PUT with the digest.
async fn stream_layer_once(
    target: &Target<'_>,
    reference: &oci_client::Reference,
    layer: &Layer,
    compress: Compress,
    bar: Option<indicatif::ProgressBar>,
    progress: crate::idle::Progress,
) -> std::result::Result<Pushed, Failure> {
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(2);
    let place = layer.place.clone();
    let already_gzip = layer.gzip;
    let worker = std::thread::spawn(move || -> std::io::Result<Passed> {
        let mut reader = HashingReader {
            inner: place.reader()?,
            hasher: Sha256::new(),
            bar,
        };
        let writer = ChannelWriter {
            tx,
            buf: Vec::with_capacity(PIECE),
            hasher: Sha256::new(),
            size: 0,
        };
        if already_gzip {
            // Sent as it is; the diff id is the hash of what it decompresses to.
            let mut tee = Tee {
                out: writer,
                check: flate2::write::MultiGzDecoder::new(HashSink(Sha256::new())),
            };
            std::io::copy(&mut reader, &mut tee)?;
            let Tee { mut out, check } = tee;
            let sink = check.finish()?;
            out.send()?;
            return Ok(Passed {
                digest: digest_of(out.hasher),
                size: out.size,
                diff_id: digest_of(sink.0),
            });
        }
        let mut writer = match compress {
            Compress::Gzip | Compress::Zstd => {
                let mut writer = writer;
                let reader_back = parallel_compress(reader, &mut writer, compress)?;
                reader = reader_back;
                writer
            }
            Compress::None => {
                let mut writer = writer;
                std::io::copy(&mut reader, &mut writer)?;
                writer
            }
        };
        writer.send()?;
        Ok(Passed {
            digest: digest_of(writer.hasher),
            size: writer.size,
            diff_id: digest_of(reader.hasher),
        })
    });

    let doing = format!("uploading layer {}", layer.diff_id);
    let fail = |e: String, transient: Option<String>| Failure {
        error: Error::failed(format!(
            "{doing} at {}: {}",
            target.registry,
            crate::push::without_queries(&e)
        )),
        transient,
    };
    let sent = |e: reqwest::Error| fail(e.to_string(), crate::retry::request(&e));
    // No read time-out: crate::idle watches the upload.
    let (_, http) = target.uploads.clients().await?;
    let base = target.base();
    let authorization = target.authorization(reference).await?;
    // Credentials go to the registry's own scheme, host and port only: an
    // upload Location elsewhere (a storage host, a plain-http URL) gets none,
    // as docker and go-containerregistry do (CVE-2020-15157).
    let authorized = |method: reqwest::Method, url: &str| {
        let request = http.request(method, url);
        match &authorization {
            Some(value) if crate::push::same_origin(&base, url) => {
                request.header(reqwest::header::AUTHORIZATION, value)
            }
            _ => request,
        }
    };
    let start = authorized(
        reqwest::Method::POST,
        &format!("{base}/v2/{}/blobs/uploads/", target.repository),
    )
    .send()
    .await
    .map_err(sent)?;
    let location = upload_location(start).map_err(|(e, t)| fail(e, t))?;
    let body = reqwest::Body::wrap_stream(tokio_stream(rx, progress));
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
    if patched.status() != reqwest::StatusCode::ACCEPTED {
        let status = patched.status();
        let text = patched.text().await.unwrap_or_default();
        let text: String = text.trim().chars().take(300).collect();
        return Err(fail(
            format!("HTTP {status}: {text}"),
            crate::retry::status(status.as_u16()),
        ));
    }
    let passed =
        joined.map_err(|e| Error::input(format!("reading layer {}", layer.diff_id), &e))?;
    if passed.diff_id != layer.diff_id {
        return Err(Error::usage(format!(
            "layer {} does not match its diff id (its content hashes to {}): the image is corrupt; no manifest or tag was pushed",
            layer.diff_id, passed.diff_id
        ))
        .into());
    }
    let pushed = Pushed {
        digest: passed.digest,
        size: passed.size,
        form: if layer.gzip { Compress::Gzip } else { compress },
        from: None,
    };
    let location = upload_location(patched).map_err(|(e, t)| fail(e, t))?;
    let separator = if location.contains('?') { '&' } else { '?' };
    let put = format!(
        "{location}{separator}digest={}",
        pushed.digest.replace(':', "%3A")
    );
    let done = authorized(reqwest::Method::PUT, &put)
        .header(reqwest::header::CONTENT_LENGTH, 0)
        .send()
        .await;
    let failed = match done {
        Ok(done) if done.status().is_success() => return Ok(pushed),
        Ok(done) => {
            let status = done.status();
            let text = done.text().await.unwrap_or_default();
            fail(
                format!("HTTP {status}: {}", text.trim()),
                crate::retry::status(status.as_u16()),
            )
        }
        Err(e) => sent(e),
    };
    // The answer was lost, or an error, but the blob may be committed: it
    // is not sent again if it is.
    if failed.transient.is_some()
        && target
            .client
            .blob_exists(reference, &pushed.digest)
            .await
            .unwrap_or(false)
    {
        return Ok(pushed);
    }
    Err(failed)
}

/// The upload's next URL, from a 202's Location (absolute or not); else
/// why not, and whether another try may work.
fn upload_location(
    response: reqwest::Response,
) -> std::result::Result<String, (String, Option<String>)> {
    let status = response.status();
    if status == reqwest::StatusCode::UNAUTHORIZED {
        return Err(("authentication failed".to_string(), None));
    }
    if status != reqwest::StatusCode::ACCEPTED {
        return Err((
            format!("HTTP {status}"),
            crate::retry::status(status.as_u16()),
        ));
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

/// The receiving end of the channel as a stream for the request body, each
/// piece it hands on marked as progress.
fn tokio_stream(
    mut rx: tokio::sync::mpsc::Receiver<std::io::Result<Bytes>>,
    progress: crate::idle::Progress,
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

    /// The tests that compress share the process's one budget of blocks in
    /// flight: one at a time, so the test that counts the tokens back sees
    /// no other test's (it failed, now and then, when they ran at once).
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

    fn alone() -> std::sync::MutexGuard<'static, ()> {
        ONE_AT_A_TIME
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// 3.5 MiB that compress, but not to nothing.
    fn sample() -> Vec<u8> {
        (0..(3 << 20) + (1 << 19))
            .map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 24) as u8 % 17)
            .collect()
    }

    fn gunzip(bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(bytes)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn parallel_gzip_is_one_valid_gzip_stream_of_the_input() {
        let _alone = alone();
        let input = sample();
        let mut out = Vec::new();
        parallel_compress(&input[..], &mut out, Compress::Gzip).unwrap();
        assert!(out.len() < input.len());
        assert_eq!(gunzip(&out), input);
    }

    #[test]
    fn parallel_gzip_gives_the_same_bytes_every_time() {
        let _alone = alone();
        let input = sample();
        let run = || {
            let mut out = Vec::new();
            parallel_compress(&input[..], &mut out, Compress::Gzip).unwrap();
            out
        };
        assert_eq!(run(), run());
    }

    #[test]
    fn parallel_zstd_is_one_valid_zstd_stream_of_the_input() {
        let _alone = alone();
        let input = sample();
        let mut out = Vec::new();
        parallel_compress(&input[..], &mut out, Compress::Zstd).unwrap();
        assert_eq!(&out[..4], &[0x28, 0xb5, 0x2f, 0xfd]);
        assert!(out.len() < input.len());
        assert_eq!(zstd::stream::decode_all(&out[..]).unwrap(), input);
    }

    /// Layers compressed at once share one budget of blocks in flight:
    /// each still comes out whole, none waits forever for a token.
    #[test]
    fn layers_compressed_at_once_share_the_budget_and_all_finish() {
        let _alone = alone();
        let inputs: Vec<Vec<u8>> = (0..4u8)
            .map(|k| sample().into_iter().map(|b| b ^ k).collect())
            .collect();
        let outs: Vec<Vec<u8>> = std::thread::scope(|scope| {
            let handles: Vec<_> = inputs
                .iter()
                .map(|input| {
                    scope.spawn(move || {
                        let mut out = Vec::new();
                        parallel_compress(&input[..], &mut out, Compress::Gzip).unwrap();
                        out
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (input, out) in inputs.iter().zip(&outs) {
            assert_eq!(&gunzip(out), input);
        }
        assert_eq!(
            *Budget::global().free.lock().unwrap(),
            Budget::tokens(),
            "every token back"
        );
    }

    #[test]
    fn parallel_gzip_of_nothing_is_an_empty_gzip_member() {
        let _alone = alone();
        let mut out = Vec::new();
        parallel_compress(&b""[..], &mut out, Compress::Gzip).unwrap();
        assert_eq!(&out[..2], &[0x1f, 0x8b]);
        assert_eq!(gunzip(&out), b"");
    }
}
