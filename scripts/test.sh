#!/usr/bin/env bash
# `make test`: lint, build, start the emulators, run every test, stop them.
# Works on a fresh machine: scripts/emulators.sh installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== lint" >&2
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== build" >&2
# `cargo test` builds the binaries only of packages with integration tests;
# the tests run every tool binary (and dist's, for the install test), so
# build them all first.
cargo build --workspace --locked --bins
cargo test --workspace --locked --no-run
scripts/links.sh target/debug/links ../deploykit

# @action-validator/cli checks action.yml and every workflow against
# GitHub's schemas (tests/workflows.rs), offline once installed.
echo "== tools" >&2
if [ ! -x target/tools/npm/node_modules/.bin/action-validator ]; then
    if ! command -v npm >/dev/null; then
        echo "test: installing npm from Debian" >&2
        apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >&2
    fi
    npm install --prefix target/tools/npm --no-audit --no-fund --loglevel=error \
        @action-validator/cli@0.6.0 @action-validator/core@0.6.0 >&2
fi
echo "== emulators" >&2
# A set of our own, in a fresh directory per run, so neither a developer's
# running set nor another `make test` running at the same time is reused or
# stopped; `down` stops only this set and removes the directory.
mkdir -p target
EMULATORS_DIR=$(mktemp -d "$PWD/target/emulators-test.XXXXXX")
export EMULATORS_DIR
# Set before `up`, so that a start-up that fails half way stops what it started.
trap 'scripts/emulators.sh down' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# moto records every request, for the tests that check what a tool sent.
emulator_env=$(EMULATORS_RECORD=1 scripts/emulators.sh up)
eval "$emulator_env"

echo "== test" >&2
cargo test --workspace --locked --no-fail-fast
# The multicall binary called by each tool's name: every tool's help
# examples again, through links to target/debug/deploykit (`make dist`
# runs the whole suite through them: DEPLOY_TESTS_LINKS set for all).
echo "== test: the tools as links to deploykit" >&2
# (--workspace, not -p TOOL...: the same features as the build above, so
# nothing is compiled again.)
DEPLOY_TESTS_LINKS=$PWD/target/debug/links cargo test --workspace --locked --test help_examples
