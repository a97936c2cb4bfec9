#!/usr/bin/env bash
# The local stand-ins for AWS and a registry, for tests and the demo:
#   moto server (ECS and ECR APIs) and two CNCF distribution registries,
#   one open and one behind htpasswd Basic auth, all on 127.0.0.1; and the
#   aws CLI, which the tests pipe into and out of.
#
#   scripts/emulators.sh up     install what is missing, start, wait, print the env
#   scripts/emulators.sh env    print the env of the running set
#   scripts/emulators.sh down   stop exactly what `up` started
#   scripts/emulators.sh ecs ACTION FILE
#                               call an ECS API action on moto with FILE's JSON
#                               (- for stdin), to set up state: no aws CLI needed
#
# Use:  eval "$(scripts/emulators.sh up)"
#
# Ports are free ones picked at start-up, and the state (pids, configs, logs,
# registry storage) lives in $EMULATORS_DIR (default: .emulators in the repo),
# so two checkouts on one machine do not collide. Progress goes to stderr,
# only the env goes to stdout.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
state=${EMULATORS_DIR:-$root/.emulators}
say() { printf 'emulators: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

install_missing() {
    if ! python3 -c 'import moto.server, flask, flask_cors' 2>/dev/null; then
        say "installing moto server from PyPI"
        python3 -m pip install --quiet 'moto[server]>=5.2,<6' >&2 || die "pip install 'moto[server]' failed"
    fi
    # The aws CLI, for the tests that pipe into and out of it as users do.
    if ! command -v aws >/dev/null; then
        say "installing the aws CLI from PyPI"
        python3 -m pip install --quiet 'awscli>=1.40,<2' >&2 || die "pip install awscli failed"
    fi
    local pkgs=()
    command -v docker-registry >/dev/null || [ -x /usr/bin/docker-registry ] || pkgs+=(docker-registry)
    command -v htpasswd >/dev/null || pkgs+=(apache2-utils)
    if [ ${#pkgs[@]} -gt 0 ]; then
        say "installing ${pkgs[*]} from Debian"
        as_root apt-get update -qq >&2 || die "apt-get update failed"
        # The package starts its own registry on 0.0.0.0:5000 when installed;
        # a policy-rc.d that says 101 stops that, and goes away afterwards.
        local policy=/usr/sbin/policy-rc.d made_policy=
        if [ ! -e $policy ]; then
            printf '#!/bin/sh\nexit 101\n' | as_root tee $policy >/dev/null
            as_root chmod +x $policy
            made_policy=1
        fi
        local rc=0
        DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >&2 || rc=$?
        [ -n "$made_policy" ] && as_root rm -f $policy
        [ $rc = 0 ] || die "apt-get install ${pkgs[*]} failed"
    fi
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

alive() { [ -f "$state/$1.pid" ] && kill -0 "$(cat "$state/$1.pid")" 2>/dev/null; }

start() { # name command...
    local name=$1; shift
    "$@" >"$state/$name.log" 2>&1 &
    echo $! >"$state/$name.pid"
}

wait_for() { # name url expected-status
    local name=$1 url=$2 want=$3 code
    for _ in $(seq 1 150); do
        code=$(curl -s -o /dev/null -w '%{http_code}' "$url" || true)
        [ "$code" = "$want" ] && return 0
        alive "$name" || { tail -20 "$state/$name.log" >&2; die "$name exited during start-up (log above)"; }
        sleep 0.2
    done
    tail -20 "$state/$name.log" >&2
    die "$name did not answer $url with $want within 30 s"
}

registry_config() { # dir port [htpasswd]
    local dir=$1 port=$2 auth=${3:-}
    mkdir -p "$dir/storage"
    {
        echo "version: 0.1"
        echo "log: {level: warn}"
        echo "storage:"
        echo "  filesystem: {rootdirectory: $dir/storage}"
        echo "  delete: {enabled: true}"
        echo "http:"
        echo "  addr: 127.0.0.1:$port"
        if [ -n "$auth" ]; then
            echo "auth:"
            echo "  htpasswd: {realm: test-registry, path: $auth}"
        fi
    } >"$dir/config.yml"
}

up() {
    if alive moto && alive registry && alive registry-auth && [ -f "$state/env" ]; then
        say "already running (state in $state)"
        cat "$state/env"
        return
    fi
    down_quiet
    install_missing
    mkdir -p "$state"
    local moto_port reg_port auth_port user=ci-user password
    moto_port=$(free_port); reg_port=$(free_port); auth_port=$(free_port)
    password="pw-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"

    start moto python3 "$here/moto_launcher.py" -H 127.0.0.1 -p "$moto_port"

    local registry_bin
    registry_bin=$(command -v docker-registry || echo /usr/bin/docker-registry)
    registry_config "$state/registry" "$reg_port"
    start registry "$registry_bin" serve "$state/registry/config.yml"
    mkdir -p "$state/registry-auth"
    htpasswd -Bbn "$user" "$password" >"$state/registry-auth/htpasswd"
    registry_config "$state/registry-auth" "$auth_port" "$state/registry-auth/htpasswd"
    start registry-auth "$registry_bin" serve "$state/registry-auth/config.yml"

    wait_for moto "http://127.0.0.1:$moto_port/moto-api/" 200
    wait_for registry "http://127.0.0.1:$reg_port/v2/" 200
    wait_for registry-auth "http://127.0.0.1:$auth_port/v2/" 401

    cat >"$state/env" <<ENV
export AWS_ENDPOINT_URL=http://127.0.0.1:$moto_port
export MOTO_URL=http://127.0.0.1:$moto_port
export AWS_ACCESS_KEY_ID=testing
export AWS_SECRET_ACCESS_KEY=testing
export AWS_REGION=us-east-1
export REGISTRY=127.0.0.1:$reg_port
export REGISTRY_AUTH=127.0.0.1:$auth_port
export REGISTRY_USER=$user
export REGISTRY_PASSWORD=$password
export EMULATORS_DIR=$state
ENV
    say "moto on :$moto_port, registry on :$reg_port, registry with auth on :$auth_port"
    cat "$state/env"
}

down_quiet() {
    local name pid
    for name in moto registry registry-auth; do
        [ -f "$state/$name.pid" ] || continue
        pid=$(cat "$state/$name.pid")
        if kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -9 "$pid" 2>/dev/null || true
        fi
        rm -f "$state/$name.pid"
    done
}

ecs_call() { # ACTION FILE
    [ $# = 2 ] || { echo "usage: $0 ecs ACTION FILE" >&2; exit 2; }
    [ -f "$state/env" ] || die "not running: run '$0 up'"
    # shellcheck disable=SC1091
    . "$state/env"
    # moto reads the region from the credential scope and checks no signature.
    curl -sS --fail-with-body "$MOTO_URL/" \
        -H 'Content-Type: application/x-amz-json-1.1' \
        -H "X-Amz-Target: AmazonEC2ContainerServiceV20141113.$1" \
        -H "Authorization: AWS4-HMAC-SHA256 Credential=testing/20260101/$AWS_REGION/ecs/aws4_request, SignedHeaders=host, Signature=0" \
        --data-binary "@$2"
}

case "${1:-}" in
    up) up ;;
    ecs) shift; ecs_call "$@" ;;
    env) [ -f "$state/env" ] || die "not running: run '$0 up'"; cat "$state/env" ;;
    down) down_quiet; rm -rf "$state"; say "stopped" ;;
    *) echo "usage: $0 up|env|down|ecs ACTION FILE" >&2; exit 2 ;;
esac
