#!/usr/bin/env bash
# `make bench`: our tools against the ones they replace, side by side in one
# run (hyperfine alternates nothing, so each pair runs back to back, several
# rounds), medians and ratios printed. Figures move from run to run on a
# shared machine: compare the ratio, not the milliseconds.
#
#   1. taskdef-render: an image swap in a 10-container task definition,
#      against jq doing the same swap (jq 1.6 ~17 ms; target <= 1x jq: README, "Performance").
#   2. taskdef-render --family (one DescribeTaskDefinition call and the render)
#      against `aws ecs describe-task-definition`, both on moto
#      (aws CLI 0.35-0.43 s a call; target <= 0.1x: README, "Performance").
#   3. ecr-login --password-stdout against `aws ecr get-login-password`, and
#      ecr-login storing the login in a Docker config, both on moto
#      (aws CLI ~346 ms and 55 MiB; target <= 0.1x, aim <= 0.03x), with the
#      peak memory of one run of each.
#   4. oci-push against skopeo copy, into the same local registry: a small
#      3-layer OCI layout (first push, and an unchanged re-push), and a
#      docker save tar of one 128 MiB layer of real files (shared libraries),
#      which both compress on the way; peak memory of each.
set -euo pipefail
cd "$(dirname "$0")/.."

need() { # command package
    command -v "$1" >/dev/null && return
    echo "bench: installing $2 from Debian" >&2
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >&2
}
need hyperfine hyperfine
need jq jq
need /usr/bin/time time
need skopeo skopeo

echo "bench: building release binaries" >&2
cargo build --release --quiet -p taskdef-render -p ecr-login -p oci-push
bin=$PWD/target/release

work=$(mktemp -d)
export EMULATORS_DIR="$PWD/target/emulators-bench"
trap 'rm -rf "$work"; scripts/emulators.sh down >/dev/null 2>&1 || true' EXIT

# A describe-task-definition output with 10 containers, each of the realistic size.
python3 - "$work/td10.json" <<'PY'
import json, sys
base = json.load(open("crates/taskdef-render/tests/fixtures/describe-app.json"))
web = base["taskDefinition"]["containerDefinitions"][0]
containers = []
for i in range(10):
    c = json.loads(json.dumps(web))
    c["name"] = f"svc{i}"
    c["image"] = f"123456789012.dkr.ecr.us-east-1.amazonaws.com/svc{i}:1.0.0"
    c.pop("dependsOn", None)
    containers.append(c)
base["taskDefinition"]["containerDefinitions"] = containers
json.dump(base, open(sys.argv[1], "w"), indent=4)
PY
image=123456789012.dkr.ecr.us-east-1.amazonaws.com/svc7:2.0.0

# Both must produce the same swap before their times mean anything.
ours=$("$bin/taskdef-render" -t "$work/td10.json" -c svc7 --image "$image" | jq -r '.taskDefinition.containerDefinitions[7].image')
theirs=$(jq -r --arg img "$image" '.taskDefinition.containerDefinitions |= map(if .name == "svc7" then .image = $img else . end)' "$work/td10.json" | jq -r '.taskDefinition.containerDefinitions[7].image')
[ "$ours" = "$image" ] && [ "$theirs" = "$image" ] || { echo "bench: the two swaps disagree ($ours vs $theirs)" >&2; exit 1; }

hyperfine --shell=none --warmup 20 --runs "${BENCH_RUNS:-200}" --style basic \
    --export-json "$work/render.json" \
    -n "taskdef-render" "$bin/taskdef-render -t $work/td10.json -c svc7 --image $image" \
    -n "jq $(jq --version)" "jq --arg img $image '.taskDefinition.containerDefinitions |= map(if .name == \"svc7\" then .image = \$img else . end)' $work/td10.json" \
    >&2

echo "bench: starting the emulators" >&2
emulator_env=$(scripts/emulators.sh up)
eval "$emulator_env"
export AWS_DEFAULT_REGION=$AWS_REGION
scripts/emulators.sh ecs RegisterTaskDefinition examples/task-definition.json >/dev/null

