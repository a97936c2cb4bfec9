#!/usr/bin/env bash
# Tags `sha`, `version-sha` (the version read from package.json) and
# `latest`; the definition registered once; the database migration run as a
# one-off task of that revision, failing the job (and deploying nothing)
# when it fails; then the service updated to the same revision, and old
# revisions deregistered. The workflow runs this job behind a GitHub
# Environment with required reviewers: the approval comes before.
#
# Inputs (environment): IMAGE, ECR_REPOSITORY, ECS_CLUSTER, ECS_SERVICE,
# TASK_FAMILY, CONTAINER, GIT_SHA, MIGRATE_COMMAND, KEEP_REVISIONS (default
# 10); package.json in the working directory.
set -euo pipefail
for name in IMAGE ECR_REPOSITORY ECS_CLUSTER ECS_SERVICE TASK_FAMILY CONTAINER GIT_SHA MIGRATE_COMMAND; do
    [ -n "${!name:-}" ] || { echo "deploy.sh: $name is not set" >&2; exit 2; }
done
# jq 1.6 exits 0 on an empty file, printing nothing: check the output too.
version=$(jq -er .version package.json) && [ -n "$version" ] \
    || { echo "deploy.sh: package.json has no version" >&2; exit 2; }

ecr-login \
  | oci-push --from "$IMAGE" --repository "$ECR_REPOSITORY" \
      --tag "$GIT_SHA" --tag "$version-$GIT_SHA" --tag latest \
  | taskdef-render --family "$TASK_FAMILY" --container "$CONTAINER" --env "APP_VERSION=$version" \
  | ecs-deploy \
  | ecs-run --cluster "$ECS_CLUSTER" --like-service "$ECS_SERVICE" --container "$CONTAINER" \
      --command "$MIGRATE_COMMAND" \
  | ecs-deploy --cluster "$ECS_CLUSTER" --service "$ECS_SERVICE" --keep-revisions "${KEEP_REVISIONS:-10}"
