//! The release as users install it, with no network: `scripts/dist.sh`
//! packs this run's debug build (the archive and SHA256SUMS a release
//! uploads), a loopback HTTP server (Python's http.server) serves them as
//! a fake release, and `scripts/install.sh` (under dash, as POSIX sh) and
//! `action.yml`'s step (in bash, with the variables a runner sets) install
//! from it.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use deploy_tests::{Output, TOOLS, root, tool, workspace_bin};
use serde_json::Value;

/// The workspace's version, as dist.sh names the archive.
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// This machine's target triple, as the installer names it (the tests run
/// on Linux).
fn target() -> String {
    assert_eq!(
        std::env::consts::OS,
        "linux",
        "the release tests run on Linux"
    );
    format!("{}-unknown-linux-gnu", std::env::consts::ARCH)
}

/// `scripts/dist.sh --profile debug --out DIR` of the binaries this test
/// run built.
fn pack(out: &Path) -> Output {
    workspace_bin("deploykit");
    workspace_bin("dist");
    let run = tool("bash")
        .args([root().join("scripts/dist.sh").as_os_str()])
        .args(["--profile", "debug", "--target", &target(), "--out"])
        .args([out])
        .env("DIST_BUILD", "0")
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .current_dir(root())
        .run();
    assert_eq!(run.code, 0, "dist.sh: {}", run.stderr);
    run
}

/// One fake release for every test here: its directory.
fn release() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(deploy_tests::unique("deploykit-release"));
        pack(&dir);
        dir
    })
}

fn archive_name() -> String {
    format!("deploykit-{VERSION}-{}.tar.gz", target())
}

/// Python's http.server over `dir` on loopback, until dropped.
struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(dir: &Path) -> Server {
    let mut child = Command::new("python3")
        .args([
            "-u",
            "-m",
            "http.server",
            "0",
            "--bind",
            "127.0.0.1",
            "--directory",
        ])
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting python3 -m http.server");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    // "Serving HTTP on 127.0.0.1 port 41234 (http://127.0.0.1:41234/) ..."
    let port = line
        .split_whitespace()
        .skip_while(|w| *w != "port")
        .nth(1)
        .unwrap_or_else(|| panic!("http.server said {line:?}"));
    Server {
        child,
        url: format!("http://127.0.0.1:{port}"),
    }
}

/// `dash scripts/install.sh --version VERSION --to TO --cache CACHE
/// --base-url URL MORE...`.
fn install(version: &str, url: &str, to: &Path, cache: &Path, more: &[&str]) -> Output {
    tool("dash")
        .args([root().join("scripts/install.sh").as_os_str()])
        .args(["--version", version, "--base-url", url, "--to"])
        .args([to])
        .args(["--cache"])
        .args([cache])
        .args(more)
        .run()
}

#[test]
fn the_archive_holds_the_binary_its_links_completions_man_pages_readme_and_license() {
    let dir = release();
    let listing = tool("tar")
        .args(["-tvzf"])
        .args([dir.join(archive_name())])
        .run();
    assert_eq!(listing.code, 0, "{}", listing.stderr);
    let top = format!("deploykit-{VERSION}-{}", target());
    let has = |entry: &str| {
        listing
            .stdout
            .lines()
            .find(|l| l.contains(&format!(" {top}/{entry}")))
            .unwrap_or_else(|| panic!("no {entry} in\n{}", listing.stdout))
            .to_string()
    };
    let binary = has("bin/deploykit");
    assert!(binary.starts_with("-rwxr-xr-x 0/0 "), "{binary}");
    for name in TOOLS.iter().chain(["docker-credential-ecr-login"].iter()) {
        assert!(
            has(&format!("bin/{name}")).ends_with(&format!("bin/{name} -> deploykit")),
            "{name}"
        );
        if *name != "docker-credential-ecr-login" {
            has(&format!("share/man/man1/{name}.1"));
            has(&format!("share/bash-completion/completions/{name}"));
        }
    }
    has("README.md");
    has("LICENSE");
    let sums = std::fs::read_to_string(dir.join("SHA256SUMS")).unwrap();
    let digest = deploy_tests::images::sha256(&std::fs::read(dir.join(archive_name())).unwrap());
    assert_eq!(
        sums,
        format!(
            "{}  {}\n",
            digest.trim_start_matches("sha256:"),
            archive_name()
        )
    );
}

#[test]
fn two_packings_of_one_build_are_the_same_bytes() {
    let again = tempfile::tempdir().unwrap();
    pack(again.path());
    let first = std::fs::read(release().join(archive_name())).unwrap();
    let second = std::fs::read(again.path().join(archive_name())).unwrap();
    assert!(first == second, "the two archives differ");
}

#[test]
fn the_installer_installs_and_every_tool_answers() {
    let server = serve(release());
    let (to, cache) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let out = install(
        &format!("v{VERSION}"),
        &server.url,
        to.path(),
        cache.path(),
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    for name in TOOLS {
        let version = tool(to.path().join(name)).args(["--version"]).run();
        assert_eq!(
            version.stdout.trim(),
            format!("{name} {VERSION}"),
            "{}",
            version.stderr
        );
    }
}

#[test]
fn a_corrupted_archive_is_refused_and_nothing_installed() {
    let bad = tempfile::tempdir().unwrap();
    std::fs::copy(release().join("SHA256SUMS"), bad.path().join("SHA256SUMS")).unwrap();
    let mut bytes = std::fs::read(release().join(archive_name())).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(bad.path().join(archive_name()), bytes).unwrap();
    let server = serve(bad.path());
    let (to, cache) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let out = install(VERSION, &server.url, to.path(), cache.path(), &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("checksum mismatch") && out.stderr.contains("nothing installed"),
        "{}",
        out.stderr
    );
    assert_eq!(std::fs::read_dir(to.path()).unwrap().count(), 0);
    assert_eq!(std::fs::read_dir(cache.path()).unwrap().count(), 0);
}

#[test]
fn an_unknown_version_is_a_clear_error() {
    let empty = tempfile::tempdir().unwrap();
    let server = serve(empty.path());
    let to = tempfile::tempdir().unwrap();
    let out = install("v9.9.9", &server.url, to.path(), to.path(), &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "no release v9.9.9 at {} (SHA256SUMS could not be downloaded)",
            server.url
        )),
        "{}",
        out.stderr
    );
}

