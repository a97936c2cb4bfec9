//! `docker save` tars, classic (`manifest.json`, `<id>/layer.tar`, layers
//! possibly symlink entries as skopeo writes them) or Docker 25+ (the same
//! `manifest.json` over an OCI layout): the image they hold, and the
//! manifest that names its layers once they are in the registry. Their
//! layers are uncompressed: [`crate::compress`] compresses them on the
//! way, [`crate::reuse`] finds those the registry has already.

use std::io::Read;

use deploykit::{Error, Result};
use serde_json::{Value, json};

use crate::compress::Compress;
use crate::media::{DOCKER_CONFIG, DOCKER_MANIFEST, OCI_CONFIG, OCI_MANIFEST};
use crate::plan::{Blob, Manifest, sha256};
use crate::reuse::Pushed;
use crate::source::{Place, Source};

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

/// The manifest of an image whose config and layers the registry now
/// holds: Docker's schema 2, as docker push writes it; an OCI manifest when
/// a layer is zstd, which schema 2 cannot name.
pub fn manifest(config: &Blob, pushed: &[Pushed]) -> Manifest {
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
    Manifest {
        digest: sha256(&bytes),
        media_type: manifest_type.to_string(),
        bytes,
    }
}
