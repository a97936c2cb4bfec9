//! oci-push against the emulators' real registries (CNCF distribution,
//! open and htpasswd), with images the tests make (deploy_tests::images),
//! every push read back with skopeo.

use deploy_tests::images::{
    Compression, DockerSave, Image, docker_save, oci_archive, oci_layout, oci_layout_multi,
};
use deploy_tests::{Output, Tool, emulators, unique};
use deploykit::registry::{Credentials, DockerConfig};
use serde_json::json;

fn push() -> Tool {
    deploy_tests::tool(env!("CARGO_BIN_EXE_oci-push"))
}

/// A fresh repository in the open registry.
fn repo() -> String {
    format!("{}/{}", emulators().registry, unique("push"))
}

/// Asserts that the registry has no manifest for `image` (REGISTRY/REPO:TAG).
#[track_caller]
fn assert_not_pushed(image: &str) {
    let out = deploy_tests::tool("skopeo")
        .args([
            "inspect",
            "--raw",
            "--tls-verify=false",
            &format!("docker://{image}"),
        ])
        .run();
    assert_ne!(out.code, 0, "nothing may be pushed, but {image} is there");
}

/// skopeo's view of `image` (REGISTRY/REPO:TAG): the manifest's digest.
fn remote_digest(image: &str) -> String {
    let out = deploy_tests::tool("skopeo")
        .args([
            "inspect",
            "--raw",
            "--tls-verify=false",
            &format!("docker://{image}"),
        ])
        .run();
    assert_eq!(out.code, 0, "skopeo inspect {image}: {}", out.stderr);
    deploy_tests::images::sha256(out.stdout.as_bytes())
}

/// Every upload request (POST, PATCH, PUT on /blobs/uploads/) the open
/// registry has logged for `to` (REGISTRY/REPOSITORY).
fn uploads(to: &str) -> Vec<String> {
    let (_, repository) = to.split_once('/').unwrap();
    let all = deploy_tests::registry_requests(repository);
    assert!(
        !all.is_empty(),
        "the registry logged nothing for {repository}"
    );
    all.into_iter()
        .filter(|r| r.contains("/blobs/uploads/"))
        .collect()
}

fn layout(images: &[(&str, &Image)]) -> (tempfile::TempDir, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let digests = oci_layout(dir.path(), images, Compression::Gzip);
    (dir, digests)
}

fn from(dir: &tempfile::TempDir) -> String {
    dir.path().display().to_string()
}

#[test]
fn a_layout_is_pushed_under_every_tag_with_its_own_digest() {
    let (dir, digests) = layout(&[("v1", &Image::small("tags"))]);
    let to = repo();
    let out = push()
        .args([
            "--from",
            &from(&dir),
            "--to",
            &to,
            "--tag",
            "1.0",
            "--tag",
            "latest",
        ])
        .run();
    let doc = out.success();
    let (registry, repository) = to.split_once('/').unwrap();
    assert_eq!(
        doc["image"],
        json!({
            "registry": registry, "repository": repository, "digest": digests[0],
            "tags": ["1.0", "latest"], "uri": format!("{to}@{}", digests[0]),
            "mediaType": "application/vnd.oci.image.manifest.v1+json"
        })
    );
    assert_eq!(remote_digest(&format!("{to}:1.0")), digests[0]);
    assert_eq!(remote_digest(&format!("{to}:latest")), digests[0]);
    assert!(out.stderr.contains("4 blobs uploaded"), "{}", out.stderr);
}

#[test]
fn pushing_again_uploads_nothing() {
    let (dir, _) = layout(&[("v1", &Image::small("again"))]);
    let to = repo();
    push()
        .args(["--from", &from(&dir), "--to", &to, "--tag", "1"])
        .run()
        .success();
    let before = uploads(&to);
    let out = push()
        .args(["--from", &from(&dir), "--to", &to, "--tag", "1"])
        .run();
    out.success();
    assert_eq!(uploads(&to), before, "the registry saw no upload");
    assert!(
        out.stderr
            .contains("0 blobs uploaded (0 bytes), 4 already there")
            && out.stderr.contains("1 of 1 tags already right"),
        "{}",
        out.stderr
    );
    assert_eq!(
        out.stderr.matches("… already there (").count(),
        4,
        "one line a blob: {}",
        out.stderr
    );
}

#[test]
fn force_uploads_every_blob_again() {
    let (dir, _) = layout(&[("v1", &Image::small("force"))]);
    let to = repo();
    push()
        .args(["--from", &from(&dir), "--to", &to, "--tag", "1"])
        .run()
        .success();
    let out = push()
        .args(["--from", &from(&dir), "--to", &to, "--tag", "1", "--force"])
        .run();
    out.success();
    assert!(out.stderr.contains("4 blobs uploaded"), "{}", out.stderr);
}

#[test]
fn an_oci_archive_is_pushed() {
    let dir = tempfile::tempdir().unwrap();
    let tar = dir.path().join("image.tar");
    let digests = oci_archive(&tar, &[("v1", &Image::small("archive"))], Compression::Gzip);
    let to = repo();
    let out = push()
        .args(["--from", tar.to_str().unwrap(), "--to", &to, "--tag", "1"])
        .run();
    assert_eq!(out.success()["image"]["digest"], digests[0]);
    assert_eq!(remote_digest(&format!("{to}:1")), digests[0]);
}

#[test]
fn compress_none_pushes_an_uncompressed_layout_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let digests = oci_layout(
        dir.path(),
        &[("v1", &Image::small("plain"))],
        Compression::None,
    );
    let to = repo();
    push()
        .args(["--from", &from(&dir), "--to", &to, "--tag", "1"])
        .args(["--compress", "none"])
        .run()
        .success();
    assert_eq!(remote_digest(&format!("{to}:1")), digests[0]);
}

/// Uncompressed layout layers are gzip-compressed on the way, as docker
/// save layers are: the manifest names the compressed blobs (a new digest,
/// said on stderr), and they pull back as the layers that were written.
#[test]
fn an_uncompressed_layout_is_pushed_with_gzip_layers_under_a_new_digest() {
    let dir = tempfile::tempdir().unwrap();
    let image = Image::small("plain-gzip");
    let digests = oci_layout(dir.path(), &[("v1", &image)], Compression::None);
    let to = repo();
    let out = push()
        .args(["--from", &from(&dir), "--to", &to, "--tag", "1"])
        .run();
    let doc = out.success();
    let pushed = doc["image"]["digest"].as_str().unwrap();
    assert_ne!(pushed, digests[0]);
    assert_eq!(remote_digest(&format!("{to}:1")), pushed);
    assert!(
        out.stderr.contains(&format!("so it is pushed as {pushed}")),
        "{}",
        out.stderr
    );
    let manifest = remote_manifest(&format!("{to}:1"));
    for layer in manifest["layers"].as_array().unwrap() {
        assert_eq!(
            layer["mediaType"],
            "application/vnd.oci.image.layer.v1.tar+gzip"
        );
    }
    assert_eq!(pulled_layers(&format!("{to}:1")), image.layers);
}

#[test]
fn pushing_an_uncompressed_layout_again_uploads_nothing() {
    let dir = tempfile::tempdir().unwrap();
    oci_layout(
        dir.path(),
        &[("v1", &Image::small("plain-again"))],
        Compression::None,
    );
    let to = repo();
    let first = push()
        .args(["--from", &from(&dir), "--to", &to, "--tag", "1"])
        .run();
    let digest = first.success()["image"]["digest"].clone();
    let before = uploads(&to);
    let out = push()
        .args(["--from", &from(&dir), "--to", &to, "--tag", "1"])
        .run();
    assert_eq!(
        out.success()["image"]["digest"],
        digest,
        "one layout, one digest"
    );
    assert_eq!(uploads(&to), before, "the registry saw no upload");
    assert!(
        out.stderr
            .contains("0 blobs uploaded (0 bytes), 4 already there"),
        "{}",
        out.stderr
    );
}

#[test]
fn ref_picks_one_image_of_several() {
    let (dir, digests) = layout(&[
        ("one", &Image::small("ref1")),
        ("two", &Image::small("ref2")),
    ]);
    let to = repo();
    let out = push()
        .args([
            "--from",
            &from(&dir),
            "--ref",
            "two",
            "--to",
            &to,
            "--tag",
            "1",
        ])
        .run();
    assert_eq!(out.success()["image"]["digest"], digests[1]);
}

#[test]
fn several_images_without_ref_is_refused_naming_them() {
    let (dir, _) = layout(&[("one", &Image::small("n1")), ("two", &Image::small("n2"))]);
    let out = push()
        .args(["--from", &from(&dir), "--to", &repo(), "--tag", "1"])
        .run();
    assert!(
        out.failure(2)
            .contains("the layout holds 2 images (one, two): choose one with --ref"),
        "{}",
        out.stderr
    );
}

/// A layout whose one ref is an index of linux/amd64 and linux/arm64.
fn multi_layout(seed: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let amd = Image::small(seed);
    let arm = Image::small(&format!("{seed}-arm")).for_platform("linux", "arm64");
    let digest = oci_layout_multi(dir.path(), "latest", &[&amd, &arm], Compression::Gzip);
    (dir, digest)
}

#[test]
fn a_multi_platform_index_is_pushed_whole() {
    let (dir, digest) = multi_layout("multi");
    let to = repo();
    let out = push()
        .args(["--from", &from(&dir), "--to", &to, "--tag", "1"])
        .run();
    let doc = out.success();
    assert_eq!(doc["image"]["digest"], digest);
    assert_eq!(
        doc["image"]["platforms"],
        json!(["linux/amd64", "linux/arm64"])
    );
    assert_eq!(remote_digest(&format!("{to}:1")), digest);
    let out = deploy_tests::tool("skopeo")
        .args([
            "inspect",
            "--tls-verify=false",
            "--override-arch",
            "arm64",
            &format!("docker://{to}:1"),
        ])
        .run();
    assert_eq!(
        out.code, 0,
        "the arm64 manifest is there too: {}",
        out.stderr
    );
}

