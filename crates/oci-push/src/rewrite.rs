//! An OCI layout whose layers are uncompressed is pushed as docker push
//! would push them: [`raw_layers`] says which to compress on the way, and
//! once they are in the registry, [`rewrite`] makes the manifests (and
//! what points at them) name the compressed blobs. Pure: the transfer is
//! [`crate::push`]'s.

use std::collections::HashMap;

use deploykit::{Error, Result};
use serde_json::{Value, json};

use crate::compress::Compress;
use crate::docker_save::Layer;
use crate::media::{DOCKER_MANIFEST, RAW};
use crate::plan::{Manifest, Plan, sha256};
use crate::reuse::Pushed;

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
/// `...diff.tar`), each once, to be compressed on the way as a docker save
/// tar's are (their digest is their diff id). `--compress none`: none.
pub fn raw_layers(plan: &Plan, compress: Compress) -> Result<Vec<Layer>> {
    if compress == Compress::None {
        return Ok(Vec::new());
    }
    check_layout(plan, compress)?;
    let mut raw: Vec<Layer> = Vec::new();
    for manifest in image_manifests(plan) {
        let doc: Value = serde_json::from_slice(&manifest.bytes).map_err(|e| {
            Error::usage(format!("manifest {}: not valid JSON: {e}", manifest.digest))
        })?;
        for layer in doc["layers"].as_array().into_iter().flatten() {
            let media_type = layer["mediaType"].as_str().unwrap_or_default();
            let Some(digest) = layer["digest"].as_str() else {
                continue;
            };
            if !RAW.contains(&media_type) || raw.iter().any(|l| l.diff_id == digest) {
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
            // Its digest is its diff id: the hash of the uncompressed tar.
            raw.push(Layer {
                place: blob.place,
                diff_id: blob.digest,
                gzip: false,
            });
        }
    }
    Ok(raw)
}

/// The plan with the manifests that name `raw` layers rewritten to name
/// what they became (`pushed`, in the same order): a new digest, said on
/// stderr. Then what pointed at a rewritten manifest is rewritten too: a
/// `subject` (OCI 1.1 attestations, signatures), the index's descriptors
/// and their `vnd.docker.reference.digest` annotations (buildx
/// attestations). The rest is pushed as it is.
pub fn rewrite(plan: Plan, raw: &[Layer], pushed: &[Pushed], compress: Compress) -> Result<Plan> {
    if raw.is_empty() {
        return Ok(plan);
    }
    let became: HashMap<&str, &Pushed> = raw
        .iter()
        .map(|l| l.diff_id.as_str())
        .zip(pushed.iter())
        .collect();
    let manifests = image_manifests(&plan);
    let mut docs = Vec::new();
    for manifest in &manifests {
        let doc: Value = serde_json::from_slice(&manifest.bytes).map_err(|e| {
            Error::usage(format!("manifest {}: not valid JSON: {e}", manifest.digest))
        })?;
        docs.push(doc);
    }
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
