#!/usr/bin/env bash
# The plan job: push the build's image, put it into the definition the
# service runs now, and plan the deploy: what would change against what the
# service runs (every environment value and secret hidden), and the checks
# (the fit, the log groups, the roles, the secrets, whose values are never
# read). Nothing is registered or updated.
# The plan object goes to $PLAN (the workflow uploads it for the approval
# job); with $GITHUB_STEP_SUMMARY set, the diff and the checks go to the
# job summary. A check that fails fails the job.
#
# Inputs (environment): IMAGE, ECR_REPOSITORY, ECS_CLUSTER, ECS_SERVICE,
# TASK_FAMILY, CONTAINER, GIT_SHA, PLAN (the file to write).
set -euo pipefail
for name in IMAGE ECR_REPOSITORY ECS_CLUSTER ECS_SERVICE TASK_FAMILY CONTAINER GIT_SHA PLAN; do
    [ -n "${!name:-}" ] || { echo "plan.sh: $name is not set" >&2; exit 2; }
done

ecr-login \
  | oci-push --from "$IMAGE" --repository "$ECR_REPOSITORY" --tag "$GIT_SHA" \
  | taskdef-render --family "$TASK_FAMILY" --container "$CONTAINER" --env "GIT_SHA=$GIT_SHA" \
  | ecs-deploy --cluster "$ECS_CLUSTER" --service "$ECS_SERVICE" --plan >"$PLAN"