#[test]
fn platform_pushes_one_manifest_of_an_index() {
    let (dir, _) = multi_layout("plat");
    let to = repo();
    let out = push()
        .args([
            "--from",
            &from(&dir),
            "--platform",
            "linux/arm64",
            "--to",
            &to,
            "--tag",
            "arm",
        ])
        .run();
    let doc = out.success();
    assert_eq!(
        doc["image"]["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    assert_eq!(
        remote_digest(&format!("{to}:arm")),
        doc["image"]["digest"].as_str().unwrap()
    );
}

/// A Docker config holding `password` for the htpasswd registry.
fn docker_config(password: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut config = DockerConfig::load(dir.path()).unwrap();
    let creds = Credentials {
        username: emulators().registry_user.clone(),
        password: password.to_string(),
    };
    config.set_auth(&emulators().registry_auth, &creds, &[]);
    config.save().unwrap();
    dir
}

#[test]
fn credentials_come_from_the_docker_config() {
    let (dir, digests) = layout(&[("v1", &Image::small("auth"))]);
    let config = docker_config(&emulators().registry_password);
    let to = format!("{}/{}", emulators().registry_auth, unique("auth"));
    let out = push()
        .env("DOCKER_CONFIG", config.path())
        .args(["--from", &from(&dir), "--to", &to, "--tag", "1"])
        .run();
    assert_eq!(out.success()["image"]["digest"], digests[0]);
    assert!(!out.stderr.contains(&emulators().registry_password));
}

/// On a registry that wants a login, what each tag names is asked with
/// it: an unchanged re-push finds its tags right and PUTs no manifest.
#[test]
fn an_unchanged_re_push_with_a_login_leaves_the_tags_alone() {
    let (dir, _) = layout(&[("v1", &Image::small("auth-again"))]);
    let config = docker_config(&emulators().registry_password);
    let to = format!("{}/{}", emulators().registry_auth, unique("auth"));
    let again = || {
        push()
            .env("DOCKER_CONFIG", config.path())
            .args([
                "--from",
                &from(&dir),
                "--to",
                &to,
                "--tag",
                "1",
                "--tag",
                "2",
            ])
            .run()
    };
    again().success();
    let out = again();
    out.success();
    assert!(
        out.stderr.contains("2 of 2 tags already right"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_wrong_password_is_an_authentication_failure_naming_the_registry() {
    let (dir, _) = layout(&[("v1", &Image::small("wrong"))]);
    let config = docker_config("wrong-password");
    let to = format!("{}/{}", emulators().registry_auth, unique("auth"));
    let out = push()
        .env("DOCKER_CONFIG", config.path())
        .args(["--from", &from(&dir), "--to", &to, "--tag", "1"])
        .run();
    let err = out.failure(1);
    assert!(
        err.contains(&format!(
            "authentication failed at {}",
            emulators().registry_auth
        )),
        "{err}"
    );
    assert!(!err.contains("wrong-password"), "{err}");
}

#[test]
fn username_and_password_stdin() {
    let (dir, digests) = layout(&[("v1", &Image::small("stdin"))]);
    let to = format!("{}/{}", emulators().registry_auth, unique("auth"));
    let out = push()
        .args([
            "--from",
            &from(&dir),
            "--to",
            &to,
            "--tag",
            "1",
            "--username",
            &emulators().registry_user,
            "--password-stdin",
        ])
        .stdin(format!("{}\n", emulators().registry_password))
        .run();
    assert_eq!(out.success()["image"]["digest"], digests[0]);
}

#[test]
fn the_registry_comes_from_stdin_as_ecr_login_writes_it() {
    let (dir, digests) = layout(&[("v1", &Image::small("stdin-reg"))]);
    let repository = unique("piped");
    let stdin = json!({"registry": {"endpoint": emulators().registry, "expiresAt": null, "credentialsIn": "x"}, "keep": 1});
    let out = push()
        .args([
            "--from",
            &from(&dir),
            "--repository",
            &repository,
            "--tag",
            "1",
        ])
        .stdin_json(&stdin)
        .run();
    let doc = out.success();
    assert_eq!(doc["keep"], 1, "the object passes through");
    assert_eq!(
        doc["image"]["uri"],
        format!("{}/{repository}@{}", emulators().registry, digests[0])
    );
}

/// The file of a blob in a layout, by its digest.
fn blob_file(dir: &tempfile::TempDir, digest: &str) -> std::path::PathBuf {
    dir.path()
        .join("blobs/sha256")
        .join(digest.trim_start_matches("sha256:"))
}

/// Flips the last byte of a file, keeping its size.
fn corrupt(path: &std::path::Path) {
    let mut bytes = std::fs::read(path).unwrap();
    *bytes.last_mut().unwrap() ^= 0xff;
    std::fs::write(path, bytes).unwrap();
}

/// A layer is checked as it streams: the upload ends in an error, so the
/// registry commits nothing, and no manifest or tag follows.
#[test]
fn a_corrupt_layer_is_exit_2_and_nothing_is_tagged() {
    let (dir, digests) = layout(&[("v1", &Image::small("corrupt"))]);
    let manifest = deploy_tests::read_json(blob_file(&dir, &digests[0]));
    let layer = manifest["layers"][1]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    corrupt(&blob_file(&dir, &layer));
    let to = repo();
    let out = push()
        .args(["--from", &from(&dir), "--to", &to, "--tag", "1"])
        .run();
    let err = out.failure(2);
    assert!(
        err.contains(&format!("blob {layer} does not match its digest")),
        "{err}"
    );
    assert_not_pushed(&format!("{to}:1"));
}

/// A corrupt small layer fails while big ones are still uploading
/// (`--jobs 4`): those are let finish, not dropped mid-request, so the
/// count the message gives is what the registry holds.
#[test]
fn after_a_corrupt_blob_the_count_of_uploaded_blobs_is_what_the_registry_holds() {
    // Odd seeds: noise() sets the low bit, so 2 and 3 would be one layer.
    let big: Vec<Vec<u8>> = [11, 21, 31].map(|seed| noise(seed, 4 << 20)).to_vec();
    let layers: Vec<Vec<(&str, &[u8])>> = std::iter::once(vec![("small", &b"small"[..])])
        .chain(big.iter().map(|b| vec![("big", b.as_slice())]))
        .collect();
    let layers: Vec<&[(&str, &[u8])]> = layers.iter().map(Vec::as_slice).collect();
    let image = Image::new(&layers);
    let (dir, digests) = layout(&[("v1", &image)]);
    let manifest = deploy_tests::read_json(blob_file(&dir, &digests[0]));
    let small = manifest["layers"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    corrupt(&blob_file(&dir, &small));
    let to = repo();
    let out = push()
        .args([
            "--from",
            &from(&dir),
            "--to",
            &to,
            "--tag",
            "1",
            "--jobs",
            "4",
        ])
        .run();
    let err = out.failure(2).to_string();
    assert!(
        err.contains(&format!("blob {small} does not match its digest")),
        "{err}"
    );
    let (registry, repository) = to.split_once('/').unwrap();
    let mut blobs: Vec<String> = vec![manifest["config"]["digest"].as_str().unwrap().to_string()];
    blobs.extend(
        manifest["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["digest"].as_str().unwrap().to_string()),
    );
    let held = blobs
        .iter()
        .filter(|digest| {
            let code = deploy_tests::tool("curl")
                .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-I"])
                .args([format!("http://{registry}/v2/{repository}/blobs/{digest}")])
                .run()
                .stdout;
            code == "200"
        })
        .count();
    let said = match held {
        0 => None,
        1 => Some("1 blob (".to_string()),
        n => Some(format!("{n} blobs (")),
    };
    match said {
        Some(said) => assert!(
            err.contains(&said),
            "the registry holds {held} of {blobs:?}: {err}"
        ),
        None => assert!(!err.contains("uploaded to"), "{err}"),
    }
    assert_not_pushed(&format!("{to}:1"));
}

/// A manifest is read and checked before anything is sent.
#[test]
fn a_corrupt_manifest_is_exit_2_before_anything_is_sent() {
    let (dir, digests) = layout(&[("v1", &Image::small("corrupt-manifest"))]);
    corrupt(&blob_file(&dir, &digests[0]));
    let out = push()
        .args([
            "--from",
            &from(&dir),
            "--to",
            "127.0.0.1:1/web",
            "--tag",
            "1",
        ])
        .run();
    let err = out.failure(2);
    assert!(
        err.contains(&format!("blob {} does not match its digest", digests[0])),
        "{err}"
    );
}

fn refused(args: &[&str], want: &str) -> Output {
    let out = push().args(args).run();
    let err = out.failure(2);
    assert!(err.starts_with("oci-push: "), "{err}");
    assert!(err.contains(want), "expected {want:?} in {err}");
    out
}

/// A source that does not exist: a flag refused with it was refused
/// before the source was opened (a .tar.gz is not decompressed first).
const NO_SOURCE: &str = "/nonexistent/image.tar.gz";

#[test]
fn a_password_in_to_is_refused_and_never_repeated() {
    let out = refused(
        &[
            "--from",
            NO_SOURCE,
            "--to",
            "ci-user:s3cr3t-pw@127.0.0.1:5000/web",
            "--tag",
            "1",
        ],
        "--to: holds credentials before an @",
    );
    assert!(!out.stderr.contains("s3cr3t-pw") && !out.stdout.contains("s3cr3t-pw"));
}

#[test]
fn a_password_in_stdins_registry_endpoint_is_refused_and_never_repeated() {
    let out = push()
        .args(["--from", NO_SOURCE, "--repository", "web", "--tag", "1"])
        .stdin(r#"{"registry": {"endpoint": "AWS:s3cr3t-pw@r.example"}}"#)
        .run();
    let doc = out.failure_report(2);
    let err = doc["error"]["message"].as_str().unwrap_or_default();
    assert!(
        err.contains("stdin's registry.endpoint: holds credentials"),
        "{err}"
    );
    assert!(!out.stderr.contains("s3cr3t-pw"), "{}", out.stderr);
    // The object passed on is the one received: its own value, not ours.
    assert_eq!(doc["registry"]["endpoint"], "AWS:s3cr3t-pw@r.example");
}

fn conf_with_location(location: &str) -> tempfile::NamedTempFile {
    let conf = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        conf.path(),
        format!("[[registry]]\nprefix = \"r.example\"\nlocation = \"{location}\"\n"),
    )
    .unwrap();
    conf
}

/// A push to r.example, which registries.conf puts at `location`: refused
/// (exit 2) saying `want`, before the source (which does not exist) is opened.
fn refused_by_conf(location: &str, want: &str) {
    let conf = conf_with_location(location);
    let out = push()
        .args(["--from", NO_SOURCE, "--to", "r.example/web", "--tag", "1"])
        .args(["--registries-conf", conf.path().to_str().unwrap()])
        .run();
    assert!(out.failure(2).contains(want), "{}", out.stderr);
}

#[test]
fn a_registries_conf_location_with_a_scheme_is_refused_before_the_source_is_opened() {
    refused_by_conf(
        "http://127.0.0.1:5000",
        "registries.conf: the location for r.example/web has a scheme",
    );
}

#[test]
fn a_registries_conf_location_on_a_bad_host_is_refused_before_the_source_is_opened() {
    refused_by_conf(
        "bad host:99999",
        "registries.conf: the location for r.example/web is on \"bad host:99999\"",
    );
}

#[test]
fn a_password_in_a_registries_conf_location_is_refused_and_never_repeated() {
    let conf = conf_with_location("ci:s3cr3t-pw@127.0.0.1:5000");
    let out = push()
        .args(["--from", NO_SOURCE, "--to", "r.example/web", "--tag", "1"])
        .args(["--registries-conf", conf.path().to_str().unwrap()])
        .run();
    assert!(
        out.failure(2).contains("holds credentials before an @"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("s3cr3t-pw") && !out.stdout.contains("s3cr3t-pw"));
}

#[test]
fn a_registries_conf_location_making_a_bad_repository_is_refused() {
    refused_by_conf("127.0.0.1:5000/UPPER", "makes the repository \"UPPER/web\"");
}

#[test]
fn a_malformed_platform_is_refused_before_the_source_is_opened() {
    refused(
        &[
            "--from",
            NO_SOURCE,
            "--to",
            &repo(),
            "--tag",
            "1",
            "--platform",
            "garbage",
        ],
        "--platform \"garbage\": expected OS/ARCH",
    );
}

#[test]
fn zero_jobs_is_refused() {
    refused(
        &[
            "--from",
            NO_SOURCE,
            "--to",
            &repo(),
            "--tag",
            "1",
            "--jobs",
            "0",
        ],
        "--jobs: 1 or more",
    );
}

#[test]
fn a_digest_file_naming_a_directory_is_refused_before_the_source_is_opened() {
    refused(
        &[
            "--from",
            NO_SOURCE,
            "--to",
            &repo(),
            "--tag",
            "1",
            "--digest-file",
            "newname/",
        ],
        "--digest-file newname/: ends with /",
    );
}

/// Logged in, but not allowed to push: said as such, not tried again. The
/// registry is not ECR, so no ECR statement is offered (tests/least_privilege.rs
/// has ECR's).
#[test]
fn a_403_on_the_upload_says_the_login_may_not_push() {
    let registry = ScriptedRegistry::start(&["POST:upload:403:0"]);
    let (dir, _) = layout(&[("v1", &Image::small("forbidden"))]);
    let out = push()
        .args([
            "--from",
            &from(&dir),
            "--to",
            &format!("{}/web", registry.address),
        ])
        .args(["--tag", "1", "--jobs", "1"])
        .run();
    let err = out.failure(1);
    assert!(err.contains("the login may not push to web"), "{err}");
    assert!(!err.contains("ecr:"), "{err}");
    assert_eq!(registry.count(&["POST "]), 1, "{}", registry.log());
}

#[test]
fn a_random_file_is_no_image() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("random.bin");
    std::fs::write(
        &file,
        (0..4096u32)
            .map(|i| (i * 7919 % 251) as u8)
            .collect::<Vec<_>>(),
    )
    .unwrap();
    refused(
        &[
            "--from",
            file.to_str().unwrap(),
            "--to",
            &repo(),
            "--tag",
            "1",
        ],
        "not a readable tar",
    );
}

#[test]
fn an_empty_directory_is_no_layout() {
    let dir = tempfile::tempdir().unwrap();
    refused(
        &[
            "--from",
            dir.path().to_str().unwrap(),
            "--to",
            &repo(),
            "--tag",
            "1",
        ],
        "is not an OCI image layout",
    );
}

#[test]
fn a_truncated_archive_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let tar = dir.path().join("image.tar");
    oci_archive(&tar, &[("v1", &Image::small("trunc"))], Compression::Gzip);
    let bytes = std::fs::read(&tar).unwrap();
    std::fs::write(&tar, &bytes[..bytes.len() / 2]).unwrap();
    refused(
        &[
            "--from",
            tar.to_str().unwrap(),
            "--to",
            &repo(),
            "--tag",
            "1",
        ],
        "truncated",
    );
}

fn saved(image: &Image, form: DockerSave) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let tar = dir.path().join("save.tar");
    docker_save(&tar, image, "web:1", form);
    let path = tar.display().to_string();
    (dir, path)
}

/// Every layer of `image` (REGISTRY/REPO:TAG) as the registry holds it,
/// pulled by skopeo and decompressed as its media type says.
fn pulled_layers(image: &str) -> Vec<Vec<u8>> {
    let manifest = remote_manifest(image);
    let pulled = tempfile::tempdir().unwrap();
    let out = deploy_tests::tool("skopeo")
        .args([
            "copy",
            "--src-tls-verify=false",
            &format!("docker://{image}"),
        ])
        .args([format!("dir:{}", pulled.path().display())])
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|layer| {
            let name = layer["digest"]
                .as_str()
                .unwrap()
                .trim_start_matches("sha256:");
            let bytes = std::fs::read(pulled.path().join(name)).unwrap();
            let media_type = layer["mediaType"].as_str().unwrap();
            if media_type.ends_with("gzip") {
                let mut tar = Vec::new();
                std::io::Read::read_to_end(
                    &mut flate2::read::MultiGzDecoder::new(&bytes[..]),
                    &mut tar,
                )
                .unwrap();
                tar
            } else if media_type.ends_with("zstd") {
                zstd::stream::decode_all(&bytes[..]).unwrap()
            } else {
                bytes
            }
        })
        .collect()
}

fn remote_manifest(image: &str) -> serde_json::Value {
    let out = deploy_tests::tool("skopeo")
        .args([
            "inspect",
            "--raw",
            "--tls-verify=false",
            &format!("docker://{image}"),
        ])
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    serde_json::from_str(&out.stdout).unwrap()
}

/// Layers are gzip-compressed on the way; the registry's copy, pulled back
/// by skopeo and uncompressed, is the layer that was saved.
#[test]
fn a_docker_save_tar_is_pushed_with_gzip_layers_that_pull_back_intact() {
    let image = Image::small("save");
    let (_dir, tar) = saved(&image, DockerSave::Classic);
    let to = repo();
    let out = push()
        .args(["--from", &tar, "--to", &to, "--tag", "1"])
        .run();
    let doc = out.success();
    assert_eq!(
        doc["image"]["mediaType"],
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    let manifest = remote_manifest(&format!("{to}:1"));
    assert_eq!(
        manifest["config"]["digest"],
        deploy_tests::images::sha256(&image.config())
    );
    for layer in manifest["layers"].as_array().unwrap() {
        assert_eq!(
            layer["mediaType"],
            "application/vnd.docker.image.rootfs.diff.tar.gzip"
        );
    }
    let pulled = tempfile::tempdir().unwrap();
    let out = deploy_tests::tool("skopeo")
        .args([
            "copy",
            "--src-tls-verify=false",
            &format!("docker://{to}:1"),
            &format!("dir:{}", pulled.path().display()),
        ])
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    for (i, layer) in manifest["layers"].as_array().unwrap().iter().enumerate() {
        let gz = std::fs::read(
            pulled.path().join(
                layer["digest"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("sha256:"),
            ),
        )
        .unwrap();
        let mut tar = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(&gz[..]), &mut tar)
            .unwrap();
        assert_eq!(tar, image.layers[i], "layer {i} pulled back intact");
    }
}

/// One image gives one digest: deterministic compression, whichever form
/// of docker save wrote it, whichever repository it goes to.
/// A layer of several 1 MiB blocks is several gzip members: a Go client
/// (skopeo, as docker and containerd) decompresses it whole, and its
/// digest is the diff id the config says.
#[test]
fn a_layer_compressed_in_blocks_decompresses_whole_in_a_go_client() {
    let big: Vec<u8> = (0..3_500_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8 % 23)
        .collect();
    let image = Image::new(&[&[("data/big.bin", &big)]]);
    let (_dir, tar) = saved(&image, DockerSave::Classic);
    let to = repo();
    push()
        .args(["--from", &tar, "--to", &to, "--tag", "1"])
        .run()
        .success();
    // A docker-archive holds layers uncompressed: skopeo decompresses
    // (and checks) each one on the way.
    let pulled = tempfile::tempdir().unwrap();
    let archive = pulled.path().join("pulled.tar");
    let out = deploy_tests::tool("skopeo")
        .args([
            "copy",
            "--src-tls-verify=false",
            &format!("docker://{to}:1"),
        ])
        .args([format!("docker-archive:{}", archive.display())])
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let mut layers = Vec::new();
    let mut tar = tar::Archive::new(std::fs::File::open(&archive).unwrap());
    for entry in tar.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".tar") && entry.header().entry_type() == tar::EntryType::Regular {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut bytes).unwrap();
            layers.push(bytes);
        }
    }
    let got: Vec<(String, usize)> = layers
        .iter()
        .map(|l| (deploy_tests::images::sha256(l), l.len()))
        .collect();
    assert_eq!(
        got,
        [(image.diff_ids()[0].clone(), image.layers[0].len())],
        "the one layer, whole"
    );
}

#[test]
fn every_docker_save_form_gives_one_manifest_digest() {
    let image = Image::small("forms");
    let mut digests = Vec::new();
    for form in [
        DockerSave::Classic,
        DockerSave::ClassicSymlinks,
        DockerSave::Oci,
    ] {
        let (_dir, tar) = saved(&image, form);
        let out = push()
            .args(["--from", &tar, "--to", &repo(), "--tag", "1"])
            .run();
        digests.push(
            out.success()["image"]["digest"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    assert_eq!(digests[0], digests[1], "symlinked layers");
    assert_eq!(digests[0], digests[2], "Docker 25+");
}

/// With no local cache: the tag's manifest and config say which
/// compressed blob each layer became, so nothing is compressed or sent.
#[test]
fn pushing_a_docker_save_tar_again_uploads_nothing() {
    let (_dir, tar) = saved(&Image::small("save-again"), DockerSave::Classic);
    let to = repo();
    push()
        .args(["--from", &tar, "--to", &to, "--tag", "1"])
        .run()
        .success();
    let before = uploads(&to);
    let out = push()
        .args(["--from", &tar, "--to", &to, "--tag", "1"])
        .run();
    out.success();
    assert_eq!(uploads(&to), before, "the registry saw no upload");
    assert!(
        out.stderr
            .contains("0 blobs uploaded (0 bytes), 4 already there"),
        "{}",
        out.stderr
    );
}

#[test]
fn compress_none_pushes_layers_as_they_are() {
    let image = Image::small("none");
    let (_dir, tar) = saved(&image, DockerSave::Classic);
    let to = repo();
    push()
        .args([
            "--from",
            &tar,
            "--to",
            &to,
            "--tag",
            "1",
            "--compress",
            "none",
        ])
        .run()
        .success();
    let manifest = remote_manifest(&format!("{to}:1"));
    assert_eq!(
        manifest["layers"][0]["mediaType"],
        "application/vnd.docker.image.rootfs.diff.tar"
    );
    assert_eq!(
        manifest["layers"][0]["digest"].as_str().unwrap(),
        image.diff_ids()[0]
    );
}

#[test]
fn a_corrupt_layer_in_a_docker_save_tar_is_exit_2_and_nothing_is_tagged() {
    let image = Image::small("save-corrupt");
    let (dir, tar) = saved(&image, DockerSave::Classic);
    // The layer's bytes changed in place: the tar stays readable.
    let mut bytes = std::fs::read(&tar).unwrap();
    let at = bytes
        .windows(7)
        .position(|w| w == b"#!/bin/")
        .expect("the third layer's file");
    bytes[at + 2] = b'X';
    std::fs::write(&tar, bytes).unwrap();
    let to = repo();
    let out = push()
        .args(["--from", &tar, "--to", &to, "--tag", "1"])
        .run();
    let err = out.failure(2);
    assert!(err.contains("does not match its diff id"), "{err}");
    assert_not_pushed(&format!("{to}:1"));
    drop(dir);
}

#[test]
fn a_bad_tag_is_refused() {
    let (dir, _) = layout(&[("v1", &Image::small("badtag"))]);
    refused(
        &["--from", &from(&dir), "--to", &repo(), "--tag", "v1:latest"],
        "--tag \"v1:latest\"",
    );
}

#[test]
fn no_tag_is_refused() {
    let (dir, _) = layout(&[("v1", &Image::small("notag"))]);
    refused(&["--from", &from(&dir), "--to", &repo()], "no --tag");
}

#[test]
fn digest_only_with_a_tag_is_refused() {
    let (dir, _) = layout(&[("v1", &Image::small("both"))]);
    refused(
        &[
            "--from",
            &from(&dir),
            "--to",
            &repo(),
            "--tag",
            "1",
            "--digest-only",
        ],
        "--digest-only",
    );
}

#[test]
fn an_unreachable_registry_is_a_failure_naming_it() {
    let (dir, _) = layout(&[("v1", &Image::small("unreach"))]);
    let out = push()
        .args([
            "--from",
            &from(&dir),
            "--to",
            "127.0.0.1:1/web",
            "--tag",
            "1",
        ])
        .run();
    let err = out.failure(1);
    assert!(err.contains("127.0.0.1:1"), "{err}");
}

#[test]
fn an_upstream_failure_is_passed_on_without_pushing() {
    let (dir, _) = layout(&[("v1", &Image::small("upstream"))]);
    let to = repo();
    let out = push()
        .args(["--from", &from(&dir), "--to", &to, "--tag", "1"])
        .stdin(r#"{"error": {"tool": "ecr-login", "message": "m", "exitCode": 1}}"#)
        .run();
    out.failure_report(1);
    assert_not_pushed(&format!("{to}:1"));
}

/// moto's ECR name, served by the htpasswd registry through registries.conf.
use deploy_tests::ECR;

fn ecr_conf(dir: &tempfile::TempDir) -> String {
    deploy_tests::ecr_registries_conf(dir.path(), &emulators().registry_auth)
        .display()
        .to_string()
}

fn ecr_push(dir: &tempfile::TempDir, repository: &str, extra: &[&str]) -> Output {
    let conf = ecr_conf(dir);
    push()
        .aws()
        .args([
            "--from",
            &from(dir),
            "--to",
            &format!("{ECR}/{repository}"),
            "--tag",
            "1",
            "--registries-conf",
            &conf,
        ])
        .args(["--username", "AWS", "--password-stdin"])
        .args(extra)
        .stdin("123456789012-auth-token\n")
        .run()
}

fn ecr_repositories(name: &str) -> Vec<String> {
    let (_, body) = deploy_tests::moto_try_call(
        "ecr",
        "DescribeRepositories",
        &json!({"repositoryNames": [name]}),
    );
    body["repositories"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["repositoryName"].as_str().map(str::to_string))
        .collect()
}

/// ECR makes no repository on push: it answers the upload POST with 404
/// NAME_UNKNOWN (played by the scripted registry behind the ECR name; the
/// local registry creates repositories). Recognised from that answer, with
/// no ECR API call (a push-only role may not describe repositories), and
/// named with the flag and the command that creates it.
#[test]
fn a_missing_ecr_repository_is_refused_naming_the_flag() {
    let registry = ScriptedRegistry::start(&["POST:upload:NAME_UNKNOWN:0"]);
    let (dir, _) = layout(&[("v1", &Image::small("ecr-missing"))]);
    let conf = deploy_tests::ecr_registries_conf(dir.path(), &registry.address);
    let repository = unique("missing");
    let out = push()
        // An ECR API that answers nothing: none is asked.
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .args([
            "--from",
            &from(&dir),
            "--to",
            &format!("{ECR}/{repository}"),
            "--tag",
            "1",
            "--registries-conf",
            conf.to_str().unwrap(),
            "--jobs",
            "1",
        ])
        .run();
    let err = out.failure(1);
    assert!(
        err.contains(&format!(
            "ECR repository {repository:?} does not exist in {ECR}: pass --create-repository, or create it (aws ecr create-repository --repository-name {repository} --region us-east-1)"
        )),
        "{err}"
    );
    // Refused at the first upload: not tried again, nothing else sent.
    assert_eq!(registry.count(&["POST "]), 1, "{}", registry.log());
    assert_eq!(registry.count(&["PUT "]), 0, "{}", registry.log());
}

/// A push to the ECR name that the scripted registry behind it answers by
/// closing the connection on every upload, as ECR answers a push into a
/// repository that does not exist.
fn push_cut_off(repository: &str) -> Output {
    let registry = ScriptedRegistry::start(&["POST:upload:drop:0"]);
    let (dir, _) = layout(&[("v1", &Image::small("ecr-cut"))]);
    let conf = deploy_tests::ecr_registries_conf(dir.path(), &registry.address);
    push()
        .aws()
        .args([
            "--from",
            &from(&dir),
            "--to",
            &format!("{ECR}/{repository}"),
            "--tag",
            "1",
            "--registries-conf",
            conf.to_str().unwrap(),
            "--jobs",
            "1",
        ])
        .run()
}

/// Tried again, given up, then one DescribeRepositories says why.
#[test]
fn a_push_ecr_cuts_off_is_explained_when_the_repository_does_not_exist() {
    let repository = unique("cut");
    let out = push_cut_off(&repository);
    let err = out.failure(1);
    assert!(
        err.contains(&format!(
            "ECR repository {repository:?} does not exist in {ECR}: pass --create-repository"
        )),
        "{err}"
    );
    assert!(
        out.stderr.contains("the connection was cut; trying again"),
        "{}",
        out.stderr
    );
}

/// The repository is there: the cut connection was something else, and
/// the push's own error stands.
#[test]
fn a_push_cut_off_into_an_existing_repository_keeps_its_own_error() {
    let repository = unique("cut-there");
    deploy_tests::moto_call(
        "ecr",
        "CreateRepository",
        &json!({"repositoryName": repository}),
    );
    let out = push_cut_off(&repository);
    let err = out.failure(1);
    assert!(!err.contains("does not exist"), "{err}");
    assert!(err.contains("uploading blob"), "{err}");
}

#[test]
fn create_repository_creates_it_through_the_ecr_api() {
    let (dir, digests) = layout(&[("v1", &Image::small("ecr-create"))]);
    let repository = unique("created");
    let out = ecr_push(&dir, &repository, &["--create-repository"]);
    let doc = out.success();
    assert_eq!(
        doc["image"]["uri"],
        format!("{ECR}/{repository}@{}", digests[0])
    );
    assert_eq!(ecr_repositories(&repository), vec![repository.clone()]);
    assert!(
        out.stderr
            .contains(&format!("created ECR repository {repository}")),
        "{}",
        out.stderr
    );
}

/// Exit 2 promises no manifest and no tag, not that nothing was sent: a
/// corrupt layer found after --create-repository made the repository (and
/// the config went) says both.
#[test]
fn a_corrupt_layer_after_create_repository_says_what_was_made_and_sent() {
    let (dir, digests) = layout(&[("v1", &Image::small("ecr-corrupt"))]);
    let manifest = deploy_tests::read_json(blob_file(&dir, &digests[0]));
    let layer = manifest["layers"][1]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    corrupt(&blob_file(&dir, &layer));
    let repository = unique("corrupt");
    let out = ecr_push(&dir, &repository, &["--create-repository", "--jobs", "1"]);
    let err = out.failure(2);
    assert!(
        err.contains(&format!("blob {layer} does not match its digest")),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "before that, ECR repository {repository} was created, and "
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "uploaded to {ECR}/{repository}, which no manifest names"
        )),
        "{err}"
    );
    assert_eq!(ecr_repositories(&repository), vec![repository.clone()]);
}

#[test]
fn an_existing_ecr_repository_needs_no_flag() {
    let (dir, digests) = layout(&[("v1", &Image::small("ecr-existing"))]);
    let repository = unique("existing");
    deploy_tests::moto_call(
        "ecr",
        "CreateRepository",
        &json!({"repositoryName": repository}),
    );
    let doc = ecr_push(&dir, &repository, &[]).success();
    // The layout's own manifest, under the ECR name, and the registry
    // behind that name holds it under the tag.
    assert_eq!(doc["image"]["digest"], digests[0]);
    assert_eq!(
        doc["image"]["uri"],
        format!("{ECR}/{repository}@{}", digests[0])
    );
    assert_eq!(
        remote_digest_with_ecr_login(&format!("{}/{repository}:1", emulators().registry_auth)),
        digests[0]
    );
    assert_eq!(ecr_repositories(&repository), vec![repository.clone()]);
}

/// [`remote_digest`] on the htpasswd registry, with moto's ECR login.
fn remote_digest_with_ecr_login(image: &str) -> String {
    let out = deploy_tests::tool("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false"])
        .args(["--creds", "AWS:123456789012-auth-token"])
        .args([format!("docker://{image}")])
        .run();
    assert_eq!(out.code, 0, "skopeo inspect {image}: {}", out.stderr);
    deploy_tests::images::sha256(out.stdout.as_bytes())
}

#[test]
fn digest_only_pushes_the_manifest_with_no_tag() {
    let (dir, digests) = layout(&[("v1", &Image::small("digest-only"))]);
    let to = repo();
    let out = push()
        .args(["--from", &from(&dir), "--to", &to, "--digest-only"])
        .run();
    let doc = out.success();
    assert_eq!(doc["image"]["tags"], json!([]));
    assert_eq!(remote_digest(&format!("{to}@{}", digests[0])), digests[0]);
}

#[test]
fn digest_file_holds_the_digest() {
    let (dir, digests) = layout(&[("v1", &Image::small("digest-file"))]);
    let file = dir.path().join("digest.txt");
    push()
        .args([
            "--from",
            &from(&dir),
            "--to",
            &repo(),
            "--tag",
            "1",
            "--digest-file",
            file.to_str().unwrap(),
        ])
        .run()
        .success();
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        format!("{}\n", digests[0])
    );
}

/// Docker 25+ with the containerd image store saves layers gzip-compressed
/// (manifest.json over an OCI layout): they go as they are, their diff ids
/// checked by decompressing on the way.
#[test]
fn a_docker_save_tar_with_compressed_layers_sends_them_as_they_are() {
    use deploy_tests::images::{gzip, sha256};
    let image = Image::small("containerd");
    let layers: Vec<Vec<u8>> = image.layers.iter().map(|l| gzip(l)).collect();
    let config = image.config();
    let mut builder = tar::Builder::new(Vec::new());
    let mut add = |name: String, bytes: &[u8]| {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        builder.append_data(&mut header, name, bytes).unwrap();
    };
    let blob = |b: &[u8]| format!("blobs/sha256/{}", sha256(b).trim_start_matches("sha256:"));
    add(blob(&config), &config);
    for layer in &layers {
        add(blob(layer), layer);
    }
    let manifest = json!([{"Config": blob(&config), "RepoTags": ["web:1"], "Layers": layers.iter().map(|l| blob(l)).collect::<Vec<_>>()}]);
    add(
        "manifest.json".to_string(),
        &serde_json::to_vec(&manifest).unwrap(),
    );
    let dir = tempfile::tempdir().unwrap();
    let tar = dir.path().join("save.tar");
    std::fs::write(&tar, builder.into_inner().unwrap()).unwrap();
    let to = repo();
    push()
        .args(["--from", tar.to_str().unwrap(), "--to", &to, "--tag", "1"])
        .run()
        .success();
    let pushed = remote_manifest(&format!("{to}:1"));
    let digests: Vec<&str> = pushed["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["digest"].as_str().unwrap())
        .collect();
    let expected: Vec<String> = layers.iter().map(|l| sha256(l)).collect();
    assert_eq!(digests, expected, "the compressed layers, as they were");
}

#[test]
fn a_ref_that_names_two_images_is_ambiguous() {
    let (dir, _) = layout(&[
        ("web", &Image::small("amb1")),
        ("web", &Image::small("amb2")),
    ]);
    refused(
        &[
            "--from",
            &from(&dir),
            "--ref",
            "web",
            "--to",
            &repo(),
            "--tag",
            "1",
        ],
        "it is ambiguous",
    );
}

#[test]
fn a_destination_without_a_registry_host_is_refused() {
    let (dir, _) = layout(&[("v1", &Image::small("to1"))]);
    refused(
        &["--from", &from(&dir), "--to", "team/web", "--tag", "1"],
        "expected a registry host",
    );
}

#[test]
fn a_port_out_of_range_is_refused() {
    let (dir, _) = layout(&[("v1", &Image::small("to2"))]);
    refused(
        &[
            "--from",
            &from(&dir),
            "--to",
            "127.0.0.1:99999/web",
            "--tag",
            "1",
        ],
        "a port 1-65535",
    );
}

#[test]
fn a_scheme_in_the_destination_is_refused_saying_so() {
    let (dir, _) = layout(&[("v1", &Image::small("to3"))]);
    refused(
        &[
            "--from",
            &from(&dir),
            "--to",
            "https://registry.example.com/web",
            "--tag",
            "1",
        ],
        "with no scheme",
    );
}

#[test]
fn a_repository_with_doubled_dots_is_refused() {
    let (dir, _) = layout(&[("v1", &Image::small("to4"))]);
    refused(
        &[
            "--from",
            &from(&dir),
            "--to",
            &format!("{}/a..b", emulators().registry),
            "--tag",
            "1",
        ],
        "repository \"a..b\"",
    );
}

#[test]
fn a_gzip_compressed_docker_save_tar_gives_the_plain_ones_digest() {
    let image = Image::small("outer-gzip");
    let (_dir, tar) = saved(&image, DockerSave::Classic);
    let plain = push()
        .args(["--from", &tar, "--to", &repo(), "--tag", "1"])
        .run()
        .success();
    let gz = deploy_tests::images::gzip_file(std::path::Path::new(&tar));
    let to = repo();
    let out = push()
        .args(["--from", gz.to_str().unwrap(), "--to", &to, "--tag", "1"])
        .run();
    let doc = out.success();
    assert_eq!(doc["image"]["digest"], plain["image"]["digest"]);
    assert!(
        out.stderr.contains("a gzip-compressed tar"),
        "{}",
        out.stderr
    );
    assert_eq!(pulled_layers(&format!("{to}:1")), image.layers);
}

#[test]
fn a_zstd_compressed_oci_archive_is_pushed() {
    let dir = tempfile::tempdir().unwrap();
    let tar = dir.path().join("image.tar");
    let digests = oci_archive(
        &tar,
        &[("v1", &Image::small("outer-zstd"))],
        Compression::Gzip,
    );
    let zst = dir.path().join("image.tar.zst");
    std::fs::write(
        &zst,
        zstd::encode_all(&std::fs::read(&tar).unwrap()[..], 3).unwrap(),
    )
    .unwrap();
    let to = repo();
    let doc = push()
        .args(["--from", zst.to_str().unwrap(), "--to", &to, "--tag", "1"])
        .run()
        .success();
    assert_eq!(doc["image"]["digest"], digests[0]);
    assert_eq!(remote_digest(&format!("{to}:1")), digests[0]);
}

#[test]
fn a_truncated_gzip_tar_is_refused() {
    let (_dir, tar) = saved(&Image::small("outer-cut"), DockerSave::Classic);
    let gz = deploy_tests::images::gzip_file(std::path::Path::new(&tar));
    let bytes = std::fs::read(&gz).unwrap();
    std::fs::write(&gz, &bytes[..bytes.len() / 2]).unwrap();
    let to = repo();
    let out = push()
        .args(["--from", gz.to_str().unwrap(), "--to", &to, "--tag", "1"])
        .run();
    let err = out.failure(2);
    assert!(err.contains("not a readable gzip stream"), "{err}");
    assert_not_pushed(&format!("{to}:1"));
}

/// Zeros after the gzip stream (block padding, as tape tools and some
/// archivers leave) are ignored, as `gzip -d` ignores them.
#[test]
fn a_gzip_tar_padded_with_zeros_is_pushed() {
    let (_dir, tar) = saved(&Image::small("outer-pad"), DockerSave::Classic);
    let gz = deploy_tests::images::gzip_file(std::path::Path::new(&tar));
    // The same tar.gz unpadded first: the digest to get.
    let unpadded = push()
        .args([
            "--from",
            gz.to_str().unwrap(),
            "--to",
            &repo(),
            "--tag",
            "1",
        ])
        .run()
        .success();
    let want = unpadded["image"]["digest"].as_str().unwrap().to_string();
    let mut bytes = std::fs::read(&gz).unwrap();
    bytes.extend(std::iter::repeat_n(0u8, 10240));
    std::fs::write(&gz, &bytes).unwrap();
    let to = repo();
    let doc = push()
        .args(["--from", gz.to_str().unwrap(), "--to", &to, "--tag", "1"])
        .run()
        .success();
    assert_eq!(doc["image"]["digest"], want, "padding changed the image");
    assert_eq!(remote_digest(&format!("{to}:1")), want);
}

/// Anything else after the gzip stream is a bad file: exit 2, nothing sent.
#[test]
fn a_gzip_tar_with_data_after_the_stream_is_refused() {
    let (_dir, tar) = saved(&Image::small("outer-junk"), DockerSave::Classic);
    let gz = deploy_tests::images::gzip_file(std::path::Path::new(&tar));
    let mut bytes = std::fs::read(&gz).unwrap();
    bytes.extend(b"not padding");
    std::fs::write(&gz, &bytes).unwrap();
    let to = repo();
    let out = push()
        .args(["--from", gz.to_str().unwrap(), "--to", &to, "--tag", "1"])
        .run();
    let err = out.failure(2);
    assert!(err.contains("not zero padding"), "{err}");
    assert_not_pushed(&format!("{to}:1"));
}

/// zstd layers need an OCI manifest (Docker's schema 2 has no zstd type).
#[test]
fn compress_zstd_pushes_an_oci_manifest_with_zstd_layers_that_pull_back_intact() {
    let image = Image::small("zstd");
    let (_dir, tar) = saved(&image, DockerSave::Classic);
    let to = repo();
    let doc = push()
        .args([
            "--from",
            &tar,
            "--to",
            &to,
            "--tag",
            "1",
            "--compress",
            "zstd",
        ])
        .run()
        .success();
    assert_eq!(
        doc["image"]["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    let manifest = remote_manifest(&format!("{to}:1"));
    assert_eq!(
        manifest["config"]["mediaType"],
        "application/vnd.oci.image.config.v1+json"
    );
    for layer in manifest["layers"].as_array().unwrap() {
        assert_eq!(
            layer["mediaType"],
            "application/vnd.oci.image.layer.v1.tar+zstd"
        );
    }
    assert_eq!(pulled_layers(&format!("{to}:1")), image.layers);
}

/// A new tag alone: its layers are found through the image pushed before
/// under another tag, so none is compressed or sent again.
#[test]
fn reuse_from_finds_layers_pushed_under_another_tag() {
    let (_dir, tar) = saved(&Image::small("reuse"), DockerSave::Classic);
    let to = repo();
    push()
        .args(["--from", &tar, "--to", &to, "--tag", "1"])
        .run()
        .success();
    let out = push()
        .args([
            "--from",
            &tar,
            "--to",
            &to,
            "--tag",
            "2",
            "--reuse-from",
            "1",
        ])
        .run();
    out.success();
    assert!(
        out.stderr
            .contains("0 blobs uploaded (0 bytes), 4 already there"),
        "{}",
        out.stderr
    );
}

/// Found in another repository of the registry: mounted, not sent.
#[test]
fn reuse_from_another_repository_mounts_its_layers() {
    let image = Image::small("reuse-mount");
    let (_dir, tar) = saved(&image, DockerSave::Classic);
    let first = repo();
    push()
        .args(["--from", &tar, "--to", &first, "--tag", "1"])
        .run()
        .success();
    let (_, first_repository) = first.split_once('/').unwrap();
    let to = repo();
    let out = push()
        .args(["--from", &tar, "--to", &to, "--tag", "1"])
        .args(["--reuse-from", &format!("{first_repository}:1")])
        .run();
    out.success();
    assert!(
        out.stderr.contains("1 blobs uploaded")
            && out.stderr.contains("3 mounted from another repository"),
        "the config sent, the layers mounted: {}",
        out.stderr
    );
    assert_eq!(pulled_layers(&format!("{to}:1")), image.layers);
}

#[test]
fn mount_from_mounts_layout_blobs_from_another_repository() {
    let (dir, digests) = layout(&[("v1", &Image::small("mount"))]);
    let first = repo();
    push()
        .args(["--from", &from(&dir), "--to", &first, "--tag", "1"])
        .run()
        .success();
    let (_, first_repository) = first.split_once('/').unwrap();
    let to = repo();
    let out = push()
        .args(["--from", &from(&dir), "--to", &to, "--tag", "1"])
        .args(["--mount-from", first_repository])
        .run();
    out.success();
    assert!(
        out.stderr
            .contains("0 blobs uploaded (0 bytes), 0 already there (0 bytes), 4 mounted"),
        "{}",
        out.stderr
    );
    assert_eq!(remote_digest(&format!("{to}:1")), digests[0]);
    // Every blob readable in the new repository.
    assert_eq!(pulled_layers(&format!("{to}:1")).len(), 3);
}

#[test]
fn a_bad_reuse_from_is_refused() {
    let (dir, _) = layout(&[("v1", &Image::small("bad-reuse"))]);
    let out = push()
        .args(["--from", &from(&dir), "--to", &repo(), "--tag", "1"])
        .args(["--reuse-from", "web:bad tag"])
        .run();
    assert!(out.failure(2).contains("--reuse-from"), "{}", out.stderr);
}

#[test]
fn a_bad_mount_from_is_refused() {
    let (dir, _) = layout(&[("v1", &Image::small("bad-mount"))]);
    let out = push()
        .args(["--from", &from(&dir), "--to", &repo(), "--tag", "1"])
        .args(["--mount-from", "Team/Web"])
        .run();
    assert!(out.failure(2).contains("--mount-from"), "{}", out.stderr);
}

/// On a terminal (a pty from script(1)), each upload draws a bar.
#[test]
fn on_a_terminal_an_upload_draws_a_progress_bar() {
    let (dir, _) = layout(&[("v1", &Image::small("bar"))]);
    let command = format!(
        "{} --from {} --to {} --tag 1 >/dev/null",
        env!("CARGO_BIN_EXE_oci-push"),
        from(&dir),
        repo()
    );
    let out = deploy_tests::tool("script")
        .args(["-qec", &command, "/dev/null"])
        .env("TERM", "xterm")
        .run();
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert_eq!(
        out.stdout.matches("… uploaded (").count(),
        4,
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("] ") && out.stdout.contains("B/s") && out.stdout.contains("[="),
        "a bar: {:?}",
        out.stdout
    );
}

/// In a CI log (no terminal): one line a blob, no bar.
#[test]
fn in_a_log_each_blob_is_one_line_and_no_bar() {
    let (dir, _) = layout(&[("v1", &Image::small("no-bar"))]);
    let out = push()
        .args(["--from", &from(&dir), "--to", &repo(), "--tag", "1"])
        .run();
    out.success();
    assert_eq!(
        out.stderr.matches("… uploaded (").count(),
        4,
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("B/s") && !out.stderr.contains('\r'),
        "{:?}",
        out.stderr
    );
}

// Failures a real registry will not produce on cue, from a scripted one.
use deploy_tests::scripted::ScriptedRegistry;

/// oci-push --from FROM --to SCRIPTED/web, and `extra`.
fn push_to(registry: &ScriptedRegistry, from: &str, extra: &[&str]) -> Output {
    push()
        .args(["--from", from, "--to", &format!("{}/web", registry.address)])
        .args(extra)
        .run()
}

#[test]
fn a_503_on_a_blob_upload_is_tried_again() {
    let registry = ScriptedRegistry::start(&["PUT:upload:503:2"]);
    let (dir, digests) = layout(&[("v1", &Image::small("retry"))]);
    let out = push_to(&registry, &from(&dir), &["--tag", "1", "--jobs", "1"]);
    assert_eq!(out.success()["image"]["digest"], digests[0]);
    assert_eq!(
        out.stderr.matches("HTTP 503; trying again").count(),
        2,
        "{}",
        out.stderr
    );
    assert_eq!(
        registry.count(&["PUT /v2/web/blobs/uploads/", " 201"]),
        4,
        "{}",
        registry.log()
    );
}

/// The registry stored the blob but its answer was lost: the retry finds it
/// there and does not send it again.
#[test]
fn a_blob_committed_before_a_lost_answer_is_not_sent_again() {
    let registry = ScriptedRegistry::start(&["PUT:upload:+503:1"]);
    let (dir, _) = layout(&[("v1", &Image::small("retry-commit"))]);
    let out = push_to(&registry, &from(&dir), &["--tag", "1", "--jobs", "1"]);
    out.success();
    assert_eq!(
        registry.count(&["PUT /v2/web/blobs/uploads/"]),
        4,
        "4 blobs, each sent once: {}",
        registry.log()
    );
}

#[test]
fn retries_are_bounded_and_the_failure_names_the_status() {
    let registry = ScriptedRegistry::start(&["PUT:upload:503:0"]);
    let (dir, _) = layout(&[("v1", &Image::small("retry-bounded"))]);
    let out = push_to(&registry, &from(&dir), &["--tag", "1", "--jobs", "1"]);
    let err = out.failure(1);
    assert!(err.contains("503"), "{err}");
    assert_eq!(
        registry.count(&["PUT /v2/web/blobs/uploads/", " 503"]),
        4,
        "{}",
        registry.log()
    );
    assert_eq!(
        registry.count(&["PUT /v2/web/manifests/"]),
        0,
        "no manifest: {}",
        registry.log()
    );
}

/// A proxy refusing the streamed body (413): exit 1 with the status, not
/// "the upload stopped", and no manifest.
#[test]
fn a_413_on_a_streamed_layer_is_exit_1_naming_the_status() {
    let registry = ScriptedRegistry::start(&["PATCH:upload:413:0"]);
    let (_dir, tar) = saved(&Image::small("too-large"), DockerSave::Classic);
    let out = push_to(&registry, &tar, &["--tag", "1"]);
    let err = out.failure(1);
    assert!(err.contains("413"), "{err}");
    assert_eq!(
        registry.count(&["PUT /v2/web/manifests/"]),
        0,
        "no manifest: {}",
        registry.log()
    );
}

/// ECR answers a manifest PUT with no Location: pushed all the same (the
/// by-digest push used to panic inside oci-client).
#[test]
fn a_manifest_put_by_digest_answered_without_location_is_pushed() {
    let registry = ScriptedRegistry::start(&["PUT:manifest:bare:0"]);
    let (dir, digests) = layout(&[("v1", &Image::small("bare"))]);
    let out = push_to(&registry, &from(&dir), &["--digest-only"]);
    assert_eq!(out.success()["image"]["digest"], digests[0]);
    assert_eq!(
        registry.count(&[&format!("PUT /v2/web/manifests/{} 201", digests[0])]),
        1,
        "{}",
        registry.log()
    );
}

/// With tags, the manifest goes straight to the first tag (a PUT by digest
/// first was one more round trip for nothing: a refused manifest is
/// refused at the first tag, before any tag moves).
#[test]
fn a_manifest_put_at_a_tag_answered_without_location_is_pushed_once_a_tag() {
    let registry = ScriptedRegistry::start(&["PUT:manifest:bare:0"]);
    let (dir, digests) = layout(&[("v1", &Image::small("bare-tag"))]);
    let out = push_to(&registry, &from(&dir), &["--tag", "1", "--tag", "2"]);
    assert_eq!(out.success()["image"]["digest"], digests[0]);
    assert_eq!(
        registry.count(&["PUT /v2/web/manifests/", " 201"]),
        2,
        "one PUT a tag, none by digest: {}",
        registry.log()
    );
}

#[test]
fn a_registry_that_stops_answering_times_out() {
    let registry = ScriptedRegistry::start(&["HEAD:blob:stall:0"]);
    let (dir, _) = layout(&[("v1", &Image::small("stall"))]);
    let out = push_to(
        &registry,
        &from(&dir),
        &["--tag", "1", "--timeout", "1", "--jobs", "1"],
    );
    let err = out.failure(1);
    assert!(err.contains("timed out"), "{err}");
    assert!(out.stderr.contains("trying again"), "{}", out.stderr);
}

// Editing a layout the tests wrote, as other tools write theirs.

fn blob_path(dir: &std::path::Path, digest: &str) -> std::path::PathBuf {
    dir.join("blobs/sha256")
        .join(digest.trim_start_matches("sha256:"))
}

fn read_blob_json(dir: &std::path::Path, digest: &str) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(blob_path(dir, digest)).unwrap()).unwrap()
}

/// Writes `value` as a blob; its descriptor (mediaType from the value).
fn put_json(dir: &std::path::Path, value: &serde_json::Value) -> serde_json::Value {
    let bytes = serde_json::to_vec(value).unwrap();
    let digest = deploy_tests::images::sha256(&bytes);
    std::fs::write(blob_path(dir, &digest), &bytes).unwrap();
    json!({"mediaType": value["mediaType"], "digest": digest, "size": bytes.len()})
}

/// index.json's first entry now names `descriptor` (its annotations kept).
fn point_index_json_at(dir: &std::path::Path, descriptor: &serde_json::Value) {
    let path = dir.join("index.json");
    let mut index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    for key in ["mediaType", "digest", "size"] {
        index["manifests"][0][key] = descriptor[key].clone();
    }
    std::fs::write(&path, serde_json::to_vec(&index).unwrap()).unwrap();
}

#[test]
fn pushing_an_uncompressed_multi_platform_layout_again_uploads_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let arm = Image::small("multi-raw-arm").for_platform("linux", "arm64");
    oci_layout_multi(
        dir.path(),
        "web",
        &[&Image::small("multi-raw-amd"), &arm],
        Compression::None,
    );
    let to = repo();
    let first = push()
        .args(["--from", &from(&dir), "--to", &to, "--tag", "1"])
        .run();
    let digest = first.success()["image"]["digest"].clone();
    let before = uploads(&to);
    let out = push()
        .args(["--from", &from(&dir), "--to", &to, "--tag", "1"])
        .run();
    assert_eq!(out.success()["image"]["digest"], digest);
    assert_eq!(uploads(&to), before, "the registry saw no upload");
}

/// A layout whose manifest has Docker's media types (skopeo can write
/// them): zstd is refused before any request.
#[test]
fn zstd_for_a_docker_schema_2_layout_is_refused_before_anything_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let digests = oci_layout(
        dir.path(),
        &[("v1", &Image::small("docker-types"))],
        Compression::None,
    );
    let mut manifest = read_blob_json(dir.path(), &digests[0]);
    manifest["mediaType"] = json!("application/vnd.docker.distribution.manifest.v2+json");
    manifest["config"]["mediaType"] = json!("application/vnd.docker.container.image.v1+json");
    for layer in manifest["layers"].as_array_mut().unwrap() {
        layer["mediaType"] = json!("application/vnd.docker.image.rootfs.diff.tar");
    }
    point_index_json_at(dir.path(), &put_json(dir.path(), &manifest));
    // To ECR with --create-repository: not even the repository is made.
    let repository = unique("zstd-docker");
    let out = ecr_push(
        &dir,
        &repository,
        &["--compress", "zstd", "--create-repository"],
    );
    let err = out.failure(2);
    assert!(
        err.contains("--compress zstd") && err.contains("Docker schema 2"),
        "{err}"
    );
    assert_eq!(ecr_repositories(&repository), Vec::<String>::new());
}

