#!/usr/bin/env bash
# `make demo`: the main job end to end on the local emulators.
#   1. start moto (ECS/ECR) and the registries, installing what is missing;
#   2. register examples/task-definition.json in moto, as CI did last deploy;
#   3. make an image with no daemon (a docker save tar of a tiny app);
#   4. the pipeline, with pipes: ecr-login (moto's ECR, the login in a Docker
#      config of the demo's own) | oci-push (to the local registry standing
#      behind the ECR name) | taskdef-render --family (the pushed image and
#      new environment in the registered definition);
#   5. stop what it started.
# ecs-deploy and ecs-wait join the pipe when they exist.
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

step "registering examples/task-definition.json in ECS (moto at $AWS_ENDPOINT_URL)"
scripts/emulators.sh ecs RegisterTaskDefinition examples/task-definition.json \
    | python3 -c 'import json,sys; td=json.load(sys.stdin)["taskDefinition"]; print("registered", td["taskDefinitionArn"])' >&2

step "an image, made with no daemon: a docker save tar of a tiny web app (target/demo-image.tar)"
python3 scripts/docker_save.py target/demo-image.tar --tag web:demo --cmd /app/server.sh \
    'files:app/server.sh=#!/bin/sh\necho hello from web\n' 'files:app/VERSION=demo\n'

# moto's ECR hands out 123456789012.dkr.ecr.us-east-1.amazonaws.com, which
# nothing serves: the local registry (which takes moto's ECR login) stands
# behind that name, as registries.conf says. The image keeps its ECR name.
ecr=123456789012.dkr.ecr.$AWS_REGION.amazonaws.com
printf '[[registry]]\nprefix = "%s"\nlocation = "%s"\n' "$ecr" "$REGISTRY_AUTH" >target/demo-registries.conf
export DOCKER_CONFIG=$PWD/target/demo-docker

git_sha=$(git rev-parse --short HEAD 2>/dev/null || echo demo)
step "the pipeline: ecr-login | oci-push | taskdef-render (the password goes only into $DOCKER_CONFIG/config.json)"
set -x
"$bin/ecr-login" \
  | "$bin/oci-push" --from target/demo-image.tar --repository web --tag "$git_sha" --tag latest \
      --create-repository --registries-conf target/demo-registries.conf \
  | "$bin/taskdef-render" --family demo-web --container web \
      --env NODE_ENV=production --env "GIT_SHA=$git_sha" \
      --log-option awslogs-stream-prefix=web-prod \
      --output-file target/demo-task-definition.json
{ set +x; } 2>/dev/null

step "done: the image is in the registry under its ECR name, the rendered definition (with that image) is on stdout above, and bare in target/demo-task-definition.json"
echo "   (aws ecs register-task-definition --cli-input-json file://target/demo-task-definition.json takes it as is)" >&2
