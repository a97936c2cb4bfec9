#!/usr/bin/env bash
# The manual rollback job: the environment's service back to a named
# revision (or, with none, to the one it ran before), and the rollout
# waited for.
#
# Inputs (environment): APP, ENVIRONMENT, REVISION (optional);
# WAIT_TIMEOUT (default 15m).
set -euo pipefail
for name in APP ENVIRONMENT; do
    [ -n "${!name:-}" ] || { echo "rollback.sh: $name is not set" >&2; exit 2; }
done
to=()
[ -z "${REVISION:-}" ] || to=(--to-revision "$REVISION")

ecs-deploy --rollback --cluster "$APP-$ENVIRONMENT" --service "$APP-$ENVIRONMENT" "${to[@]}" \
  | ecs-wait --timeout "${WAIT_TIMEOUT:-15m}"
