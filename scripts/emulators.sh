#!/usr/bin/env bash
# The local stand-ins for AWS and a registry, for tests and the demo:
#   moto server (ECS, ECR, CloudWatch Logs, ... APIs), a second moto that
#   enforces IAM (MOTO_IAM_URL, with an admin user's keys in
#   MOTO_IAM_ADMIN_KEY_ID/_SECRET for making least-privilege users), and two
#   CNCF distribution registries, one open and one behind htpasswd Basic
#   auth, all on 127.0.0.1; and the aws CLI, which the tests pipe into and
#   out of.
#
#   scripts/emulators.sh up     install what is missing, start, wait, print the env
#   scripts/emulators.sh env    print the env of the running set
#   scripts/emulators.sh down   stop exactly what `up` started, remove its state
#   scripts/emulators.sh call SERVICE ACTION FILE
#                               call a JSON-1.1 API action (SERVICE: ecs, ecr,
#                               logs, secretsmanager, ssm, kms) on moto with
#                               FILE's JSON (- for stdin), to set up state:
#                               no aws CLI needed
#   scripts/emulators.sh ecs ACTION FILE
#                               the same as `call ecs ACTION FILE`
#
# Use:  eval "$(scripts/emulators.sh up)"
#
# moto and the aws CLI live in a virtual environment of their own,
# target/tools/venv (installed once, under a lock, from PyPI); the env puts
# target/tools/bin, which holds only `aws`, first on PATH. Debian packages
# (docker-registry, apache2-utils, jq, curl, python3-venv) are installed with
# apt when missing.
#
# Ports are free ones picked at start-up, and the state (pids, configs, logs,
# registry storage, moto's request recording) lives in $EMULATORS_DIR
# (default: .emulators in the repo), so two sets on one machine (two
# checkouts, or two `make test` runs, each with its own EMULATORS_DIR) do not
# collide, and `down` stops only the processes its own `up` started.
# Progress goes to stderr, only the env goes to stdout.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
state=${EMULATORS_DIR:-$root/.emulators}
tools=$root/target/tools
venv=$tools/venv
tools_bin=$tools/bin
# What goes into the venv; a change here reinstalls.
requirements=('moto[server]>=5.2,<6' 'awscli>=1.40,<2')
say() { printf 'emulators: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

# Every process `up` starts carries a token of its own in its environment
# (kept in $state/owner); `down` kills a recorded pid only when that process
# still carries it, so neither another set's process nor a recycled pid is hit.
owner_mark() { printf 'DEPLOYKIT_EMULATORS=%s' "$(cat "$state/owner" 2>/dev/null)"; }

as_root() {
    if [ "$(id -u)" = 0 ]; then
        "$@"
    elif command -v sudo >/dev/null; then
        sudo "$@"
    else
        return 1
    fi
}

apt_updated=
apt_install() { # package...
    command -v apt-get >/dev/null \
        || die "missing: $* (no apt-get here: install them with your package manager)"
    if [ "$(id -u)" != 0 ] && ! command -v sudo >/dev/null; then
        die "missing: $*: install them as root: apt-get install $*"
    fi
    say "installing $* from Debian"
    # Another apt on the machine (another checkout's `up`) is waited for.
    local apt=(apt-get -o DPkg::Lock::Timeout=300)
    if [ -z "$apt_updated" ]; then
        as_root "${apt[@]}" update -qq >&2 || die "apt-get update failed"
        apt_updated=1
    fi
    # docker-registry starts its own registry on 0.0.0.0:5000 when installed;
    # a policy-rc.d that says 101 stops that, and goes away afterwards.
    local policy=/usr/sbin/policy-rc.d made_policy=
    if [ ! -e $policy ]; then
        printf '#!/bin/sh\nexit 101\n' | as_root tee $policy >/dev/null
        as_root chmod +x $policy
        made_policy=1
    fi
    local rc=0
    DEBIAN_FRONTEND=noninteractive as_root "${apt[@]}" install -y -qq --no-install-recommends "$@" >&2 || rc=$?
    [ -n "$made_policy" ] && as_root rm -f $policy
    [ $rc = 0 ] || die "apt-get install $* failed: install them by hand"
}

venv_ready() {
    [ -x "$venv/bin/python" ] && [ -x "$venv/bin/aws" ] && [ -L "$tools_bin/aws" ] \
        && [ "$(cat "$venv/.installed" 2>/dev/null)" = "${requirements[*]}" ] \
        && "$venv/bin/python" -c '' 2>/dev/null
}

make_venv() {
    rm -rf "$venv"
    python3 -m venv "$venv" >"$tools/venv.log" 2>&1 && "$venv/bin/python" -m pip --version >/dev/null 2>&1
}

install_venv() {
    venv_ready && return 0
    if ! [ -x "$venv/bin/python" ] || ! "$venv/bin/python" -m pip --version >/dev/null 2>&1; then
        say "creating a virtual environment in $venv"
        if ! make_venv; then
            # Debian's python3 has no venv/ensurepip without python3-venv.
            apt_install python3-venv
            make_venv || { cat "$tools/venv.log" >&2; die "python3 -m venv $venv failed: install python3-venv (Debian) or a python3 with the venv module and ensurepip"; }
        fi
    fi
    say "installing ${requirements[*]} from PyPI into $venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${requirements[@]}" >&2 \
        || die "pip install ${requirements[*]} into $venv failed"
    mkdir -p "$tools_bin"
    ln -sfn "$venv/bin/aws" "$tools_bin/aws"
    printf '%s\n' "${requirements[*]}" >"$venv/.installed"
}

install_missing() {
    local pkgs=()
    command -v curl >/dev/null || pkgs+=(curl)
    command -v python3 >/dev/null || pkgs+=(python3 python3-venv)
    command -v docker-registry >/dev/null || [ -x /usr/bin/docker-registry ] || pkgs+=(docker-registry)
    command -v htpasswd >/dev/null || pkgs+=(apache2-utils)
    command -v jq >/dev/null || pkgs+=(jq)
    # A real registry client, to prove that the Docker config ecr-login writes is read.
    command -v skopeo >/dev/null || pkgs+=(skopeo)
    [ ${#pkgs[@]} = 0 ] || apt_install "${pkgs[@]}"
    install_venv
}

# Two `up`s at once (two `make test` runs) must not install at the same time:
# the installs run under a lock in target/tools; the second waits, then finds
# everything in place.
install_locked() {
    local cmd all=1
    for cmd in curl python3 docker-registry htpasswd jq; do
        command -v $cmd >/dev/null || all=
    done
    [ -n "$all" ] && venv_ready && return 0
    mkdir -p "$tools"
    if command -v flock >/dev/null; then
        (
            flock -w 900 9 || die "waited 15 min for $tools/install.lock (another install running?)"
            install_missing
        ) 9>"$tools/install.lock"
    else
        say "warning: no flock (util-linux): installing without a lock"
        install_missing
    fi
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Is `pid` a process this state directory's `up` started?
ours() { # pid
    kill -0 "$1" 2>/dev/null || return 1
    # Without /proc (not Linux), the pid file is all there is to go on.
    [ -r "/proc/$1/environ" ] || return 0
    [ -s "$state/owner" ] || { legacy_ours "$1"; return; }
    local environ
    environ=$(tr '\0' '\n' <"/proc/$1/environ" 2>/dev/null) || return 1
    grep -qxF "$(owner_mark)" <<<"$environ"
}

# A set started by an older emulators.sh has no owner token: its registries
# name a config in $state, its moto the port in $state/env.
legacy_ours() { # pid
    local cmdline port
    cmdline=$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null) || return 1
    case $cmdline in *" $state/"*) return 0 ;; esac
    port=$(sed -n 's/^export MOTO_URL=.*://p' "$state/env" 2>/dev/null)
    [ -n "$port" ] || return 1
    case $cmdline in *moto_launcher.py*" -p $port "*) return 0 ;; esac
    return 1
}

alive() { [ -f "$state/$1.pid" ] && ours "$(cat "$state/$1.pid")"; }

start() { # name command...
    local name=$1; shift
    env "$(owner_mark)" "$@" >"$state/$name.log" 2>&1 &
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
    # A set started before moto got MOTO_ECS_SERVICE_RUNNING (its env file
    # lacks the line saying so) is restarted, not reused.
    if alive moto && alive moto-iam && alive registry && alive registry-auth && grep -q '^export PATH=' "$state/env" 2>/dev/null \
        && grep -q '^# moto: MOTO_ECS_SERVICE_RUNNING=1$' "$state/env" 2>/dev/null \
        && grep -q '^export MOTO_IAM_URL=' "$state/env" 2>/dev/null; then
        say "already running (state in $state)"
        cat "$state/env"
        return
    fi
    down_quiet
    install_locked
    mkdir -p "$state"
    state=$(cd "$state" && pwd)
    head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$state/owner"
    local moto_port iam_port reg_port auth_port user=ci-user password
    moto_port=$(free_port); iam_port=$(free_port); reg_port=$(free_port); auth_port=$(free_port)
    password="pw-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"

    # With EMULATORS_RECORD=1 (make test sets it), every request is recorded
    # in the state directory (GET /moto-api/recorder/download-recording), for
    # tests that check what a tool sent. Off otherwise: it slows every call,
    # which make bench would measure.
    # MOTO_ECS_SERVICE_RUNNING=1: a service created with desiredCount 1 (or
    # 0) has its deployment COMPLETED at once, one created with 2 or more
    # stays IN_PROGRESS forever (moto never rolls out), so the tests can
    # wait for either (ecs-wait).
    start moto env MOTO_ECS_SERVICE_RUNNING=1 MOTO_ENABLE_RECORDING="$([ "${EMULATORS_RECORD:-}" = 1 ] && echo true || echo false)" \
        MOTO_RECORDER_FILEPATH="$state/moto-recording.jsonl" \
        "$venv/bin/python" "$here/moto_launcher.py" -H 127.0.0.1 -p "$moto_port"

    # A second moto that enforces IAM, as a real account does: the first 3
    # requests go unchecked (they make the admin user below), every later
    # one is checked against the signing user's policies. A whole process
    # enforces or not, and the other tests sign with made-up keys, hence
    # two. moto matches only "Resource": "*" and ignores conditions.
    start moto-iam env MOTO_ECS_SERVICE_RUNNING=1 INITIAL_NO_AUTH_ACTION_COUNT=3 \
        "$venv/bin/python" "$here/moto_launcher.py" -H 127.0.0.1 -p "$iam_port"

    local registry_bin
    registry_bin=$(command -v docker-registry || echo /usr/bin/docker-registry)
    registry_config "$state/registry" "$reg_port"
    # distribution reads REGISTRY_* variables as configuration: the ones
    # this script prints (eval'ed in a shell that then runs make test)
    # would become its settings, and REGISTRY_AUTH a panic.
    start registry env -u REGISTRY -u REGISTRY_AUTH -u REGISTRY_USER -u REGISTRY_PASSWORD \
        "$registry_bin" serve "$state/registry/config.yml"
    mkdir -p "$state/registry-auth"
    htpasswd -Bbn "$user" "$password" >"$state/registry-auth/htpasswd"
    # moto's ECR login (its token is fixed), so that `ecr-login | oci-push`
    # runs for real against this registry, standing in for ECR.
    htpasswd -Bbn AWS 123456789012-auth-token >>"$state/registry-auth/htpasswd"
    registry_config "$state/registry-auth" "$auth_port" "$state/registry-auth/htpasswd"
    start registry-auth env -u REGISTRY -u REGISTRY_AUTH -u REGISTRY_USER -u REGISTRY_PASSWORD \
        "$registry_bin" serve "$state/registry-auth/config.yml"

    wait_for moto "http://127.0.0.1:$moto_port/moto-api/" 200
    wait_for moto-iam "http://127.0.0.1:$iam_port/moto-api/" 200
    # The 3 unchecked requests: an admin user allowed everything, and its
    # keys, with which the tests make a user per case.
    local admin_key admin_secret
    read -r admin_key admin_secret < <(
        export AWS_ACCESS_KEY_ID=bootstrap AWS_SECRET_ACCESS_KEY=bootstrap AWS_DEFAULT_REGION=us-east-1
        iam=("$venv/bin/aws" --endpoint-url "http://127.0.0.1:$iam_port" iam)
        "${iam[@]}" create-user --user-name admin >/dev/null
        "${iam[@]}" put-user-policy --user-name admin --policy-name admin \
            --policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'
        "${iam[@]}" create-access-key --user-name admin \
            --query 'AccessKey.[AccessKeyId,SecretAccessKey]' --output text
    ) || die "moto-iam: could not make its admin user (log: $state/moto-iam.log)"
    [ -n "$admin_secret" ] || die "moto-iam: no admin access key"    wait_for registry "http://127.0.0.1:$reg_port/v2/" 200
    wait_for registry-auth "http://127.0.0.1:$auth_port/v2/" 401

    # PATH is left for the eval to expand: the venv's aws first, then the
    # caller's PATH as it is then.
    local state_q
    state_q=$(printf %q "$state")
    cat >"$state/env" <<ENV
export AWS_ENDPOINT_URL=http://127.0.0.1:$moto_port
export MOTO_URL=http://127.0.0.1:$moto_port
export MOTO_IAM_URL=http://127.0.0.1:$iam_port
export MOTO_IAM_ADMIN_KEY_ID=$admin_key
export MOTO_IAM_ADMIN_SECRET=$admin_secret
export AWS_ACCESS_KEY_ID=testing
export AWS_SECRET_ACCESS_KEY=testing
export AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1
export REGISTRY=127.0.0.1:$reg_port
export REGISTRY_AUTH=127.0.0.1:$auth_port
export REGISTRY_USER=$user
export REGISTRY_PASSWORD=$password
export EMULATORS_DIR=$state_q
export PATH="$tools_bin:\$PATH"
# moto: MOTO_ECS_SERVICE_RUNNING=1
ENV
    say "moto on :$moto_port (IAM enforced on :$iam_port), registry on :$reg_port, registry with auth on :$auth_port (state in $state)"
    cat "$state/env"
}

down_quiet() {
    local name pid
    for name in moto moto-iam registry registry-auth; do
        [ -f "$state/$name.pid" ] || continue
        pid=$(cat "$state/$name.pid")
        if ours "$pid"; then
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            ours "$pid" && kill -9 "$pid" 2>/dev/null || true
        fi
        rm -f "$state/$name.pid"
    done
}

# Removes what `up` put in the state directory, and the directory when that
# leaves it empty (never anything else that is in there).
remove_state() {
    [ -d "$state" ] || return 0
    rm -rf "$state/registry" "$state/registry-auth"
    rm -f "$state"/{moto,moto-iam,registry,registry-auth}.{pid,log} "$state/env" "$state/owner" "$state/moto-recording.jsonl"
    rmdir "$state" 2>/dev/null || say "left $state: it holds files up did not make"
}

target_prefix() { # service
    case "$1" in
        ecs) echo AmazonEC2ContainerServiceV20141113 ;;
        ecr) echo AmazonEC2ContainerRegistry_V20150921 ;;
        logs) echo Logs_20140328 ;;
        secretsmanager) echo secretsmanager ;;
        ssm) echo AmazonSSM ;;
        kms) echo TrentService ;;
        *) return 1 ;;
    esac
}

