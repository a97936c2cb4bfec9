//! Container images the tests make themselves, with no daemon and nothing
//! downloaded: the formats oci-push reads, as the tools that write them
//! lay them out.
//!
//! - [`oci_layout`]: an OCI image layout directory (`oci-layout`,
//!   `index.json`, `blobs/sha256/…`), several images told apart by their
//!   `org.opencontainers.image.ref.name`, as buildx `type=oci,tar=false`,
//!   buildah, skopeo and umoci write it; [`oci_layout_multi`]: one ref to a
//!   multi-platform image index;
//! - [`oci_archive`]: the same layout in a tar;
//! - [`docker_save`]: a `docker save` tar, classic (`manifest.json` and
//!   `<id>/layer.tar`), classic with symlinked layers (as skopeo writes it),
//!   or the Docker 25+ form that embeds an OCI layout;
//! - [`gzip_file`]: a compressed outer tar.
//!
//! Everything is deterministic (fixed times, modes and owners), so one
//! image always has one digest.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// `sha256:<hex>` of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

fn hex(digest: &str) -> &str {
    digest.strip_prefix("sha256:").unwrap_or(digest)
}

/// A tar of `files` (path, content), deterministic: mode 0644, owner 0,
/// time 0, in the order given.
pub fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, content) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        header.set_entry_type(tar::EntryType::Regular);
        builder
            .append_data(&mut header, path, *content)
            .expect("appending to an in-memory tar");
    }
    builder.into_inner().expect("finishing an in-memory tar")
}

/// gzip at the default level with no name and time 0: one input, one output.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).expect("gzip in memory");
    encoder.finish().expect("gzip in memory")
}

/// How layers are stored in a layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
}

/// An image: its layers as uncompressed tars, and its platform.
#[derive(Debug, Clone)]
pub struct Image {
    pub layers: Vec<Vec<u8>>,
    pub os: String,
    pub architecture: String,
}

impl Image {
    /// One layer a list of files.
    pub fn new(layers: &[&[(&str, &[u8])]]) -> Self {
        Image {
            layers: layers.iter().map(|files| tar_of(files)).collect(),
            os: "linux".to_string(),
            architecture: "amd64".to_string(),
        }
    }

    /// A small three-layer image whose content `seed` makes unique.
    pub fn small(seed: &str) -> Self {
        Image::new(&[
            &[("etc/os-release", b"NAME=test\n")],
            &[("app/seed", seed.as_bytes())],
            &[("app/run.sh", b"#!/bin/sh\necho hello\n")],
        ])
    }

    /// The same image for another platform.
    pub fn for_platform(mut self, os: &str, architecture: &str) -> Self {
        self.os = os.to_string();
        self.architecture = architecture.to_string();
        self
    }

    /// The uncompressed layers' digests (the config's `rootfs.diff_ids`).
    pub fn diff_ids(&self) -> Vec<String> {
        self.layers.iter().map(|l| sha256(l)).collect()
    }

    /// The image configuration (OCI, which Docker reads too).
    pub fn config(&self) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "created": "1970-01-01T00:00:00Z",
            "architecture": self.architecture,
            "os": self.os,
            "config": {"Cmd": ["/app/run.sh"]},
            "rootfs": {"type": "layers", "diff_ids": self.diff_ids()},
        }))
        .expect("json")
    }
}

/// A blob to write: its bytes and media type.
struct Blob {
    media_type: &'static str,
    bytes: Vec<u8>,
}

impl Blob {
    fn descriptor(&self) -> Value {
        json!({"mediaType": self.media_type, "digest": sha256(&self.bytes), "size": self.bytes.len()})
    }
}

