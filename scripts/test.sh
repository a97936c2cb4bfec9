#!/usr/bin/env bash
# `make test`: lint, build, start the emulators, run every test, stop them.
# Works on a fresh machine: scripts/emulators.sh installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== lint" >&2
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== build" >&2
cargo test --workspace --locked --no-run

echo "== emulators" >&2
# A set of our own, so a developer's running set is neither reused nor stopped.
export EMULATORS_DIR="$PWD/target/emulators-test"
emulator_env=$(scripts/emulators.sh up)
trap 'scripts/emulators.sh down' EXIT
eval "$emulator_env"

echo "== test" >&2
cargo test --workspace --locked