/// buildx puts an attestation beside each image in the index, naming its
/// image by an annotation (and OCI 1.1 referrers by `subject`): when the
/// image's manifest is rewritten, both follow it.
#[test]
fn an_attestation_follows_the_image_manifest_it_names_when_that_is_rewritten() {
    use deploy_tests::images::sha256;
    let dir = tempfile::tempdir().unwrap();
    let arm = Image::small("attest-arm").for_platform("linux", "arm64");
    let index_digest = oci_layout_multi(
        dir.path(),
        "web",
        &[&Image::small("attest-amd"), &arm],
        Compression::None,
    );
    let mut index = read_blob_json(dir.path(), &index_digest);
    let image = index["manifests"][0].clone();
    let config = b"{}";
    let statement = br#"{"_type":"https://in-toto.io/Statement/v0.1"}"#;
    for bytes in [&config[..], &statement[..]] {
        std::fs::write(blob_path(dir.path(), &sha256(bytes)), bytes).unwrap();
    }
    let attestation = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256(config), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.in-toto+json", "digest": sha256(statement), "size": statement.len()}],
        "subject": {"mediaType": image["mediaType"], "digest": image["digest"], "size": image["size"]},
    });
    let mut entry = put_json(dir.path(), &attestation);
    entry["platform"] = json!({"os": "unknown", "architecture": "unknown"});
    entry["annotations"] = json!({
        "vnd.docker.reference.type": "attestation-manifest",
        "vnd.docker.reference.digest": image["digest"],
    });
    index["manifests"].as_array_mut().unwrap().push(entry);
    point_index_json_at(dir.path(), &put_json(dir.path(), &index));

    let to = repo();
    push()
        .args(["--from", &from(&dir), "--to", &to, "--tag", "1"])
        .run()
        .success();
    let pushed = remote_manifest(&format!("{to}:1"));
    let new_image = pushed["manifests"][0]["digest"].as_str().unwrap();
    assert_ne!(new_image, image["digest"].as_str().unwrap(), "rewritten");
    let entry = &pushed["manifests"][2];
    assert_eq!(
        entry["annotations"]["vnd.docker.reference.digest"],
        new_image
    );
    let attestation = remote_manifest(&format!("{to}@{}", entry["digest"].as_str().unwrap()));
    assert_eq!(attestation["subject"]["digest"], new_image);
}

