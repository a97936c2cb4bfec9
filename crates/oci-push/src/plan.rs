//! What to push: the image chosen in the layout's index (`--ref`, or the
//! only one), its manifest (or, for a multi-platform index, every
//! manifest and the index; `--platform` picks one), and every blob they
//! name, each once. Manifests and configs are read and their digests
//! checked here, before anything is sent.

use deploykit::{Error, Result};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::media::{DOCKER_LIST, OCI_INDEX};
use crate::source::{Place, Source};

const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// A manifest (or index) to push, as its bytes are.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub digest: String,
    pub media_type: String,
    pub bytes: Vec<u8>,
}

/// A blob to push.
#[derive(Debug, Clone)]
pub struct Blob {
    pub digest: String,
    pub size: u64,
    pub place: Place,
}

/// Everything one push sends, in the order it must arrive.
#[derive(Debug)]
pub struct Plan {
    /// Config and layer blobs, each once.
    pub blobs: Vec<Blob>,
    /// Image manifests of an index, pushed by digest before the top.
    pub children: Vec<Manifest>,
    /// What the tags point at.
    pub top: Manifest,
    /// `os/arch` of each manifest, for an index.
    pub platforms: Vec<String>,
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    digest_of(Sha256::new_with_prefix(bytes))
}

/// `sha256:<hex>` of what `hasher` has seen.
pub fn digest_of(hasher: Sha256) -> String {
    let hex: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{hex}")
}

/// Reads the index and chooses what to push.
pub fn plan(source: &Source, reference: Option<&str>, platform: Option<&str>) -> Result<Plan> {
    let index: Value = serde_json::from_slice(&source.read("index.json")?)
        .map_err(|e| Error::usage(format!("index.json: not valid JSON: {e}")))?;
    let entries = index["manifests"]
        .as_array()
        .filter(|m| !m.is_empty())
        .ok_or_else(|| Error::usage("index.json lists no manifests"))?;
    let name = |e: &Value| e["annotations"][REF_NAME].as_str().map(str::to_string);
    let chosen = match reference {
        Some(wanted) => {
            let found: Vec<&Value> = entries
                .iter()
                .filter(|e| name(e).as_deref() == Some(wanted))
                .collect();
            match found.as_slice() {
                [one] => *one,
                [] => {
                    let names: Vec<String> = entries.iter().filter_map(name).collect();
                    return Err(Error::usage(format!(
                        "--ref {wanted:?}: no image of that name in the layout (names: {})",
                        if names.is_empty() {
                            "none".to_string()
                        } else {
                            names.join(", ")
                        }
                    )));
                }
                several => {
                    return Err(Error::usage(format!(
                        "--ref {wanted:?}: {} images of that name in the layout's index; it is ambiguous",
                        several.len()
                    )));
                }
            }
        }
        None if entries.len() == 1 => &entries[0],
        None => {
            let names: Vec<String> = entries.iter().filter_map(name).collect();
            return Err(Error::usage(format!(
                "the layout holds {} images ({}): choose one with --ref",
                entries.len(),
                names.join(", ")
            )));
        }
    };
    let top = read_manifest(source, chosen)?;
    let mut plan = Plan {
        blobs: Vec::new(),
        children: Vec::new(),
        top: top.clone(),
        platforms: Vec::new(),
    };
    if top.media_type == OCI_INDEX || top.media_type == DOCKER_LIST {
        let index: Value = parse(&top)?;
        let children: Vec<&Value> = index["manifests"]
            .as_array()
            .into_iter()
            .flatten()
            .collect();
        let os_arch = |e: &Value| {
            let mut platform = format!(
                "{}/{}",
                e["platform"]["os"].as_str().unwrap_or("?"),
                e["platform"]["architecture"].as_str().unwrap_or("?")
            );
            if let Some(variant) = e["platform"]["variant"].as_str() {
                platform.push('/');
                platform.push_str(variant);
            }
            platform
        };
        if let Some(wanted) = platform {
            let found = children
                .iter()
                .find(|e| os_arch(e) == wanted)
                .copied()
                .ok_or_else(|| {
                    let have: Vec<String> = children.iter().map(|e| os_arch(e)).collect();
                    Error::usage(format!(
                        "--platform {wanted}: not in the image (platforms: {})",
                        have.join(", ")
                    ))
                })?;
            let manifest = read_manifest(source, found)?;
            add_blobs(source, &mut plan, &manifest)?;
            plan.top = manifest;
            plan.platforms = vec![wanted.to_string()];
            return Ok(plan);
        }
        for child in children {
            let manifest = read_manifest(source, child)?;
            add_blobs(source, &mut plan, &manifest)?;
            plan.platforms.push(os_arch(child));
            plan.children.push(manifest);
        }
    } else {
        if let Some(wanted) = platform {
            return Err(Error::usage(format!(
                "--platform {wanted}: the image is for one platform only, not an index"
            )));
        }
        add_blobs(source, &mut plan, &top)?;
    }
    Ok(plan)
}

fn parse(manifest: &Manifest) -> Result<Value> {
    serde_json::from_slice(&manifest.bytes)
        .map_err(|e| Error::usage(format!("manifest {}: not valid JSON: {e}", manifest.digest)))
}

/// The manifest a descriptor names, its digest checked.
fn read_manifest(source: &Source, descriptor: &Value) -> Result<Manifest> {
    let digest = descriptor["digest"]
        .as_str()
        .ok_or_else(|| Error::usage("a descriptor in the layout has no digest"))?;
    let bytes = crate::source::read_place(&source.blob(digest)?, digest)?;
    let actual = sha256(&bytes);
    if actual != digest {
        return Err(Error::usage(format!(
            "blob {digest} does not match its digest (its content hashes to {actual}): the layout is corrupt; nothing was pushed"
        )));
    }
    let inner: Value = serde_json::from_slice(&bytes)
        .map_err(|e| Error::usage(format!("manifest {digest}: not valid JSON: {e}")))?;
    let media_type = descriptor["mediaType"]
        .as_str()
        .or_else(|| inner["mediaType"].as_str())
        .ok_or_else(|| Error::usage(format!("manifest {digest} has no mediaType")))?
        .to_string();
    Ok(Manifest {
        digest: digest.to_string(),
        media_type,
        bytes,
    })
}

/// The config and layers of an image manifest, added once each.
fn add_blobs(source: &Source, plan: &mut Plan, manifest: &Manifest) -> Result<()> {
    let value = parse(manifest)?;
    let mut descriptors: Vec<&Value> = vec![&value["config"]];
    descriptors.extend(value["layers"].as_array().into_iter().flatten());
    for descriptor in descriptors {
        let digest = descriptor["digest"].as_str().ok_or_else(|| {
            Error::usage(format!(
                "manifest {}: a blob without a digest",
                manifest.digest
            ))
        })?;
        if plan.blobs.iter().any(|b| b.digest == digest) {
            continue;
        }
        let place = source.blob(digest)?;
        let size = descriptor["size"].as_u64().unwrap_or(place.size);
        if size != place.size {
            return Err(Error::usage(format!(
                "blob {digest}: the manifest says {size} bytes, the layout holds {}; nothing was pushed",
                place.size
            )));
        }
        plan.blobs.push(Blob {
            digest: digest.to_string(),
            size,
            place,
        });
    }
    Ok(())
}