/// The blobs of one image's manifest, the manifest last.
fn image_blobs(image: &Image, compression: Compression) -> Vec<Blob> {
    let mut blobs = vec![Blob {
        media_type: OCI_CONFIG,
        bytes: image.config(),
    }];
    for layer in &image.layers {
        blobs.push(match compression {
            Compression::None => Blob {
                media_type: OCI_LAYER,
                bytes: layer.clone(),
            },
            Compression::Gzip => Blob {
                media_type: OCI_LAYER_GZIP,
                bytes: gzip(layer),
            },
        });
    }
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": blobs[0].descriptor(),
        "layers": blobs[1..].iter().map(Blob::descriptor).collect::<Vec<_>>(),
    });
    blobs.push(Blob {
        media_type: OCI_MANIFEST,
        bytes: serde_json::to_vec(&manifest).expect("json"),
    });
    blobs
}

fn write_blob(dir: &Path, blob: &Blob) {
    let path = dir.join("blobs/sha256").join(hex(&sha256(&blob.bytes)));
    std::fs::create_dir_all(path.parent().unwrap()).expect("blobs dir");
    std::fs::write(&path, &blob.bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

fn write_layout_files(dir: &Path, manifests: Vec<Value>) {
    std::fs::create_dir_all(dir).expect("layout dir");
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests});
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
}

/// Writes an OCI image layout at `dir` holding `images`, each under its ref
/// name; returns each image's manifest digest, in order.
pub fn oci_layout(dir: &Path, images: &[(&str, &Image)], compression: Compression) -> Vec<String> {
    let mut entries = Vec::new();
    let mut digests = Vec::new();
    for (name, image) in images {
        let blobs = image_blobs(image, compression);
        for blob in &blobs {
            write_blob(dir, blob);
        }
        let manifest = blobs.last().expect("a manifest");
        let mut entry = manifest.descriptor();
        entry["annotations"] = json!({REF_NAME: name});
        digests.push(sha256(&manifest.bytes));
        entries.push(entry);
    }
    write_layout_files(dir, entries);
    digests
}

/// Writes an OCI layout at `dir` whose ref `name` is an image index of
/// `images`, one manifest a platform; returns the index's digest.
pub fn oci_layout_multi(
    dir: &Path,
    name: &str,
    images: &[&Image],
    compression: Compression,
) -> String {
    let mut manifests = Vec::new();
    for image in images {
        let blobs = image_blobs(image, compression);
        for blob in &blobs {
            write_blob(dir, blob);
        }
        let mut entry = blobs.last().expect("a manifest").descriptor();
        entry["platform"] = json!({"os": image.os, "architecture": image.architecture});
        manifests.push(entry);
    }
    let index = Blob {
        media_type: OCI_INDEX,
        bytes: serde_json::to_vec(
            &json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}),
        )
        .expect("json"),
    };
    write_blob(dir, &index);
    let mut entry = index.descriptor();
    entry["annotations"] = json!({REF_NAME: name});
    write_layout_files(dir, vec![entry]);
    sha256(&index.bytes)
}

/// Tars the directory `dir` into `path`, its entries sorted, deterministic.
fn tar_dir(dir: &Path, path: &Path) {
    let mut files = Vec::new();
    collect(dir, dir, &mut files);
    files.sort();
    let contents: Vec<(String, Vec<u8>)> = files
        .into_iter()
        .map(|rel| {
            let bytes = std::fs::read(dir.join(&rel)).expect("reading a layout file");
            (rel, bytes)
        })
        .collect();
    let entries: Vec<(&str, &[u8])> = contents
        .iter()
        .map(|(p, b)| (p.as_str(), b.as_slice()))
        .collect();
    std::fs::write(path, tar_of(&entries)).expect("writing the tar");
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir)
        .expect("reading a layout dir")
        .flatten()
    {
        let path = entry.path();
        if path.is_dir() {
            collect(root, &path, out);
        } else {
            out.push(
                path.strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
            );
        }
    }
}

/// Writes an oci-archive (an OCI layout in a tar) at `path`; returns the
/// manifest digests.
pub fn oci_archive(
    path: &Path,
    images: &[(&str, &Image)],
    compression: Compression,
) -> Vec<String> {
    let dir = tempfile::tempdir().expect("temp dir");
    let digests = oci_layout(dir.path(), images, compression);
    tar_dir(dir.path(), path);
    digests
}

