#!/usr/bin/env bash
# Push under the commit's sha and `latest`; put the image and the service's
# environment (OLLAMA_URL and the others) into the definition the service
# runs now; deploy; wait for ECS to say the rollout is done. A rollout that
# ECS rolls back (deployment circuit breaker, alarms) fails the job, with
# the reason, the breaker's count and each stopped task's exit code on
# stderr and in the output's `wait`.
#
# Inputs (environment): IMAGE, ECR_REPOSITORY, ECS_CLUSTER, ECS_SERVICE,
# TASK_FAMILY, CONTAINER, GIT_SHA, OLLAMA_URL; WAIT_TIMEOUT (default 15m).
set -euo pipefail
for name in IMAGE ECR_REPOSITORY ECS_CLUSTER ECS_SERVICE TASK_FAMILY CONTAINER GIT_SHA OLLAMA_URL; do
    [ -n "${!name:-}" ] || { echo "deploy.sh: $name is not set" >&2; exit 2; }
done

ecr-login \
  | oci-push --from "$IMAGE" --repository "$ECR_REPOSITORY" --tag "$GIT_SHA" --tag latest \
  | taskdef-render --family "$TASK_FAMILY" --container "$CONTAINER" \
      --env "OLLAMA_URL=$OLLAMA_URL" --env "GIT_SHA=$GIT_SHA" \
  | ecs-deploy --cluster "$ECS_CLUSTER" --service "$ECS_SERVICE" \
  | ecs-wait --timeout "${WAIT_TIMEOUT:-15m}"
