//! A real registry client reads what ecr-login writes: skopeo (Debian's,
//! installed by scripts/emulators.sh), against the Docker config as written.

use deploy_tests::{Tool, emulators};
use deploykit::registry::{Credentials, DockerConfig};

const HOST: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

fn skopeo() -> Tool {
    deploy_tests::tool("skopeo")
}

/// skopeo finds the login ecr-login stored, under the host alone.
#[test]
fn skopeo_reads_the_login_ecr_login_wrote() {
    let (out, home) = deploy_tests::tool(env!("CARGO_BIN_EXE_ecr-login"))
        .aws()
        .run_with_home();
    out.success();
    let config = home.path().join(".docker/config.json");
    let out = skopeo()
        .args([
            "login",
            "--get-login",
            "--authfile",
            config.to_str().unwrap(),
            HOST,
        ])
        .run();
    assert_eq!((out.code, out.stdout.trim()), (0, "AWS"), "{}", out.stderr);
}

/// The same format, written by the same module for the emulators'
/// htpasswd registry: skopeo authenticates with it (the registry then says
/// the repository is unknown), and is refused with a wrong password.
#[test]
fn skopeo_authenticates_with_a_login_in_that_format() {
    let emu = emulators();
    let run = |password: &str| {
        let dir = tempfile::tempdir().unwrap();
        let mut config = DockerConfig::load(dir.path()).unwrap();
        let creds = Credentials {
            username: emu.registry_user.clone(),
            password: password.to_string(),
        };
        config.set_auth(&emu.registry_auth, &creds, &[]);
        config.save().unwrap();
        let out = skopeo()
            .args(["list-tags", "--tls-verify=false", "--authfile"])
            .args([dir.path().join("config.json").to_str().unwrap()])
            .args([format!("docker://{}/no-such-repo", emu.registry_auth)])
            .run();
        (out.code, out.stderr.to_lowercase())
    };
    let (code, err) = run(&emu.registry_password);
    assert_ne!(code, 0);
    assert!(
        err.contains("404") && !err.contains("401"),
        "authenticated, then told the repository is not there: {err}"
    );
    let (code, err) = run("wrong-password");
    assert_ne!(code, 0);
    assert!(
        err.contains("unauthorized") || err.contains("authentication required"),
        "refused: {err}"
    );
}

/// The emulators' htpasswd registry stands in for ECR: the password
/// ecr-login gets from moto opens it (404 for a repository that is not
/// there), as oci-push will use it.
#[test]
fn the_password_from_moto_opens_the_registry_standing_in_for_ecr() {
    let out = deploy_tests::tool(env!("CARGO_BIN_EXE_ecr-login"))
        .aws()
        .args(["--password-stdout"])
        .prints_secret()
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let creds = format!("AWS:{}", out.stdout.trim_end());
    let out = skopeo()
        .args(["list-tags", "--tls-verify=false", "--creds", &creds])
        .args([format!(
            "docker://{}/no-such-repo",
            emulators().registry_auth
        )])
        .run();
    assert!(
        out.stderr.contains("404") && !out.stderr.contains("401"),
        "{}",
        out.stderr
    );
}