hyperfine --shell=none --warmup 3 --runs "${BENCH_ECS_RUNS:-30}" --style basic \
    --export-json "$work/ecs.json" \
    -n "taskdef-render --family" "$bin/taskdef-render --family demo-web --container web --image $image" \
    -n "aws $(aws --version 2>&1 | cut -d' ' -f1)" "aws ecs describe-task-definition --task-definition demo-web --include TAGS" \
    >&2

export DOCKER_CONFIG=$work/docker
[ "$("$bin/ecr-login" --password-stdout)" = "$(aws ecr get-login-password)" ] \
    || { echo "bench: ecr-login and the aws CLI disagree on the password" >&2; exit 1; }
hyperfine --shell=none --warmup 3 --runs "${BENCH_ECS_RUNS:-30}" --style basic \
    --export-json "$work/ecr.json" \
    -n "ecr-login --password-stdout" "$bin/ecr-login --password-stdout" \
    -n "aws ecr get-login-password" "aws ecr get-login-password" \
    -n "ecr-login (Docker config)" "$bin/ecr-login" \
    >&2
rss() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }
ours_kib=$(rss "$bin/ecr-login" --password-stdout)
theirs_kib=$(rss aws ecr get-login-password)

# 4. Images: a docker save tar of real files (one layer of shared libraries,
# ~128 MiB), and a small 3-layer OCI layout made from a tiny docker save tar.
python3 scripts/docker_save.py "$work/big.tar" --tag bench:1 libraries:128
python3 scripts/docker_save.py "$work/small.tar" --tag bench:1 \
    'files:etc/a=a' random:app/b=200000 'files:app/c=c'
skopeo copy --quiet "docker-archive:$work/small.tar" "oci:$work/small:v1"
# skopeo keeps a blob-info cache that lets it mount a blob it pushed before
# into a new repository: cleared before every first-push run, or its "first
# push" would upload nothing.
no_cache="rm -rf /var/lib/containers/cache $HOME/.local/share/containers/cache"
hyperfine --shell=bash --prepare "$no_cache" --warmup 2 --runs "${BENCH_PUSH_RUNS:-20}" --style basic --export-json "$work/small.json" \
    -n "oci-push small layout, first push" "$bin/oci-push --from $work/small --to $REGISTRY/small-\$RANDOM\$RANDOM --tag 1" \
    -n "skopeo copy small layout, first push" "skopeo copy --quiet --dest-tls-verify=false oci:$work/small:v1 docker://$REGISTRY/small-\$RANDOM\$RANDOM:1" \
    >&2
"$bin/oci-push" --from "$work/small" --to "$REGISTRY/small-again" --tag 1 >/dev/null 2>&1
skopeo copy --quiet --dest-tls-verify=false "oci:$work/small:v1" "docker://$REGISTRY/small-again-skopeo:1"
hyperfine --shell=none --warmup 2 --runs "${BENCH_PUSH_RUNS:-20}" --style basic --export-json "$work/again.json" \
    -n "oci-push small layout, unchanged re-push" "$bin/oci-push --from $work/small --to $REGISTRY/small-again --tag 1" \
    -n "skopeo copy small layout, unchanged re-push" "skopeo copy --quiet --dest-tls-verify=false oci:$work/small:v1 docker://$REGISTRY/small-again-skopeo:1" \
    >&2
hyperfine --shell=bash --prepare "$no_cache" --warmup 1 --runs "${BENCH_BIG_RUNS:-5}" --style basic --export-json "$work/big.json" \
    -n "oci-push docker save, 128 MiB of libraries" "$bin/oci-push --from $work/big.tar --to $REGISTRY/big-\$RANDOM\$RANDOM --tag 1" \
    -n "skopeo copy docker save, 128 MiB of libraries" "skopeo copy --quiet --dest-tls-verify=false docker-archive:$work/big.tar docker://$REGISTRY/big-\$RANDOM\$RANDOM:1" \
    >&2
push_kib=$(rss "$bin/oci-push" --from "$work/big.tar" --to "$REGISTRY/big-rss" --tag 1 --force)
$no_cache
skopeo_kib=$(rss skopeo copy --quiet --dest-tls-verify=false "docker-archive:$work/big.tar" "docker://$REGISTRY/big-rss-skopeo:1")

