//! Layers the registry has already, found before anything is compressed:
//! the manifests the target tags (and `--reuse-from`) point at now are
//! read, and a layer whose uncompressed digest (`rootfs.diff_ids`) is there,
//! as a blob the registry still has, is referenced (or mounted from the
//! other repository), not sent. An unchanged re-push compresses and uploads
//! nothing, with no local cache.

use std::collections::HashMap;

use serde_json::Value;

use crate::compress::Compress;
use crate::media::{DOCKER_CONFIG, DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST};
use crate::push::{Tally, Target};

/// What a layer became in the registry.
#[derive(Debug, Clone)]
pub struct Pushed {
    pub digest: String,
    pub size: u64,
    pub form: Compress,
    /// Found in another repository of the registry (`--reuse-from`).
    pub from: Option<String>,
}

/// diff id (and the form it was sent in) → the blob the registry holds for
/// it, from the manifests and configs the target tags (and `--reuse-from`)
/// point at now. The target repository's own blobs win over others'.
pub async fn known_layers(target: &Target<'_>) -> HashMap<(String, Compress), Pushed> {
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

/// `known` (what the tags' manifests say a layer became), when the
/// registry still has it in the target repository, or mounts it from the
/// repository it was found in; counted either way.
pub async fn found(
    target: &Target<'_>,
    reference: &oci_client::Reference,
    known: Option<Pushed>,
    tally: &Tally,
) -> Option<Pushed> {
    let found = known?;
    if target
        .client
        .blob_exists(reference, &found.digest)
        .await
        .unwrap_or(false)
    {
        tally.skipped(&found.digest, found.size);
        return Some(found);
    }
    if let Some(from) = found.from.as_deref()
        && target.mount(reference, from, &found.digest).await
    {
        tally.mounted(&found.digest, found.size, from);
        return Some(found);
    }
    None
}
