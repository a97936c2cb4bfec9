//! `make install-files` (what `make install` does after its release build)
//! into a temporary PREFIX, from this test run's debug build: the
//! multicall binary and a link to it for each tool; every tool runs from
//! there, the credential helper's name answers as Docker asks,
//! and the completions and man pages are where shells and man look.

use deploy_tests::{TOOLS, root, workspace_bin};

#[test]
fn make_install_lays_out_binaries_completions_and_man_pages() {
    for tool in TOOLS.iter().chain(["dist", "deploykit"].iter()) {
        workspace_bin(tool);
    }
    let prefix = tempfile::tempdir().unwrap();
    let out = deploy_tests::tool("make")
        .args(["-s", "install-files", "BUILD=debug"])
        .args([format!("PREFIX={}", prefix.path().display())])
        .current_dir(root())
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let p = prefix.path();
    // One binary; each tool a link to it.
    assert!(p.join("bin/deploykit").is_file());
    for tool in TOOLS.iter().chain(["docker-credential-ecr-login"].iter()) {
        assert_eq!(
            std::fs::read_link(p.join("bin").join(tool)).unwrap(),
            std::path::Path::new("deploykit"),
            "{tool}"
        );
    }
    for tool in TOOLS {
        let version = deploy_tests::tool(p.join("bin").join(tool))
            .args(["--version"])
            .run();
        assert_eq!(version.code, 0, "{tool} --version: {}", version.stderr);
        assert!(
            version.stdout.starts_with(&format!("{tool} ")),
            "{}",
            version.stdout
        );
        for file in [
            format!("share/bash-completion/completions/{tool}"),
            format!("share/zsh/site-functions/_{tool}"),
            format!("share/fish/vendor_completions.d/{tool}.fish"),
            format!("share/man/man1/{tool}.1"),
        ] {
            let text =
                std::fs::read_to_string(p.join(&file)).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert!(text.contains(tool), "{file} names no {tool}");
        }
    }
    // Docker calls the helper by this name, with `list` among its verbs.
    let helper = deploy_tests::tool(p.join("bin/docker-credential-ecr-login"))
        .args(["list"])
        .run();
    assert_eq!(helper.code, 0, "{}", helper.stderr);
    assert!(
        helper.stdout.trim_start().starts_with('{'),
        "{}",
        helper.stdout
    );
}