#[test]
fn a_pipe_as_from_is_refused_saying_why() {
    let (_dir, tar) = saved(&Image::small("pipe"), DockerSave::Classic);
    let to = repo();
    let script = format!(
        "{} --from <(cat {tar}) --to {to} --tag 1",
        env!("CARGO_BIN_EXE_oci-push")
    );
    let out = deploy_tests::tool("bash").args(["-c", &script]).run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("not a regular file"), "{}", out.stderr);
}

#[test]
fn mount_from_with_a_docker_save_tar_says_what_it_cannot_mount() {
    let (_dir, tar) = saved(&Image::small("mount-save"), DockerSave::Classic);
    let out = push()
        .args(["--from", &tar, "--to", &repo(), "--tag", "1"])
        .args(["--mount-from", "elsewhere/web"])
        .run();
    out.success();
    assert!(
        out.stderr
            .contains("--mount-from elsewhere/web: a docker save tar's layers have no digest"),
        "{}",
        out.stderr
    );
}

/// Every tag already names the manifest: the registry holds every blob it
/// names, so none is asked about (one request a tag, not one a blob).
#[test]
fn an_unchanged_re_push_asks_about_no_blob() {
    let (dir, _) = layout(&[("v1", &Image::small("no-head"))]);
    let to = repo();
    push()
        .args(["--from", &from(&dir), "--to", &to, "--tag", "1"])
        .run()
        .success();
    let (_, repository) = to.split_once('/').unwrap();
    let before = deploy_tests::registry_requests(repository).len();
    push()
        .args(["--from", &from(&dir), "--to", &to, "--tag", "1"])
        .run()
        .success();
    let after = deploy_tests::registry_requests(repository);
    let blobs: Vec<&String> = after[before..]
        .iter()
        .filter(|r| r.contains("/blobs/"))
        .collect();
    assert_eq!(blobs, Vec::<&String>::new(), "{:#?}", &after[before..]);
}

