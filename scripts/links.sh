#!/usr/bin/env bash
# scripts/links.sh DIR TARGET: makes DIR/TOOL -> TARGET for each of the six
# tools and docker-credential-ecr-login, the names the multicall
# `deploykit` binary answers to (make install, the release archives and
# the tests through the links all use this one list).
set -euo pipefail
dir=$1 target=$2
mkdir -p "$dir"
for name in ecr-login oci-push taskdef-render ecs-deploy ecs-wait ecs-run docker-credential-ecr-login; do
    ln -sfn "$target" "$dir/$name"
done