/// A mirror's URL with a login in it: the error names the mirror, never
/// the login.
#[test]
fn a_base_url_s_login_is_not_repeated() {
    let empty = tempfile::tempdir().unwrap();
    let server = serve(empty.path());
    let to = tempfile::tempdir().unwrap();
    let url = server
        .url
        .replace("http://", "http://mirror-user:s3cret-token@");
    let out = install("v9.9.9", &url, to.path(), to.path(), &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(!out.stderr.contains("s3cret-token"), "{}", out.stderr);
    assert!(
        out.stderr.contains("at http://***@127.0.0.1:"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_platform_without_a_build_is_named() {
    let server = serve(release());
    let to = tempfile::tempdir().unwrap();
    let out = install(
        VERSION,
        &server.url,
        to.path(),
        to.path(),
        &["--target", "riscv64gc-unknown-linux-gnu"],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "release {VERSION} has no build for riscv64gc-unknown-linux-gnu (it has: {} )",
            target()
        )),
        "{}",
        out.stderr
    );
}

#[test]
fn a_second_install_of_a_version_downloads_nothing() {
    let (to, cache) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let server = serve(release());
    let url = server.url.clone();
    assert_eq!(install(VERSION, &url, to.path(), cache.path(), &[]).code, 0);
    drop(server);
    std::fs::remove_file(to.path().join("deploykit")).unwrap();
    // The server is gone: only the cache can serve.
    let out = install(VERSION, &url, to.path(), cache.path(), &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("in the cache"), "{}", out.stderr);
    assert!(to.path().join("deploykit").is_file());
}

/// action.yml's step, run as a runner runs it: bash, its `env:` with the
/// expressions a runner would put there, and RUNNER_*, GITHUB_PATH,
/// GITHUB_OUTPUT, GITHUB_WORKSPACE set. Returns the run, the outputs file
/// and the PATH file.
fn run_action(inputs: &[(&str, &str)], runner: &Path, base_url: &str) -> (Output, String, String) {
    let python = root().join("target/tools/venv/bin/python");
    let parsed = tool(&python)
        .args([
            "-c",
            "import json,sys,yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
        ])
        .args([root().join("action.yml")])
        .run();
    assert_eq!(parsed.code, 0, "{}", parsed.stderr);
    let action: Value = serde_json::from_str(&parsed.stdout).unwrap();
    assert_eq!(action["runs"]["using"], "composite");
    let input = |name: &str| {
        inputs
            .iter()
            .find(|(k, _)| *k == name)
            .map_or(
                action["inputs"][name]["default"].as_str().unwrap(),
                |(_, v)| v,
            )
            .to_string()
    };
    let (github_path, github_output) = (runner.join("path"), runner.join("output"));
    let workspace = runner.join("workspace");
    std::fs::create_dir_all(&workspace).unwrap();
    let mut last = None;
    for step in action["runs"]["steps"].as_array().unwrap() {
        let mut run = tool("bash")
            .args(["-c", step["run"].as_str().unwrap()])
            .env("RUNNER_OS", "Linux")
            .env("RUNNER_ARCH", "X64")
            .env("RUNNER_TOOL_CACHE", runner.join("toolcache"))
            .env("GITHUB_PATH", &github_path)
            .env("GITHUB_OUTPUT", &github_output)
            .env("GITHUB_WORKSPACE", &workspace)
            .env("DEPLOYKIT_BASE_URL", base_url);
        for (key, value) in step["env"].as_object().into_iter().flatten() {
            let value = match value.as_str().unwrap() {
                "${{ inputs.version }}" => input("version"),
                "${{ inputs.version-file }}" => input("version-file"),
                "${{ github.action_path }}" => root().display().to_string(),
                "${{ github.action_repository || github.repository }}" => {
                    "example-org/deploykit".to_string()
                }
                other => panic!("action.yml: an env value the test does not know: {other}"),
            };
            run = run.env(key, value);
        }
        let out = run.run();
        assert_eq!(out.code, 0, "{}", out.stderr);
        last = Some(out);
    }
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    (
        last.expect("a step"),
        read(&github_output),
        read(&github_path),
    )
}

#[test]
fn the_action_installs_into_the_tool_cache_and_sets_path_and_outputs() {
    assert!(
        target().starts_with("x86_64-unknown-linux"),
        "the test runs as an X64 Linux runner"
    );
    let runner = tempfile::tempdir().unwrap();
    let server = serve(release());
    let (_, outputs, github_path) = run_action(&[], runner.path(), &server.url);
    let dir = runner
        .path()
        .join(format!("toolcache/deploykit/{VERSION}/x86_64/bin"));
    assert_eq!(github_path, format!("{}\n", dir.display()));
    assert_eq!(
        outputs,
        format!("version={VERSION}\npath={}\n", dir.display())
    );
    let out = tool(dir.join("ecs-wait")).args(["--version"]).run();
    assert_eq!(out.stdout.trim(), format!("ecs-wait {VERSION}"));
    // A second job on the same runner: the release is gone, the cache serves.
    drop(server);
    let (second, _, _) = run_action(&[], runner.path(), "http://127.0.0.1:9");
    assert!(second.stderr.contains("in the cache"), "{}", second.stderr);
}

#[test]
fn the_action_reads_the_version_from_version_file() {
    let runner = tempfile::tempdir().unwrap();
    let workspace = runner.path().join("workspace");
    std::fs::create_dir_all(&workspace).unwrap();
    std::fs::write(
        workspace.join(".deploykit-version"),
        format!("v{VERSION}\n"),
    )
    .unwrap();
    let server = serve(release());
    let (_, outputs, _) = run_action(
        &[("version-file", ".deploykit-version")],
        runner.path(),
        &server.url,
    );
    assert!(
        outputs.starts_with(&format!("version={VERSION}\n")),
        "{outputs}"
    );
}

/// The release's container image: scripts/scratch_image.py's layout of
/// the binary (this run's debug build standing in for the static one),
/// its links and a CA bundle, with the entrypoint and environment a
/// scratch image needs; and oci-push (through deploykit) pushes it.
#[test]
fn the_scratch_image_holds_the_binary_its_links_and_a_ca_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.crt");
    std::fs::write(
        &ca,
        "-----BEGIN CERTIFICATE-----\ntest\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let layout = dir.path().join("layout");
    let out = tool("python3")
        .args([root().join("scripts/scratch_image.py").as_os_str()])
        .args(["--binary"])
        .args([workspace_bin("deploykit")])
        .args(["--arch", "amd64", "--version", VERSION, "--ca"])
        .args([&ca])
        .args(["--out"])
        .args([&layout])
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let blob = |digest: &Value| {
        layout
            .join("blobs/sha256")
            .join(digest.as_str().unwrap().trim_start_matches("sha256:"))
    };
    let index = deploy_tests::read_json(layout.join("index.json"));
    let manifest = deploy_tests::read_json(blob(&index["manifests"][0]["digest"]));
    let config = deploy_tests::read_json(blob(&manifest["config"]["digest"]));
    assert_eq!(config["architecture"], "amd64");
    assert_eq!(config["os"], "linux");
    assert_eq!(
        config["config"]["Entrypoint"],
        serde_json::json!(["/bin/deploykit"])
    );
    let env = config["config"]["Env"].to_string();
    assert!(
        env.contains("PATH=/bin")
            && env.contains("SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"),
        "{env}"
    );
    // The one layer, unpacked: the binary runs as each tool by its link.
    let root_fs = dir.path().join("rootfs");
    std::fs::create_dir(&root_fs).unwrap();
    let unpacked = tool("tar")
        .args(["-xzf"])
        .args([blob(&manifest["layers"][0]["digest"])])
        .args(["-C"])
        .args([&root_fs])
        .run();
    assert_eq!(unpacked.code, 0, "{}", unpacked.stderr);
    for name in TOOLS {
        let link = root_fs.join("bin").join(name);
        assert_eq!(std::fs::read_link(&link).unwrap(), Path::new("deploykit"));
        let version = Command::new(&link).arg("--version").output().unwrap();
        assert_eq!(
            String::from_utf8_lossy(&version.stdout).trim(),
            format!("{name} {VERSION}")
        );
    }
    assert_eq!(
        std::fs::read(root_fs.join("etc/ssl/certs/ca-certificates.crt")).unwrap(),
        std::fs::read(&ca).unwrap()
    );
    // Pushed as the release workflow pushes it: oci-push, from the layout.
    let registry = &deploy_tests::emulators().registry;
    let repository = deploy_tests::unique("deploykit-image");
    let pushed = tool(workspace_bin("deploykit"))
        .args(["oci-push", "--from"])
        .args([&layout])
        .args([
            "--to",
            &format!("{registry}/{repository}"),
            "--tag",
            VERSION,
        ])
        .run();
    let doc = pushed.success();
    assert_eq!(
        doc["image"]["digest"], index["manifests"][0]["digest"],
        "{doc}"
    );
}

/// A binary that needs a newer glibc than the floor is refused: the debug
/// build of this machine (its glibc 2.3x) held to the floor, 2.17.
#[test]
fn a_binary_above_the_glibc_floor_is_refused() {
    workspace_bin("deploykit");
    let out_dir = tempfile::tempdir().unwrap();
    let out = tool("bash")
        .args([root().join("scripts/dist.sh").as_os_str()])
        .args(["--profile", "debug", "--target", &target(), "--out"])
        .args([out_dir.path()])
        .env("DIST_BUILD", "0")
        .env("DIST_CHECK_FLOOR", "1")
        .current_dir(root())
        .run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("needs glibc 2.") && out.stderr.contains("above the floor 2.17"),
        "{}",
        out.stderr
    );
    assert_eq!(std::fs::read_dir(out_dir.path()).unwrap().count(), 0);
}
