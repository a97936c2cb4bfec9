//! Every `ecr-login` command in `ecr-login --help` runs, as written, against
//! moto, and does what its example says; an example with no expectation
//! below fails the test. Other programs in a pipe (docker, oci-push, ln)
//! are not run: the ecr-login step is.

use deploy_tests::Output;
use serde_json::Value;

fn endpoints(doc: &Value) -> Vec<String> {
    match doc.get("registries") {
        Some(list) => list
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["endpoint"].as_str().unwrap().to_string())
            .collect(),
        None => vec![doc["registry"]["endpoint"].as_str().unwrap().to_string()],
    }
}

fn check(segment: &str, out: &Output) {
    assert!(
        !out.stderr.contains("auth-token"),
        "{segment}: a password on stderr"
    );
    if segment.contains("--password-stdout") {
        assert_eq!(out.stdout, "123456789012-auth-token\n", "{segment}");
        return;
    }
    assert!(
        !out.stdout.contains("auth-token"),
        "{segment}: a password on stdout"
    );
    let doc = out.success();
    let got = endpoints(&doc);
    if segment.contains("--registry-id 210987654321") {
        assert_eq!(
            got,
            [
                "123456789012.dkr.ecr.us-east-1.amazonaws.com",
                "210987654321.dkr.ecr.us-east-1.amazonaws.com",
                "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
                "210987654321.dkr.ecr.eu-west-1.amazonaws.com",
            ],
            "{segment}"
        );
    } else if segment == "ecr-login --region us-east-1"
        || segment == "ecr-login"
        || segment == "ecr-login --min-validity 1h"
    {
        assert_eq!(
            got,
            ["123456789012.dkr.ecr.us-east-1.amazonaws.com"],
            "{segment}"
        );
    } else {
        panic!("help example with no expectation in help_examples.rs: {segment}");
    }
}

#[test]
fn every_help_example_runs() {
    let help = deploy_tests::tool(env!("CARGO_BIN_EXE_ecr-login"))
        .args(["--help"])
        .run()
        .stdout;
    let mut ran = 0;
    for command in deploy_tests::help_examples(&help, "Output:") {
        for segment in command.split(" | ").map(str::trim) {
            if !segment.starts_with("ecr-login") {
                continue;
            }
            let args = shlex::split(segment).unwrap_or_else(|| panic!("cannot split {segment:?}"));
            let mut tool = deploy_tests::tool(env!("CARGO_BIN_EXE_ecr-login"))
                .aws()
                .args(&args[1..]);
            if segment.contains("--password-stdout") {
                tool = tool.prints_secret();
            }
            let out = tool.run();
            assert_eq!(
                out.code, 0,
                "help example failed: {segment}\n{}",
                out.stderr
            );
            check(segment, &out);
            ran += 1;
        }
    }
    assert_eq!(ran, 5, "every example command ran, none more or fewer");
}
