#!/usr/bin/env bash
# Static access keys from the CI's secrets; the task definition is a
# template kept in the repository. The pushed image goes into it, and a
# template that still holds a placeholder (REPLACE_ME, ${VAR}, <WORD>...)
# anywhere fails the job before anything is registered: nothing half-filled
# ships. Fargate deploy.
#
# Inputs (environment): IMAGE, ECR_REPOSITORY, TEMPLATE (the task definition
# file), ECS_CLUSTER, ECS_SERVICE, CONTAINER, GIT_SHA; AWS_ACCESS_KEY_ID,
# AWS_SECRET_ACCESS_KEY and AWS_REGION from the CI's secrets.
set -euo pipefail
for name in IMAGE ECR_REPOSITORY TEMPLATE ECS_CLUSTER ECS_SERVICE CONTAINER GIT_SHA; do
    [ -n "${!name:-}" ] || { echo "deploy.sh: $name is not set" >&2; exit 2; }
done

ecr-login \
  | oci-push --from "$IMAGE" --repository "$ECR_REPOSITORY" --tag "$GIT_SHA" \
  | taskdef-render -t "$TEMPLATE" --container "$CONTAINER" --env "GIT_SHA=$GIT_SHA" \
  | ecs-deploy --cluster "$ECS_CLUSTER" --service "$ECS_SERVICE"
