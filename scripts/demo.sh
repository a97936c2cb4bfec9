#!/usr/bin/env bash
# `make demo`: the main job end to end on the local emulators.
#   1. start moto (ECS/ECR) and the registries, installing what is missing;
#   2. register examples/task-definition.json in moto, as CI did last deploy;
#   3. make an image with no daemon (an OCI image layout of a tiny app, as
#      buildx or buildah would leave it);
#   4. seed an ECR repository `web`, and an ECS cluster `demo` with a Fargate
#      service `web` running demo-web:1, in moto's default VPC;
#   5. the pipeline, with pipes: ecr-login (moto's ECR, the login in a Docker
#      config of the demo's own) | oci-push (to the local registry standing
#      behind the ECR name) | taskdef-render --family (the pushed image and
#      new environment in the registered definition) | ecs-deploy (register
#      it, update the service) | ecs-wait (until ECS says the rollout is done);
#   6. show the service running the new revision;
#   7. a second, short act, a demonstration of a failure: a rollout that
#      fails on the scripted ECS endpoint (scripts/scenarios/demo-crash.json:
#      a circuit-breaker rollback), its crashed container's logs in moto,
#      and the report ecs-wait prints, last log lines and job summary
#      included; that ecs-wait fails is the point, so the demo exits 0;
#   8. stop what it started.
# Its files (image, Docker config, registries.conf, the emulators' state) go
# under $DEMO_DIR (default target/demo). tests/demo.rs runs it with a
# DEMO_DIR of its own, DEMO_BUILD=0 and DEMO_BIN (the test run has built the
# tools, in its own target directory).
set -euo pipefail
cd "$(dirname "$0")/.."
demo=${DEMO_DIR:-$PWD/target/demo}
mkdir -p "$demo"
demo=$(cd "$demo" && pwd)

step() { printf '\n\033[1m== %s\033[0m\n' "$*" >&2; }
[ -n "${NO_COLOR:-}" ] || [ ! -t 2 ] && step() { printf '\n== %s\n' "$*" >&2; }

if [ "${DEMO_BUILD:-1}" != 0 ]; then
    step "building the tools (the first time takes a few minutes)"
    cargo build --workspace
fi
bin=${DEMO_BIN:-target/debug}

step "starting the emulators"
export EMULATORS_DIR="$demo/emulators"
# A set of the demo's own, fresh each run (one left by an interrupted run
# would hold its cluster and service); stopped on exit, even half started.
scripts/emulators.sh down >/dev/null 2>&1 || true
trap 'scripts/emulators.sh down' EXIT
emulator_env=$(scripts/emulators.sh up)
eval "$emulator_env"

step "registering examples/task-definition.json in ECS (moto at $AWS_ENDPOINT_URL)"
scripts/emulators.sh ecs RegisterTaskDefinition examples/task-definition.json \
    | python3 -c 'import json,sys; td=json.load(sys.stdin)["taskDefinition"]; print("registered", td["taskDefinitionArn"])' >&2

step "an ECR repository 'web', an ECS cluster 'demo' with a Fargate service 'web' running demo-web:1"
aws ecr create-repository --repository-name web \
    --query 'repository.repositoryUri' --output text >&2
aws ecs create-cluster --cluster-name demo >/dev/null
subnet=$(aws ec2 describe-subnets --query 'Subnets[0].SubnetId' --output text)
group=$(aws ec2 describe-security-groups --query 'SecurityGroups[0].GroupId' --output text)
aws ecs create-service --cluster demo --service-name web --task-definition demo-web:1 \
    --desired-count 1 --launch-type FARGATE \
    --network-configuration "awsvpcConfiguration={subnets=[$subnet],securityGroups=[$group]}" >/dev/null
echo "service web runs $(aws ecs describe-services --cluster demo --services web --query 'services[0].taskDefinition' --output text)" >&2

step "an image, made with no daemon: an OCI image layout of a tiny web app ($demo/image)"
rm -rf "$demo/image"
python3 scripts/make_image.py --oci-layout "$demo/image" --tag web:demo --cmd /app/server.sh \
    'files:app/server.sh=#!/bin/sh\necho hello from web\n' 'files:app/VERSION=demo\n'

# moto's ECR hands out 123456789012.dkr.ecr.us-east-1.amazonaws.com, which
# nothing serves: the local registry (which takes moto's ECR login) stands
# behind that name, as registries.conf says. The image keeps its ECR name.
ecr=123456789012.dkr.ecr.$AWS_REGION.amazonaws.com
printf '[[registry]]\nprefix = "%s"\nlocation = "%s"\n' "$ecr" "$REGISTRY_AUTH" >"$demo/registries.conf"
export DOCKER_CONFIG=$demo/docker

