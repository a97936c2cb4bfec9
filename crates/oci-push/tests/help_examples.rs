//! Every `oci-push` command in `oci-push --help` runs, as written, in a
//! directory holding the images it names, against the emulators' registry
//! (standing in for registry.example.com and localhost:5000), and pushes
//! what the example says; an example with no expectation fails the test.

use deploy_tests::emulators;
use deploy_tests::images::{
    Compression, DockerSave, Image, docker_save, oci_archive, oci_layout, oci_layout_multi,
};
use serde_json::json;

#[test]
fn every_help_example_runs() {
    let help = deploy_tests::tool(env!("CARGO_BIN_EXE_oci-push"))
        .args(["--help"])
        .run()
        .stdout;
    let dir = tempfile::tempdir().unwrap();
    let at = |name: &str| dir.path().join(name);
    let image = oci_layout(
        &at("image"),
        &[("v1", &Image::small("help-image"))],
        Compression::Gzip,
    )[0]
    .clone();
    let archive = oci_archive(
        &at("image.oci.tar"),
        &[("v1", &Image::small("help-archive"))],
        Compression::Gzip,
    )[0]
    .clone();
    docker_save(
        &at("web.tar"),
        &Image::small("help-save"),
        "web:1",
        DockerSave::Classic,
    );
    deploy_tests::images::gzip_file(&at("web.tar"));
    let arm = Image::small("help-arm").for_platform("linux", "arm64");
    oci_layout_multi(
        &at("layout"),
        "web",
        &[&Image::small("help-amd"), &arm],
        Compression::Gzip,
    );
    let registry = emulators().registry.clone();
    let mut ran = 0;
    for command in deploy_tests::help_examples(&help, "Output:") {
        for segment in command.split(" | ").map(str::trim) {
            if !segment.starts_with("oci-push") {
                continue;
            }
            let line = segment
                .replace("registry.example.com", &registry)
                .replace("localhost:5000", &registry)
                .replace("$GIT_SHA", "0f3a9c1");
            let args = shlex::split(&line).unwrap_or_else(|| panic!("cannot split {line:?}"));
            let stdin = if command.starts_with("ecr-login |") {
                json!({"registry": {"endpoint": registry, "expiresAt": null, "credentialsIn": "config.json"}})
            } else {
                json!({})
            };
            let out = deploy_tests::tool(env!("CARGO_BIN_EXE_oci-push"))
                .current_dir(dir.path())
                .args(&args[1..])
                .stdin_json(&stdin)
                .run();
            assert_eq!(out.code, 0, "help example failed: {line}\n{}", out.stderr);
            let pushed = &out.success()["image"];
            if segment.contains("--from ./image ") {
                assert_eq!(pushed["digest"], image.as_str());
                assert_eq!(pushed["tags"], json!(["0f3a9c1", "latest"]));
            } else if segment.contains("--from image.oci.tar") {
                assert_eq!(pushed["digest"], archive.as_str());
                assert_eq!(
                    pushed["registry"],
                    registry.as_str(),
                    "the registry came from stdin"
                );
            } else if segment.contains("--from web.tar") {
                assert_eq!(
                    pushed["mediaType"],
                    "application/vnd.docker.distribution.manifest.v2+json"
                );
            } else if segment.contains("--platform linux/arm64") {
                assert_eq!(pushed["platforms"], json!(["linux/arm64"]));
            } else {
                panic!("help example with no expectation in help_examples.rs: {segment}");
            }
            ran += 1;
        }
    }
    assert_eq!(ran, 4, "every example command ran, none more or fewer");
}
