#!/usr/bin/env bash
# The approval job: deploy exactly the plan a reviewer approved, from the
# plan object the plan job uploaded ($PLAN), and wait for the rollout.
# ecs-deploy refuses (exit 1, nothing registered) when the service moved
# since the plan was made: what was approved is what gets deployed.
#
# Inputs (environment): ECS_CLUSTER, ECS_SERVICE, PLAN; WAIT_TIMEOUT
# (default 15m).
set -euo pipefail
for name in ECS_CLUSTER ECS_SERVICE PLAN; do
    [ -n "${!name:-}" ] || { echo "deploy.sh: $name is not set" >&2; exit 2; }
done

ecs-deploy --cluster "$ECS_CLUSTER" --service "$ECS_SERVICE" <"$PLAN" \
  | ecs-wait --timeout "${WAIT_TIMEOUT:-15m}"