python3 - "$work/small.json" "$work/again.json" "$work/big.json" "$push_kib" "$skopeo_kib" <<'PY'
import json, sys
def medians(path):
    return [x["median"] * 1000 for x in json.load(open(path))["results"]]
for path, what, target in [(sys.argv[1], "small 3-layer layout, first push", "<= 0.50x"), (sys.argv[2], "small layout, unchanged re-push", "<= 0.50x, zero bytes"), (sys.argv[3], "docker save, one 128 MiB layer of libraries, first push", "<= 0.75x")]:
    ours, theirs = medians(path)
    print(f"{what}: oci-push {ours:.0f} ms, skopeo {theirs:.0f} ms (medians), ratio {ours / theirs:.2f}x (target {target})")
print(f"peak memory pushing the 128 MiB docker save: oci-push {int(sys.argv[4]) / 1024:.1f} MiB, skopeo {int(sys.argv[5]) / 1024:.1f} MiB (target <= 32 MiB)")
PY

python3 - "$work/render.json" "$work/ecs.json" "$work/ecr.json" "$ours_kib" "$theirs_kib" <<'PY'
import json, sys
def medians(path):
    r = json.load(open(path))["results"]
    return [(x["command"], x["median"] * 1000) for x in r]
(_, ours), (jq, theirs) = medians(sys.argv[1])
print(f"image swap, 10 containers: taskdef-render {ours:.2f} ms, {jq} {theirs:.2f} ms (medians), ratio {ours / theirs:.2f}x (target <= 1.00x, aim <= 0.25x)")
(_, ours), (cli, theirs) = medians(sys.argv[2])
print(f"one ECS call on moto: taskdef-render --family {ours:.1f} ms, {cli} describe-task-definition {theirs:.1f} ms (medians), ratio {ours / theirs:.2f}x (target <= 0.10x)")
(_, ours), (_, theirs), (_, stored) = medians(sys.argv[3])
print(f"ECR password on moto: ecr-login --password-stdout {ours:.1f} ms, aws ecr get-login-password {theirs:.1f} ms (medians), ratio {ours / theirs:.3f}x (target <= 0.10x, aim <= 0.03x); ecr-login writing the Docker config {stored:.1f} ms ({stored / theirs:.3f}x)")
ours_kib, theirs_kib = int(sys.argv[4]), int(sys.argv[5])
print(f"peak memory of one login: ecr-login {ours_kib / 1024:.1f} MiB, aws CLI {theirs_kib / 1024:.1f} MiB")
PY

# 5. ecs-deploy (issue 9): `taskdef-render | ecs-deploy` (render, register,
# update) against `aws ecs register-task-definition` + `aws ecs update-service`
# with the definition already rendered, on the same moto (target <= 0.05x).
# A block of its own, so that it merges apart from the sections above.
cargo build --release --quiet -p ecs-deploy
aws ecs create-cluster --cluster-name bench-deploy >/dev/null
aws ecs create-service --cluster bench-deploy --service-name web --task-definition demo-web --desired-count 1 >/dev/null
"$bin/taskdef-render" -t examples/task-definition.json --container web --image "$image" | jq .taskDefinition >"$work/deploy-td.json"
hyperfine --shell=bash --warmup 3 --runs "${BENCH_ECS_RUNS:-30}" --style basic --export-json "$work/deploy.json" \
    -n "taskdef-render | ecs-deploy" "$bin/taskdef-render -t examples/task-definition.json --container web --image $image | $bin/ecs-deploy --cluster bench-deploy --service web >/dev/null 2>&1" \
    -n "aws ecs register-task-definition + update-service" "aws ecs register-task-definition --cli-input-json file://$work/deploy-td.json >/dev/null && aws ecs update-service --cluster bench-deploy --service web --task-definition demo-web >/dev/null" \
    >&2
python3 - "$work/deploy.json" <<'PY'
import json, sys
(ours, theirs) = [x["median"] * 1000 for x in json.load(open(sys.argv[1]))["results"]]
print(f"register and update on moto: taskdef-render | ecs-deploy {ours:.1f} ms, aws CLI pair {theirs:.1f} ms (medians), ratio {ours / theirs:.3f}x (target <= 0.05x)")
PY
