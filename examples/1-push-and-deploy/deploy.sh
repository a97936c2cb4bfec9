#!/usr/bin/env bash
# Push the build's image under the commit's sha and `latest`, put it into the
# task definition the service runs now, register that, and update the
# service with a forced new deployment (ECS otherwise keeps running the old
# tasks when only a tag moved).
#
# Inputs (environment): IMAGE (the build's docker save tar, oci-archive or
# OCI layout), ECR_REPOSITORY, ECS_CLUSTER, ECS_SERVICE, TASK_FAMILY,
# CONTAINER, GIT_SHA. AWS credentials and region come from the environment
# (the workflow's aws-actions/configure-aws-credentials step, or any SDK
# source). Needs ecr-login, oci-push, taskdef-render and ecs-deploy on PATH.
set -euo pipefail
for name in IMAGE ECR_REPOSITORY ECS_CLUSTER ECS_SERVICE TASK_FAMILY CONTAINER GIT_SHA; do
    [ -n "${!name:-}" ] || { echo "deploy.sh: $name is not set" >&2; exit 2; }
done

ecr-login \
  | oci-push --from "$IMAGE" --repository "$ECR_REPOSITORY" --tag "$GIT_SHA" --tag latest \
  | taskdef-render --family "$TASK_FAMILY" --container "$CONTAINER" --env "GIT_SHA=$GIT_SHA" \
  | ecs-deploy --cluster "$ECS_CLUSTER" --service "$ECS_SERVICE" --force-new-deployment