/// What a first push asks about its tags: one HEAD a tag, and no GET after
/// a HEAD that said 404 (oci-client's lookup asked both).
#[test]
fn a_first_push_asks_each_tag_with_one_head() {
    let (dir, _) = layout(&[("v1", &Image::small("one-head"))]);
    let to = repo();
    push()
        .args([
            "--from",
            &from(&dir),
            "--to",
            &to,
            "--tag",
            "1",
            "--tag",
            "2",
        ])
        .run()
        .success();
    let (_, repository) = to.split_once('/').unwrap();
    let asked: Vec<String> = deploy_tests::registry_requests(repository)
        .into_iter()
        .filter(|r| (r.starts_with("HEAD ") || r.starts_with("GET ")) && r.contains("/manifests/"))
        .collect();
    let mut asked = asked;
    asked.sort();
    assert_eq!(
        asked,
        [
            format!("HEAD /v2/{repository}/manifests/1 404"),
            format!("HEAD /v2/{repository}/manifests/2 404"),
        ]
    );
}

/// A registry that answers HEAD with no Docker-Content-Digest: the tag's
/// manifest is fetched and hashed, and a re-push still finds it right.
#[test]
fn a_tag_head_without_a_digest_is_checked_by_its_bytes() {
    let registry = ScriptedRegistry::start(&["HEAD:manifest:bare:0"]);
    let (dir, _) = layout(&[("v1", &Image::small("no-digest"))]);
    push_to(&registry, &from(&dir), &["--tag", "1"]).success();
    let out = push_to(&registry, &from(&dir), &["--tag", "1"]);
    out.success();
    assert!(
        out.stderr.contains("1 of 1 tags already right"),
        "{}",
        out.stderr
    );
    assert_eq!(
        registry.count(&["GET /v2/web/manifests/1 200"]),
        1,
        "{}",
        registry.log()
    );
    assert_eq!(
        registry.count(&["PUT /v2/web/manifests/"]),
        1,
        "{}",
        registry.log()
    );
}

