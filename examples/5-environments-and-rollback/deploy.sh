#!/usr/bin/env bash
# One environment's deploy: its cluster and service are named after it
# (APP-ENVIRONMENT); the definition the service runs now gets the new image,
# is deployed, and the rollout waited for. Credentials by OIDC web identity
# (the workflow's id-token, or AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE for
# the SDK's own web-identity provider): no stored keys.
#
# Inputs (environment): IMAGE, APP, ENVIRONMENT (staging, production),
# CONTAINER, GIT_SHA; WAIT_TIMEOUT (default 15m).
set -euo pipefail
for name in IMAGE APP ENVIRONMENT CONTAINER GIT_SHA; do
    [ -n "${!name:-}" ] || { echo "deploy.sh: $name is not set" >&2; exit 2; }
done
cluster="$APP-$ENVIRONMENT"
service="$APP-$ENVIRONMENT"

ecr-login \
  | oci-push --from "$IMAGE" --repository "$APP" --tag "$GIT_SHA" --tag "$ENVIRONMENT" \
  | taskdef-render --family "$service" --container "$CONTAINER" --env "DEPLOY_ENV=$ENVIRONMENT" \
  | ecs-deploy --cluster "$cluster" --service "$service" \
  | ecs-wait --timeout "${WAIT_TIMEOUT:-15m}"
