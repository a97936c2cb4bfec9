#!/usr/bin/env bash
# `make demo`: the main job end to end on the local emulators.
#   1. start moto (ECS/ECR) and the registries, installing what is missing;
#   2. ecr-login: log in to moto's ECR, the login stored in a Docker config
#      of the demo's own (target/demo-docker), the password never shown;
#   3. register examples/task-definition.json in moto, as CI did last deploy;
#   4. taskdef-render --family: fetch it, put in the new image and
#      environment, and print valid RegisterTaskDefinition input;
#   5. stop what it started.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n\033[1m== %s\033[0m\n' "$*" >&2; }
[ -n "${NO_COLOR:-}" ] || [ ! -t 2 ] && step() { printf '\n== %s\n' "$*" >&2; }

step "building the tools"
cargo build --workspace --quiet
bin=target/debug

step "starting the emulators"
export EMULATORS_DIR="$PWD/target/emulators-demo"
emulator_env=$(scripts/emulators.sh up)
trap 'scripts/emulators.sh down' EXIT
eval "$emulator_env"

step "ecr-login --docker-config target/demo-docker (moto's ECR; the password goes only into that config.json)"
set -x
"$bin/ecr-login" --docker-config target/demo-docker
{ set +x; } 2>/dev/null

step "registering examples/task-definition.json in ECS (moto at $AWS_ENDPOINT_URL)"
scripts/emulators.sh ecs RegisterTaskDefinition examples/task-definition.json \
    | python3 -c 'import json,sys; td=json.load(sys.stdin)["taskDefinition"]; print("registered", td["taskDefinitionArn"])' >&2

git_sha=$(git rev-parse --short HEAD 2>/dev/null || echo demo)
image="$REGISTRY/web:$git_sha"
step "taskdef-render --family demo-web --container web --image $image --env NODE_ENV=production --env GIT_SHA=$git_sha"
set -x
"$bin/taskdef-render" --family demo-web --container web \
    --image "$image" \
    --env NODE_ENV=production --env "GIT_SHA=$git_sha" \
    --log-option awslogs-stream-prefix=web-prod \
    --output-file target/demo-task-definition.json
{ set +x; } 2>/dev/null

step "done: the rendered definition is on stdout above, and bare in target/demo-task-definition.json"
echo "   (aws ecs register-task-definition --cli-input-json file://target/demo-task-definition.json takes it as is)" >&2