call() { # SERVICE ACTION FILE
    [ $# = 3 ] || { echo "usage: $0 call SERVICE ACTION FILE" >&2; exit 2; }
    local service=$1 action=$2 file=$3 prefix
    prefix=$(target_prefix "$service") \
        || die "unknown service '$service' (known: ecs, ecr, logs, secretsmanager, ssm, kms)"
    [ -f "$state/env" ] || die "not running: run '$0 up'"
    # shellcheck disable=SC1091
    . "$state/env"
    # moto reads the service and region from the credential scope and checks
    # no signature.
    curl -sS --fail-with-body "$MOTO_URL/" \
        -H 'Content-Type: application/x-amz-json-1.1' \
        -H "X-Amz-Target: $prefix.$action" \
        -H "Authorization: AWS4-HMAC-SHA256 Credential=testing/20260101/$AWS_REGION/$service/aws4_request, SignedHeaders=host, Signature=0" \
        --data-binary "@$file"
}

case "${1:-}" in
    up) up ;;
    call) shift; call "$@" ;;
    ecs) shift; [ $# = 2 ] || { echo "usage: $0 ecs ACTION FILE" >&2; exit 2; }; call ecs "$@" ;;
    env) [ -f "$state/env" ] || die "not running: run '$0 up'"; cat "$state/env" ;;
    down) down_quiet; remove_state; say "stopped" ;;
    *) echo "usage: $0 up|env|down|call SERVICE ACTION FILE|ecs ACTION FILE" >&2; exit 2 ;;
esac