// The digest file: checked before anything is sent, written 0600 when new;
// a compressed tar's decompressed copy: never left in $TMPDIR.

/// oci-push as a shell with `umask 000` runs it.
fn push_under_umask_000() -> Tool {
    deploy_tests::tool("bash").args([
        "-c",
        "umask 000; exec \"$0\" \"$@\"",
        env!("CARGO_BIN_EXE_oci-push"),
    ])
}

/// The permission bits of `path`.
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

/// Every name in `dir`, sorted.
fn names_in(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A push with `--digest-file path` refused (exit 2) before the registry
/// heard anything; the message.
#[track_caller]
fn digest_file_refused(path: &str, seed: &str) -> String {
    let registry = ScriptedRegistry::start(&[]);
    let (dir, _) = layout(&[("v1", &Image::small(seed))]);
    let out = push_to(
        &registry,
        &from(&dir),
        &["--tag", "1", "--digest-file", path],
    );
    let err = out.failure(2).to_string();
    assert!(
        err.contains(&format!("--digest-file {path}: ")),
        "the flag and the path are named: {err}"
    );
    assert_eq!(registry.log(), "", "nothing may be sent");
    err
}

#[test]
fn a_digest_file_in_a_missing_directory_is_exit_2_before_anything_is_sent() {
    let err = digest_file_refused("/nonexistent/d", "digest-file-no-dir");
    assert!(
        err.contains("the directory /nonexistent does not exist"),
        "{err}"
    );
}

#[test]
fn a_digest_file_that_is_a_directory_is_exit_2_before_anything_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let err = digest_file_refused(dir.path().to_str().unwrap(), "digest-file-a-dir");
    assert!(err.contains("is a directory"), "{err}");
}