git_sha=$(git rev-parse --short HEAD 2>/dev/null || echo demo)
echo "   moto's ECR token says it expired in 2015: ecr-login warns about it; a real one lasts 12 hours." >&2
echo "   moto never rolls out (one deployment, COMPLETED once the running count is reached): ecs-wait's" >&2
echo "   'deployed' below is moto's word; its rollbacks and failures are tested on scripts/scripted_ecs.py." >&2
step "the pipeline: ecr-login | oci-push | taskdef-render | ecs-deploy | ecs-wait (the password goes only into $DOCKER_CONFIG/config.json)"
set -x
"$bin/ecr-login" \
  | "$bin/oci-push" --from "$demo/image" --repository web --tag "$git_sha" --tag latest \
      --registries-conf "$demo/registries.conf" \
  | "$bin/taskdef-render" --family demo-web --container web \
      --env NODE_ENV=production --env "GIT_SHA=$git_sha" \
      --log-option awslogs-stream-prefix=web-prod \
  | "$bin/ecs-deploy" --cluster demo --service web \
  | "$bin/ecs-wait" --timeout 2m
{ set +x; } 2>/dev/null

step "done: the image is in the registry under its ECR name, and the service runs the new revision with it, its rollout complete"
aws ecs describe-services --cluster demo --services web \
    --query 'services[0].{service: serviceName, taskDefinition: taskDefinition, desired: desiredCount}' >&2
aws ecs describe-task-definition --task-definition demo-web \
    --query 'taskDefinition.containerDefinitions[0].{image: image, environment: environment}' >&2

step "act 2, a demonstration of a failure: a rollout that does not succeed, and what ecs-wait says about it"
echo "   ECS here is scripts/scripted_ecs.py playing scripts/scenarios/demo-crash.json (moto never fails a" >&2
echo "   rollout): two tasks of web:2 crash, the circuit breaker rolls back. Their logs are in moto's CloudWatch" >&2
echo "   Logs; the definition's DATABASE_URL holds a password, which the application logs: watch it masked." >&2
aws logs create-log-group --log-group-name /ecs/demo-web
now=$(($(date +%s) * 1000))
for task in t1 t2; do
    aws logs create-log-stream --log-group-name /ecs/demo-web --log-stream-name "ecs/web/$task"
    aws logs put-log-events --log-group-name /ecs/demo-web --log-stream-name "ecs/web/$task" --log-events "[
        {\"timestamp\": $now, \"message\": \"server starting (NODE_ENV=production)\"},
        {\"timestamp\": $((now + 1)), \"message\": \"connecting to postgres://app:demo-s3cret@db.internal/app\"},
        {\"timestamp\": $((now + 2)), \"message\": \"Error: connect ECONNREFUSED 10.0.3.7:5432\"},
        {\"timestamp\": $((now + 3)), \"message\": \"    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1607:16)\"}]" >/dev/null
done
scripted_out=$demo/scripted-ecs.port
: >"$scripted_out"
scripted=
trap 'kill $scripted 2>/dev/null; scripts/emulators.sh down' EXIT
python3 scripts/scripted_ecs.py scripts/scenarios/demo-crash.json >"$scripted_out" 2>"$demo/scripted-ecs.log" &
scripted=$!
for _ in $(seq 1 50); do [ -s "$scripted_out" ] && break; sleep 0.1; done
[ -s "$scripted_out" ] || { echo "demo: scripts/scripted_ecs.py did not start ($demo/scripted-ecs.log)" >&2; exit 1; }
export GITHUB_STEP_SUMMARY=$demo/step-summary.md
: >"$GITHUB_STEP_SUMMARY"
service='{"service": {"serviceName": "web", "clusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/prod",
  "serviceArn": "arn:aws:ecs:us-east-1:123456789012:service/prod/web",
  "currentServiceDeployment": "arn:aws:ecs:us-east-1:123456789012:service-deployment/prod/web/sd-2"}}'
set -x
status=0
echo "$service" \
  | AWS_ENDPOINT_URL_ECS="http://127.0.0.1:$(head -1 "$scripted_out")" \
    AWS_ENDPOINT_URL_CLOUDWATCH_LOGS="$AWS_ENDPOINT_URL" \
    "$bin/ecs-wait" --timeout 1m >"$demo/failed-rollout.json" || status=$?
{ set +x; } 2>/dev/null
echo "   ecs-wait exited $status: the rollout failed, as this act meant it to (a pipe would stop here)." >&2
echo "   Its object is in $demo/failed-rollout.json (wait.stoppedTasks[].containers[].lastLogLines);" >&2
echo "   on GitHub, this job summary would show on the run's page ($GITHUB_STEP_SUMMARY):" >&2
sed 's/^/   | /' "$GITHUB_STEP_SUMMARY" >&2
# Exit 1 for the failed rollout, not for an endpoint that never answered.
grep -q '"status": *"failed"' "$demo/failed-rollout.json" && [ "$status" = 1 ] \
    || { echo "demo: ecs-wait should have reported the rollout failed (exit 1), not exit $status" >&2; exit 1; }
unset GITHUB_STEP_SUMMARY