/// The forms `docker save` (and skopeo's docker-archive) write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DockerSave {
    /// `manifest.json`, `<config>.json`, `<id>/layer.tar`: Docker before 25.
    Classic,
    /// The same, each `<id>/layer.tar` a symlink entry to `<diff id>.tar`,
    /// as skopeo writes docker-archive tars.
    ClassicSymlinks,
    /// Docker 25+: an OCI layout (uncompressed layers) plus `manifest.json`
    /// naming its blobs.
    Oci,
}

/// Writes a `docker save` tar of `image`, tagged `repo_tag`, at `path`.
pub fn docker_save(path: &Path, image: &Image, repo_tag: &str, form: DockerSave) {
    let config = image.config();
    let config_hex = hex(&sha256(&config)).to_string();
    let mut builder = tar::Builder::new(Vec::new());
    let add = |builder: &mut tar::Builder<Vec<u8>>, name: &str, bytes: &[u8]| {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_entry_type(tar::EntryType::Regular);
        builder
            .append_data(&mut header, name, bytes)
            .expect("tar entry");
    };
    let layer_paths: Vec<String> = match form {
        DockerSave::Classic | DockerSave::ClassicSymlinks => {
            add(&mut builder, &format!("{config_hex}.json"), &config);
            let mut paths = Vec::new();
            for (i, layer) in image.layers.iter().enumerate() {
                let diff_hex = hex(&sha256(layer)).to_string();
                // The legacy layer id: any stable hex name does.
                let id = hex(&sha256(format!("{config_hex}/{i}").as_bytes())).to_string();
                let layer_path = format!("{id}/layer.tar");
                add(&mut builder, &format!("{id}/VERSION"), b"1.0");
                if form == DockerSave::ClassicSymlinks {
                    add(&mut builder, &format!("{diff_hex}.tar"), layer);
                    let mut header = tar::Header::new_gnu();
                    header.set_entry_type(tar::EntryType::Symlink);
                    header.set_size(0);
                    header.set_mode(0o777);
                    header.set_mtime(0);
                    builder
                        .append_link(&mut header, &layer_path, format!("../{diff_hex}.tar"))
                        .expect("symlink entry");
                } else {
                    add(&mut builder, &layer_path, layer);
                }
                paths.push(layer_path);
            }
            paths
        }
        DockerSave::Oci => {
            let blobs = image_blobs(image, Compression::None);
            for blob in &blobs {
                add(
                    &mut builder,
                    &format!("blobs/sha256/{}", hex(&sha256(&blob.bytes))),
                    &blob.bytes,
                );
            }
            let manifest = blobs.last().expect("a manifest");
            let mut entry = manifest.descriptor();
            entry["annotations"] = json!({"io.containerd.image.name": format!("docker.io/library/{repo_tag}"), REF_NAME: repo_tag.rsplit(':').next().unwrap_or("latest")});
            add(
                &mut builder,
                "oci-layout",
                br#"{"imageLayoutVersion":"1.0.0"}"#,
            );
            let index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [entry]});
            add(
                &mut builder,
                "index.json",
                &serde_json::to_vec(&index).unwrap(),
            );
            blobs[1..blobs.len() - 1]
                .iter()
                .map(|b| format!("blobs/sha256/{}", hex(&sha256(&b.bytes))))
                .collect()
        }
    };
    let config_path = match form {
        DockerSave::Oci => format!("blobs/sha256/{config_hex}"),
        _ => format!("{config_hex}.json"),
    };
    let manifest = json!([{"Config": config_path, "RepoTags": [repo_tag], "Layers": layer_paths}]);
    add(
        &mut builder,
        "manifest.json",
        &serde_json::to_vec(&manifest).unwrap(),
    );
    std::fs::write(path, builder.into_inner().expect("tar")).expect("writing the docker-save tar");
}

/// `path` gzip-compressed into `path.gz`; returns the new path.
pub fn gzip_file(path: &Path) -> PathBuf {
    let out = PathBuf::from(format!("{}.gz", path.display()));
    std::fs::write(&out, gzip(&std::fs::read(path).expect("reading"))).expect("writing");
    out
}