/// /proc takes no new file, even from root (the tests may run as root,
/// whom a mode 0555 directory does not stop).
#[test]
fn a_digest_file_in_a_directory_that_takes_no_file_is_exit_2_before_anything_is_sent() {
    let err = digest_file_refused("/proc/digest", "digest-file-proc");
    assert!(
        err.contains("the directory /proc cannot be written"),
        "{err}"
    );
}

#[test]
fn a_new_digest_file_is_0600_under_umask_000() {
    let (dir, digests) = layout(&[("v1", &Image::small("digest-file-0600"))]);
    let file = dir.path().join("digest.txt");
    push_under_umask_000()
        .args([
            "--from",
            &from(&dir),
            "--to",
            &repo(),
            "--tag",
            "1",
            "--digest-file",
            file.to_str().unwrap(),
        ])
        .run()
        .success();
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        format!("{}\n", digests[0])
    );
    assert_eq!(mode(&file), 0o600);
}

/// The file is replaced through a temporary file and a rename: the old
/// file's mode is carried over, and nothing else is left in its directory.
#[test]
fn an_existing_digest_file_keeps_its_mode_and_nothing_else_is_left() {
    use std::os::unix::fs::PermissionsExt;
    let (src, digests) = layout(&[("v1", &Image::small("digest-file-kept"))]);
    let out_dir = tempfile::tempdir().unwrap();
    let file = out_dir.path().join("digest.txt");
    std::fs::write(
        &file,
        "an older digest, longer than the new one by far, far, far\n",
    )
    .unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    push_under_umask_000()
        .args([
            "--from",
            &from(&src),
            "--to",
            &repo(),
            "--tag",
            "1",
            "--digest-file",
            file.to_str().unwrap(),
        ])
        .run()
        .success();
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        format!("{}\n", digests[0])
    );
    assert_eq!(mode(&file), 0o644);
    assert_eq!(names_in(out_dir.path()), ["digest.txt"]);
}

