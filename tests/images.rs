//! The test images of `deploy_tests::images` are real: skopeo (a client
//! that did not make them) reads each form, and copies it into the
//! emulators' registry, where it reads back with the digest we computed.
//! oci-push's tests rely on these images; these tests keep them honest.

use deploy_tests::images::{
    Compression, DockerSave, Image, docker_save, gzip_file, oci_archive, oci_layout,
    oci_layout_multi, sha256,
};
use deploy_tests::{Output, emulators, unique};
use serde_json::Value;

fn skopeo(args: &[&str]) -> Output {
    deploy_tests::tool("skopeo").args(args).run()
}

/// `skopeo inspect --raw SOURCE`: the manifest bytes, as skopeo reads them.
fn raw(source: &str) -> String {
    let out = skopeo(&["inspect", "--raw", source]);
    assert_eq!(out.code, 0, "skopeo inspect {source}: {}", out.stderr);
    out.stdout
}

/// Copies `source` into the open registry and reads the copy's manifest.
fn copy_and_read_back(source: &str) -> Value {
    let dest = format!("docker://{}/{}:1", emulators().registry, unique("images"));
    let out = skopeo(&["copy", "--dest-tls-verify=false", source, &dest]);
    assert_eq!(out.code, 0, "skopeo copy {source}: {}", out.stderr);
    raw_remote(&dest)
}

fn raw_remote(dest: &str) -> Value {
    let out = skopeo(&["inspect", "--raw", "--tls-verify=false", dest]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    serde_json::from_str(&out.stdout).expect("manifest json")
}

#[test]
fn an_oci_layout_with_two_refs_reads_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (Image::small("a"), Image::small("b"));
    let digests = oci_layout(dir.path(), &[("one", &a), ("two", &b)], Compression::Gzip);
    let path = dir.path().display().to_string();
    assert_eq!(
        sha256(raw(&format!("oci:{path}:one")).as_bytes()),
        digests[0]
    );
    assert_eq!(
        sha256(raw(&format!("oci:{path}:two")).as_bytes()),
        digests[1]
    );
}

#[test]
fn an_oci_layout_copies_into_the_registry_with_its_digest() {
    let dir = tempfile::tempdir().unwrap();
    let digests = oci_layout(
        dir.path(),
        &[("v1", &Image::small("copy"))],
        Compression::Gzip,
    );
    let dest = format!("docker://{}/{}:1", emulators().registry, unique("layout"));
    let source = format!("oci:{}:v1", dir.path().display());
    let out = skopeo(&["copy", "--dest-tls-verify=false", &source, &dest]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = skopeo(&["inspect", "--raw", "--tls-verify=false", &dest]);
    assert_eq!(
        sha256(out.stdout.as_bytes()),
        digests[0],
        "pushed as it was: one digest"
    );
}

#[test]
fn an_uncompressed_oci_layout_reads() {
    let dir = tempfile::tempdir().unwrap();
    oci_layout(
        dir.path(),
        &[("v1", &Image::small("plain"))],
        Compression::None,
    );
    let manifest: Value =
        serde_json::from_str(&raw(&format!("oci:{}:v1", dir.path().display()))).unwrap();
    assert_eq!(
        manifest["layers"][0]["mediaType"],
        "application/vnd.oci.image.layer.v1.tar"
    );
}

#[test]
fn a_multi_platform_layout_is_an_index_of_both() {
    let dir = tempfile::tempdir().unwrap();
    let amd = Image::small("multi");
    let arm = Image::small("multi").for_platform("linux", "arm64");
    let digest = oci_layout_multi(dir.path(), "latest", &[&amd, &arm], Compression::Gzip);
    let text = raw(&format!("oci:{}:latest", dir.path().display()));
    assert_eq!(sha256(text.as_bytes()), digest);
    let index: Value = serde_json::from_str(&text).unwrap();
    let arches: Vec<&Value> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["platform"]["architecture"])
        .collect();
    assert_eq!(arches, ["amd64", "arm64"]);
}

#[test]
fn an_oci_archive_reads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("image.tar");
    let digests = oci_archive(
        &path,
        &[("v1", &Image::small("archive"))],
        Compression::Gzip,
    );
    assert_eq!(
        sha256(raw(&format!("oci-archive:{}:v1", path.display())).as_bytes()),
        digests[0]
    );
}

/// skopeo reads a docker-save tar as docker does: its layers and config.
fn assert_docker_archive(path: &std::path::Path, image: &Image) {
    let manifest = local_manifest(&format!("docker-archive:{}", path.display()));
    let config_digest = manifest["config"]["digest"].as_str().unwrap().to_string();
    assert_eq!(config_digest, sha256(&image.config()));
    assert_eq!(
        manifest["layers"].as_array().unwrap().len(),
        image.layers.len()
    );
}

fn local_manifest(source: &str) -> Value {
    serde_json::from_str(&raw(source)).expect("manifest json")
}

#[test]
fn a_classic_docker_save_tar_reads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("save.tar");
    let image = Image::small("classic");
    docker_save(&path, &image, "web:1", DockerSave::Classic);
    assert_docker_archive(&path, &image);
}

#[test]
fn a_docker_save_tar_with_symlinked_layers_reads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("save.tar");
    let image = Image::small("symlinks");
    docker_save(&path, &image, "web:1", DockerSave::ClassicSymlinks);
    assert_docker_archive(&path, &image);
}

#[test]
fn a_docker_25_save_tar_reads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("save.tar");
    let image = Image::small("docker25");
    docker_save(&path, &image, "web:1", DockerSave::Oci);
    assert_docker_archive(&path, &image);
}

#[test]
fn a_docker_save_tar_copies_into_the_registry() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("save.tar");
    let image = Image::small("save-copy");
    docker_save(&path, &image, "web:1", DockerSave::Classic);
    let manifest = copy_and_read_back(&format!("docker-archive:{}", path.display()));
    assert_eq!(manifest["layers"].as_array().unwrap().len(), 3);
}

#[test]
fn a_gzipped_docker_save_tar_is_gzip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("save.tar");
    docker_save(&path, &Image::small("gz"), "web:1", DockerSave::Classic);
    let gz = gzip_file(&path);
    let bytes = std::fs::read(&gz).unwrap();
    assert_eq!(&bytes[..2], &[0x1f, 0x8b]);
    let mut plain = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut plain).unwrap();
    assert_eq!(plain, std::fs::read(&path).unwrap());
}