/// A push of a gzipped docker-save tar with a TMPDIR of its own, to a
/// registry that never answers a manifest PUT, sent `signal` once the
/// registry has heard from it (the tar is decompressed by then); returns
/// the run and its TMPDIR.
fn signalled_mid_push(signal: &str) -> (Output, tempfile::TempDir) {
    let registry = ScriptedRegistry::start(&["PUT:manifest:stall:0"]);
    let (_dir, tar) = saved(&Image::small(&unique("signal")), DockerSave::Classic);
    let gz = deploy_tests::images::gzip_file(std::path::Path::new(&tar));
    let tmp = tempfile::tempdir().unwrap();
    let pid_file = tmp.path().with_extension("pid");
    let run = deploy_tests::tool("bash")
        .args([
            "-c",
            "echo $$ > \"$PID_FILE\"; exec \"$0\" \"$@\"",
            env!("CARGO_BIN_EXE_oci-push"),
            "--from",
            gz.to_str().unwrap(),
            "--to",
            &format!("{}/web", registry.address),
            "--tag",
            "1",
        ])
        .env("PID_FILE", &pid_file)
        .env("TMPDIR", tmp.path())
        .timeout(std::time::Duration::from_secs(30));
    let out = std::thread::scope(|scope| {
        scope.spawn(|| {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(25);
            while registry.count(&["/v2/web/"]) == 0 {
                assert!(
                    std::time::Instant::now() < deadline,
                    "the push never reached the registry"
                );
            }
            let pid = std::fs::read_to_string(&pid_file).unwrap();
            let sent = std::process::Command::new("kill")
                .args([&format!("-{signal}"), pid.trim()])
                .status()
                .unwrap();
            assert!(sent.success(), "kill -{signal} {pid}");
        });
        run.run()
    });
    let _ = std::fs::remove_file(&pid_file);
    assert_eq!(
        out.code, -1,
        "killed by SIG{signal}; stderr:\n{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("a gzip-compressed tar"),
        "the tar was decompressed: {}",
        out.stderr
    );
    (out, tmp)
}

#[test]
fn sigterm_during_a_push_of_a_tar_gz_leaves_nothing_in_tmpdir() {
    let (_, tmp) = signalled_mid_push("TERM");
    assert_eq!(names_in(tmp.path()), Vec::<String>::new());
}

#[test]
fn sigint_during_a_push_of_a_tar_gz_leaves_nothing_in_tmpdir() {
    let (_, tmp) = signalled_mid_push("INT");
    assert_eq!(names_in(tmp.path()), Vec::<String>::new());
}

#[test]
fn sigkill_during_a_push_of_a_tar_gz_leaves_nothing_in_tmpdir() {
    let (_, tmp) = signalled_mid_push("KILL");
    assert_eq!(names_in(tmp.path()), Vec::<String>::new());
}

/// A registry whose upload Location is on another host (a storage
/// service, or an attacker's): the upload goes there, the registry's
/// credentials do not. The second registry records whether a request
/// carried an Authorization header.
#[test]
fn credentials_are_not_sent_to_an_upload_location_on_another_host() {
    let storage = ScriptedRegistry::start(&[]);
    let host = format!("upload-host={}", storage.address);
    let registry = ScriptedRegistry::start(&[host.as_str()]);
    let dir = tempfile::tempdir().unwrap();
    let tar = dir.path().join("image.tar");
    docker_save(
        &tar,
        &Image::small("elsewhere"),
        "web:1",
        DockerSave::Classic,
    );
    let out = push()
        .args([
            "--from",
            tar.to_str().unwrap(),
            "--to",
            &format!("{}/web", registry.address),
        ])
        .args(["--tag", "1", "--username", "ci-user", "--password-stdin"])
        .stdin("pw-for-the-registry-only\n")
        .run();
    out.success();
    assert!(
        registry.count(&["POST /v2/web/blobs/uploads/", " auth"]) > 0,
        "the registry itself gets the credentials: {}",
        registry.log()
    );
    assert!(
        storage.count(&["PATCH /v2/web/blobs/uploads/"]) > 0,
        "the upload went to the other host: {}",
        storage.log()
    );
    assert_eq!(
        storage.count(&[" auth"]),
        0,
        "credentials reached the other host: {}",
        storage.log()
    );
}

/// The same for an OCI layout, whose blobs (digests known) go in one PUT
/// each: the one uploader keeps the credentials home on both paths.
#[test]
fn credentials_are_not_sent_with_a_layouts_blobs_to_another_host() {
    let storage = ScriptedRegistry::start(&[]);
    let host = format!("upload-host={}", storage.address);
    let registry = ScriptedRegistry::start(&[host.as_str()]);
    let (dir, digests) = layout(&[("v1", &Image::small("elsewhere-oci"))]);
    let out = push()
        .args([
            "--from",
            &from(&dir),
            "--to",
            &format!("{}/web", registry.address),
        ])
        .args(["--tag", "1", "--username", "ci-user", "--password-stdin"])
        .stdin("pw-for-the-registry-only\n")
        .run();
    assert_eq!(out.success()["image"]["digest"], digests[0]);
    assert!(
        registry.count(&["POST /v2/web/blobs/uploads/", " auth"]) > 0,
        "the registry itself gets the credentials: {}",
        registry.log()
    );
    assert!(
        storage.count(&["PUT /v2/web/blobs/uploads/"]) > 0,
        "the blobs went to the other host: {}",
        storage.log()
    );
    assert_eq!(
        storage.count(&[" auth"]),
        0,
        "credentials reached the other host: {}",
        storage.log()
    );
}

/// `len` bytes that do not compress (xorshift from `seed`): a layer the
/// same size on the wire as on disk.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// 12 MiB through a link of 2 MiB/s takes 6 s, twice `--idle-timeout 3s`:
/// bytes keep going, so it is pushed. Under the old per-request time-out,
/// which ran from the request's start, it failed on every try.
#[test]
fn a_layer_slower_than_the_idle_timeout_but_moving_is_pushed() {
    use deploy_tests::scripted::SlowProxy;
    let layer = noise(7, 12 << 20);
    let image = Image::new(&[&[("blob.bin", &layer)]]);
    let (dir, digests) = layout(&[("v1", &image)]);
    let proxy = SlowProxy::start(&emulators().registry, 2 << 20, 0);
    let to = format!("{}/{}", proxy.address, unique("slow"));
    let out = push()
        .args([
            "--from",
            &from(&dir),
            "--to",
            &to,
            "--tag",
            "1",
            "--idle-timeout",
            "3s",
        ])
        .timeout(std::time::Duration::from_secs(120))
        .run();
    assert_eq!(out.success()["image"]["digest"], digests[0]);
    assert!(!out.stderr.contains("trying again"), "{}", out.stderr);
}

/// A link that stops forwarding after 1 MiB of a 12 MiB layer (a docker
/// save tar, compressed on the way: the other uploader): each try ends
/// once nothing has moved for `--idle-timeout`, and the push fails saying so.
#[test]
fn a_link_that_stops_fails_each_try_after_the_idle_timeout() {
    use deploy_tests::scripted::SlowProxy;
    let layer = noise(11, 12 << 20);
    let image = Image::new(&[&[("blob.bin", &layer)]]);
    let dir = tempfile::tempdir().unwrap();
    let tar = dir.path().join("image.tar");
    docker_save(&tar, &image, "web:1", DockerSave::Classic);
    let proxy = SlowProxy::start(&emulators().registry, 64 << 20, 1 << 20);
    let to = format!("{}/{}", proxy.address, unique("stall"));
    let out = push()
        .args([
            "--from",
            tar.to_str().unwrap(),
            "--to",
            &to,
            "--tag",
            "1",
            "--idle-timeout",
            "2s",
        ])
        .timeout(std::time::Duration::from_secs(90))
        .run();
    let err = out.failure(1);
    assert!(
        err.contains("nothing sent or received for 2s (--idle-timeout)"),
        "{err}"
    );
}
