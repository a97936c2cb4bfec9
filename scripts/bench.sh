#!/usr/bin/env bash
# `make bench`: our tools against the ones they replace, side by side in one
# run (hyperfine alternates nothing, so each pair runs back to back, several
# rounds), medians and ratios printed. Figures move from run to run on a
# shared machine: compare the ratio, not the milliseconds.
#
#   1. render: taskdef-render, an image swap in a 10-container task
#      definition, against jq doing the same swap (jq 1.6 ~17 ms; target
#      <= 1x jq: README, "Performance").
#   2. ecs: taskdef-render --family (one DescribeTaskDefinition call and the
#      render) against `aws ecs describe-task-definition`, both on moto
#      (aws CLI 0.35-0.43 s a call; target <= 0.1x: README, "Performance").
#   3. ecr: ecr-login --password-stdout against `aws ecr get-login-password`,
#      and ecr-login storing the login in a Docker config, both on moto
#      (aws CLI ~346 ms and 55 MiB; target <= 0.1x, aim <= 0.03x), with the
#      peak memory of one run of each.
#   4. push: oci-push against skopeo copy, into the same local registry
#      (targets: README, "Performance"), each first push into a new repository:
#      - a small 3-layer OCI layout: first push (<= 0.5x), unchanged re-push
#        (<= 0.5x);
#      - a docker save tar of one 128 MiB layer of real files (shared
#        libraries), which both compress on the way (<= 0.75x); peak memory of
#        each;
#      - a 256 MiB single-layer OCI layout (one random, gzip-framed 256 MiB
#        blob, pushed as it is), also against a bare `curl -T` of the blob (a
#        POST to open the upload, one streaming monolithic PUT: the registry
#        hashing and writing it is the limit): <= 1.15x the curl PUT and no
#        slower than skopeo;
#      - a docker save tar of one 256 MiB layer of shared libraries: first push
#        (<= 0.75x skopeo), and its unchanged re-push to the same repository
#        and tag against that first push (<= 0.1x);
#      - the peak memory of oci-push pushing a 10 MiB and a 1 GiB layer, as an
#        OCI layout (sent as it is) and as a docker save tar of libraries
#        (compressed on the way): flat, <= 32 MiB for both.
#
# Knobs (environment):
#   BENCH_ONLY=push        only these sections (comma-separated: render, ecs,
#                          ecr, push, deploy, plan, pipeline, start); default all
#   BENCH_RUNS=200         runs of section 1
#   BENCH_ECS_RUNS=30      runs of sections 2 and 3
#   BENCH_PUSH_RUNS=20     runs of the small pushes and of the re-pushes
#   BENCH_BIG_RUNS=5       runs of the 128 and 256 MiB first pushes
#   BENCH_RSS_RUNS=3       pushes of each 10 MiB image whose highest peak memory counts
#   BENCH_GIB_RUNS=1       the same for the 1 GiB images (0: leave them out)
#   BENCH_BUILD=0          use the binaries in target/release as they are (no cargo build)
set -euo pipefail
cd "$(dirname "$0")/.."

sections=${BENCH_ONLY:-render,ecs,ecr,push,deploy,plan,pipeline,start}
for s in ${sections//,/ }; do
    case $s in render | ecs | ecr | push | deploy | plan | pipeline | start) ;; *) echo "bench: BENCH_ONLY: unknown section '$s' (render, ecs, ecr, push, deploy, plan, pipeline, start)" >&2; exit 2 ;; esac
done
want() { [[ ",$sections," == *",$1,"* ]]; }

need() { # command package
    command -v "$1" >/dev/null && return
    echo "bench: installing $2 from Debian" >&2
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >&2
}
need hyperfine hyperfine
need jq jq
need /usr/bin/time time
need skopeo skopeo
need curl curl

packages=()
{ want render || want ecs || want deploy; } && packages+=(-p taskdef-render)
want deploy && packages+=(-p ecs-deploy)
want plan && packages+=(-p taskdef-render -p ecs-deploy -p oci-push)
{ want pipeline || want start; } && packages+=(-p ecr-login -p oci-push -p taskdef-render -p ecs-deploy -p ecs-wait -p ecs-run)
want ecr && packages+=(-p ecr-login)
want push && packages+=(-p oci-push)
if [ "${BENCH_BUILD:-1}" = 0 ]; then
    echo "bench: BENCH_BUILD=0: the release binaries in target/release as they are" >&2
else
    echo "bench: building release binaries" >&2
    cargo build --release --quiet "${packages[@]}"
fi
bin=$PWD/target/release

work=$(mktemp -d)
# Every figure line goes to stdout and, when every section runs, into
# bench/results.md with the machine it ran on.
results=$work/results.txt
exec 3>&1 1>"$results"
export EMULATORS_DIR="$PWD/target/emulators-bench"
trap 'rm -rf "$work"; scripts/emulators.sh down >/dev/null 2>&1 || true' EXIT
rss() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }
image=123456789012.dkr.ecr.us-east-1.amazonaws.com/svc7:2.0.0

if want render; then
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

    # Both must produce the same swap before their times mean anything.
    ours=$("$bin/taskdef-render" -t "$work/td10.json" -c svc7 --image "$image" | jq -r '.taskDefinition.containerDefinitions[7].image')
    theirs=$(jq -r --arg img "$image" '.taskDefinition.containerDefinitions |= map(if .name == "svc7" then .image = $img else . end)' "$work/td10.json" | jq -r '.taskDefinition.containerDefinitions[7].image')
    [ "$ours" = "$image" ] && [ "$theirs" = "$image" ] || { echo "bench: the two swaps disagree ($ours vs $theirs)" >&2; exit 1; }

    hyperfine --shell=none --warmup 20 --runs "${BENCH_RUNS:-200}" --style basic \
        --export-json "$work/render.json" \
        -n "taskdef-render" "$bin/taskdef-render -t $work/td10.json -c svc7 --image $image" \
        -n "jq $(jq --version)" "jq --arg img $image '.taskDefinition.containerDefinitions |= map(if .name == \"svc7\" then .image = \$img else . end)' $work/td10.json" \
        >&2
fi

if want ecs || want ecr || want push || want deploy || want plan || want pipeline; then
    echo "bench: starting the emulators" >&2
    emulator_env=$(scripts/emulators.sh up)
    eval "$emulator_env"
    export AWS_DEFAULT_REGION=$AWS_REGION
fi

if want ecs; then
    scripts/emulators.sh ecs RegisterTaskDefinition examples/task-definition.json >/dev/null
    hyperfine --shell=none --warmup 3 --runs "${BENCH_ECS_RUNS:-30}" --style basic \
        --export-json "$work/ecs.json" \
        -n "taskdef-render --family" "$bin/taskdef-render --family demo-web --container web --image $image" \
        -n "aws $(aws --version 2>&1 | cut -d' ' -f1)" "aws ecs describe-task-definition --task-definition demo-web --include TAGS" \
        >&2
fi

if want ecr; then
    export DOCKER_CONFIG=$work/docker
    [ "$("$bin/ecr-login" --password-stdout)" = "$(aws ecr get-login-password)" ] \
        || { echo "bench: ecr-login and the aws CLI disagree on the password" >&2; exit 1; }
    hyperfine --shell=none --warmup 3 --runs "${BENCH_ECS_RUNS:-30}" --style basic \
        --export-json "$work/ecr.json" \
        -n "ecr-login --password-stdout" "$bin/ecr-login --password-stdout" \
        -n "aws ecr get-login-password" "aws ecr get-login-password" \
        -n "ecr-login (Docker config)" "$bin/ecr-login" \
        >&2
    ours_kib=$(rss "$bin/ecr-login" --password-stdout)
    theirs_kib=$(rss aws ecr get-login-password)
fi

if want push; then
    # 4. Images: a docker save tar of real files (one layer of shared libraries,
    # ~128 MiB), and a small 3-layer OCI layout made from a tiny docker save tar.
    python3 scripts/make_image.py "$work/big.tar" --tag bench:1 libraries:128
    python3 scripts/make_image.py "$work/small.tar" --tag bench:1 \
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
    rm -f "$work/big.tar"

    # An OCI image layout (tag v1) of one layer: a tar of one file of MIB MiB of
    # random bytes, gzip-framed in stored blocks, so that the layer blob is MIB MiB
    # (and a few KiB) that no one compresses further. Prints the layer's digest.
    oci_layout() { # DIR MIB
        python3 - "$1" "$2" <<'PY'
import hashlib, json, os, sys, tarfile, zlib
out, mib = sys.argv[1], int(sys.argv[2])
blobs = os.path.join(out, "blobs", "sha256")
os.makedirs(blobs)
def put(data, media_type):
    digest = hashlib.sha256(data).hexdigest()
    open(os.path.join(blobs, digest), "wb").write(data)
    return {"mediaType": media_type, "digest": "sha256:" + digest, "size": len(data)}
diff_id, layer, gz = hashlib.sha256(), hashlib.sha256(), zlib.compressobj(0, zlib.DEFLATED, 31)
tmp = os.path.join(out, "layer.tmp")
with open(tmp, "wb") as f:
    def write(data, last=False):
        diff_id.update(data)
        z = gz.compress(data) + (gz.flush() if last else b"")
        layer.update(z)
        f.write(z)
    info = tarfile.TarInfo("random.bin")
    info.size, info.mtime, info.mode = mib << 20, 0, 0o644
    write(info.tobuf(tarfile.GNU_FORMAT))
    for _ in range(mib):
        write(os.urandom(1 << 20))
    write(bytes(1024), last=True)
os.rename(tmp, os.path.join(blobs, layer.hexdigest()))
layer = {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": "sha256:" + layer.hexdigest(),
         "size": os.path.getsize(os.path.join(blobs, layer.hexdigest()))}
config = {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": ["sha256:" + diff_id.hexdigest()]}}
config = put(json.dumps(config).encode(), "application/vnd.oci.image.config.v1+json")
manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "config": config, "layers": [layer]}
manifest = put(json.dumps(manifest).encode(), "application/vnd.oci.image.manifest.v1+json")
manifest["annotations"] = {"org.opencontainers.image.ref.name": "v1"}
json.dump({"schemaVersion": 2, "manifests": [manifest]}, open(os.path.join(out, "index.json"), "w"))
json.dump({"imageLayoutVersion": "1.0.0"}, open(os.path.join(out, "oci-layout"), "w"))
print(layer["digest"])
PY
    }
    # The bare minimum to put one blob in a registry, with curl: a POST to open the
    # upload, then one streaming monolithic PUT of the file, closed by its digest.
    cat >"$work/curl-put" <<'SH'
#!/usr/bin/env bash
# curl-put REGISTRY/REPOSITORY FILE DIGEST
set -euo pipefail
registry=${1%%/*} repository=${1#*/}
location=$(curl -fsS -X POST -o /dev/null -D - "http://$registry/v2/$repository/blobs/uploads/" \
    | tr -d '\r' | sed -n 's/^[Ll]ocation: *//p')
case $location in /*) location=http://$registry$location ;; esac
case $location in *\?*) location="$location&digest=$3" ;; *) location="$location?digest=$3" ;; esac
curl -fsS -o /dev/null -H 'Expect:' -H 'Content-Type: application/octet-stream' -T "$2" "$location"
SH
    chmod +x "$work/curl-put"

    # A 256 MiB single-layer OCI layout, first push: oci-push, skopeo, and curl
    # putting the layer blob alone.
    layer256=$(oci_layout "$work/layout256" 256)
    "$work/curl-put" "$REGISTRY/layout-check" "$work/layout256/blobs/sha256/${layer256#sha256:}" "$layer256"
    [ "$(curl -fsSI -o /dev/null -w '%{http_code}' "http://$REGISTRY/v2/layout-check/blobs/$layer256")" = 200 ] \
        || { echo "bench: the registry does not have the blob curl put" >&2; exit 1; }
    hyperfine --shell=bash --prepare "$no_cache" --warmup 1 --runs "${BENCH_BIG_RUNS:-5}" --style basic --export-json "$work/layout256.json" \
        -n "oci-push 256 MiB layout, first push" "$bin/oci-push --from $work/layout256 --to $REGISTRY/layout-\$RANDOM\$RANDOM --tag 1" \
        -n "skopeo copy 256 MiB layout, first push" "skopeo copy --quiet --dest-tls-verify=false oci:$work/layout256:v1 docker://$REGISTRY/layout-\$RANDOM\$RANDOM:1" \
        -n "curl -T the 256 MiB layer blob" "$work/curl-put $REGISTRY/layout-\$RANDOM\$RANDOM $work/layout256/blobs/sha256/${layer256#sha256:} $layer256" \
        >&2
    rm -rf "$work/layout256"

    # A docker save tar of one 256 MiB layer of shared libraries: first push, and
    # the same push again, unchanged, to the same repository and tag.
    python3 scripts/make_image.py "$work/big256.tar" --tag bench:1 libraries:256
    hyperfine --shell=bash --prepare "$no_cache" --warmup 1 --runs "${BENCH_BIG_RUNS:-5}" --style basic --export-json "$work/big256.json" \
        -n "oci-push docker save, 256 MiB of libraries" "$bin/oci-push --from $work/big256.tar --to $REGISTRY/big256-\$RANDOM\$RANDOM --tag 1" \
        -n "skopeo copy docker save, 256 MiB of libraries" "skopeo copy --quiet --dest-tls-verify=false docker-archive:$work/big256.tar docker://$REGISTRY/big256-\$RANDOM\$RANDOM:1" \
        >&2
    "$bin/oci-push" --from "$work/big256.tar" --to "$REGISTRY/big256-again" --tag 1 >/dev/null 2>&1
    hyperfine --shell=none --warmup 2 --runs "${BENCH_PUSH_RUNS:-20}" --style basic --export-json "$work/big256-again.json" \
        -n "oci-push docker save 256 MiB, unchanged re-push" "$bin/oci-push --from $work/big256.tar --to $REGISTRY/big256-again --tag 1" \
        >&2
    rm -f "$work/big256.tar"

    # Peak memory of oci-push, the highest of RUNS first pushes (each into a new
    # repository) of FROM, in KiB; 0 when RUNS is 0.
    peak() { # RUNS FROM
        local max=0 kib i
        for ((i = 0; i < $1; i++)); do
            kib=$(rss "$bin/oci-push" --from "$2" --to "$REGISTRY/rss-$RANDOM$RANDOM" --tag 1) || return
            echo "bench: oci-push --from ${2##*/}: peak memory $kib KiB" >&2
            ((kib > max)) && max=$kib
        done
        echo "$max"
    }
    rss_runs=${BENCH_RSS_RUNS:-3} gib_runs=${BENCH_GIB_RUNS:-1}
    oci_layout "$work/layout10" 10 >/dev/null
    python3 scripts/make_image.py "$work/save10.tar" --tag bench:1 libraries:10
    layout10_kib=$(peak "$rss_runs" "$work/layout10")
    save10_kib=$(peak "$rss_runs" "$work/save10.tar")
    layout1g_kib=0 save1g_kib=0
    if [ "$gib_runs" -gt 0 ]; then
        oci_layout "$work/layout1g" 1024 >/dev/null
        layout1g_kib=$(peak "$gib_runs" "$work/layout1g")
        rm -rf "$work/layout1g"
        python3 scripts/make_image.py "$work/save1g.tar" --tag bench:1 libraries:1024
        save1g_kib=$(peak "$gib_runs" "$work/save1g.tar")
        rm -f "$work/save1g.tar"
    fi

    python3 - small="$work/small.json" again="$work/again.json" big="$work/big.json" push_kib="$push_kib" skopeo_kib="$skopeo_kib" \
        layout256="$work/layout256.json" big256="$work/big256.json" big256_again="$work/big256-again.json" \
        layout10_kib="$layout10_kib" save10_kib="$save10_kib" layout1g_kib="$layout1g_kib" save1g_kib="$save1g_kib" <<'PY'
import json, sys
arg = dict(a.split("=", 1) for a in sys.argv[1:])
def medians(name):
    return [x["median"] * 1000 for x in json.load(open(arg[name]))["results"]]
def mib(name):
    return int(arg[name]) / 1024
def against_skopeo(name, what, target):
    ours, theirs = medians(name)
    print(f"{what}: oci-push {ours:.0f} ms, skopeo {theirs:.0f} ms (medians), ratio {ours / theirs:.2f}x (target {target})")
against_skopeo("small", "small 3-layer layout, first push", "<= 0.50x")
against_skopeo("again", "small layout, unchanged re-push", "<= 0.50x, zero bytes")
against_skopeo("big", "docker save, one 128 MiB layer of libraries, first push", "<= 0.75x")
ours, skopeo, curl = medians("layout256")
print(f"256 MiB single-layer OCI layout, first push: oci-push {ours:.0f} ms, skopeo {skopeo:.0f} ms, curl -T of the blob {curl:.0f} ms (medians), ratio {ours / curl:.2f}x the curl PUT (target <= 1.15x), {ours / skopeo:.2f}x skopeo (target <= 1.00x)")
against_skopeo("big256", "docker save, one 256 MiB layer of libraries, first push", "<= 0.75x")
[again], [first, _] = medians("big256_again"), medians("big256")
print(f"docker save, one 256 MiB layer of libraries, unchanged re-push: oci-push {again:.0f} ms, its first push {first:.0f} ms (medians), ratio {again / first:.3f}x (target <= 0.10x)")
print(f"peak memory pushing the 128 MiB docker save: oci-push {mib('push_kib'):.1f} MiB, skopeo {mib('skopeo_kib'):.1f} MiB (target <= 32 MiB)")
gib = lambda name: f"{mib(name):.1f} MiB" if int(arg[name]) else "not measured (BENCH_GIB_RUNS=0)"
print(f"peak memory of oci-push, OCI layout (sent as it is): 10 MiB layer {mib('layout10_kib'):.1f} MiB, 1 GiB layer {gib('layout1g_kib')} (target <= 32 MiB for both)")
print(f"peak memory of oci-push, docker save (gzip on the way): 10 MiB layer {mib('save10_kib'):.1f} MiB, 1 GiB layer {gib('save1g_kib')} (target <= 32 MiB for both)")
PY
fi

if want render || want ecs || want ecr; then
    python3 - render="$work/render.json" ecs="$work/ecs.json" ecr="$work/ecr.json" ours_kib="${ours_kib:-}" theirs_kib="${theirs_kib:-}" <<'PY'
import json, os, sys
arg = dict(a.split("=", 1) for a in sys.argv[1:])
def medians(name):
    r = json.load(open(arg[name]))["results"]
    return [(x["command"], x["median"] * 1000) for x in r]
if os.path.exists(arg["render"]):
    (_, ours), (jq, theirs) = medians("render")
    print(f"image swap, 10 containers: taskdef-render {ours:.2f} ms, {jq} {theirs:.2f} ms (medians), ratio {ours / theirs:.2f}x (target <= 1.00x, aim <= 0.25x)")
if os.path.exists(arg["ecs"]):
    (_, ours), (cli, theirs) = medians("ecs")
    print(f"one ECS call on moto: taskdef-render --family {ours:.1f} ms, {cli} describe-task-definition {theirs:.1f} ms (medians), ratio {ours / theirs:.2f}x (target <= 0.10x)")
if os.path.exists(arg["ecr"]):
    (_, ours), (_, theirs), (_, stored) = medians("ecr")
    print(f"ECR password on moto: ecr-login --password-stdout {ours:.1f} ms, aws ecr get-login-password {theirs:.1f} ms (medians), ratio {ours / theirs:.3f}x (target <= 0.10x, aim <= 0.03x); ecr-login writing the Docker config {stored:.1f} ms ({stored / theirs:.3f}x)")
    ours_kib, theirs_kib = int(arg["ours_kib"]), int(arg["theirs_kib"])
    print(f"peak memory of one login: ecr-login {ours_kib / 1024:.1f} MiB, aws CLI {theirs_kib / 1024:.1f} MiB")
PY
fi

# 5. ecs-deploy (issue 9): `taskdef-render | ecs-deploy` (render, register,
# update) against `aws ecs register-task-definition` + `aws ecs update-service`
# with the definition already rendered, on the same moto (target <= 0.05x).
if want deploy; then
scripts/emulators.sh ecs RegisterTaskDefinition examples/task-definition.json >/dev/null
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
fi

# 5b. ecs-deploy --plan (issue 20): the diff against what the service runs
# and the checks (fit, log group, two roles, the secret, the image read
# from the registry), against the same by hand: describe-services and
# describe-task-definition, jq -S and diff, describe-log-groups, two
# get-role, describe-secret, skopeo inspect. On moto and the open registry.
if want plan; then
    scripts/emulators.sh ecs RegisterTaskDefinition examples/task-definition.json >/dev/null
    subnet=$(aws ec2 describe-subnets --query 'Subnets[0].SubnetId' --output text)
    group=$(aws ec2 describe-security-groups --query 'SecurityGroups[0].GroupId' --output text)
    aws ecs create-cluster --cluster-name bench-plan >/dev/null
    aws ecs create-service --cluster bench-plan --service-name web --task-definition demo-web --desired-count 1 \
        --launch-type FARGATE --network-configuration "awsvpcConfiguration={subnets=[$subnet],securityGroups=[$group]}" >/dev/null
    aws logs create-log-group --log-group-name /ecs/demo-web 2>/dev/null || true
    aws secretsmanager create-secret --name demo/db-AbCdEf --secret-string postgres://bench >/dev/null 2>&1 || true
    for role in demo-web-execution demo-web-task; do
        aws iam create-role --role-name "$role" --assume-role-policy-document \
            '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}' >/dev/null 2>&1 || true
    done
    python3 scripts/make_image.py "$work/plan.tar" --tag plan:1 --arch arm64 'files:etc/a=a' 'files:app/c=c'
    "$bin/oci-push" --from "$work/plan.tar" --to "$REGISTRY/bench-plan" --tag 1 >/dev/null 2>&1
    ecr=123456789012.dkr.ecr.$AWS_REGION.amazonaws.com
    printf '[[registry]]\nprefix = "%s"\nlocation = "%s"\n' "$ecr" "$REGISTRY" >"$work/plan-registries.conf"
    "$bin/taskdef-render" -t examples/task-definition.json --container web --image "$ecr/bench-plan:1" >"$work/plan-in.json"
    jq .taskDefinition "$work/plan-in.json" >"$work/plan-td.json"
    cat >"$work/plan-ours.sh" <<OURS_END
CONTAINERS_REGISTRIES_CONF=$work/plan-registries.conf $bin/ecs-deploy --cluster bench-plan --service web --plan <$work/plan-in.json >/dev/null 2>&1
OURS_END
    cat >"$work/plan-theirs.sh" <<THEIRS_END
set -e
running=\$(aws ecs describe-services --cluster bench-plan --services web --query 'services[0].taskDefinition' --output text)
aws ecs describe-task-definition --task-definition "\$running" --query taskDefinition \\
  | jq -S 'del(.taskDefinitionArn, .revision, .status, .requiresAttributes, .compatibilities, .registeredAt, .registeredBy)' >$work/plan-old.json
jq -S . $work/plan-td.json >$work/plan-new.json
diff -u $work/plan-old.json $work/plan-new.json >/dev/null || true
aws logs describe-log-groups --log-group-name-prefix /ecs/demo-web >/dev/null
aws iam get-role --role-name demo-web-execution >/dev/null
aws iam get-role --role-name demo-web-task >/dev/null
aws secretsmanager describe-secret --secret-id arn:aws:secretsmanager:us-east-1:123456789012:secret:demo/db-AbCdEf >/dev/null
skopeo inspect --raw --tls-verify=false docker://$REGISTRY/bench-plan:1 >/dev/null
THEIRS_END
    # Both must pass before their times mean anything (ours: every check
    # made passes; the sidecar's public image is not reachable here).
    CONTAINERS_REGISTRIES_CONF=$work/plan-registries.conf "$bin/ecs-deploy" --cluster bench-plan --service web --plan <"$work/plan-in.json" >"$work/plan-out.json" 2>"$work/plan-err.txt" \
        || { cat "$work/plan-err.txt" >&2; echo "bench: the plan failed before timing" >&2; exit 1; }
    [ "$(jq '[.plan.checks[] | select(.status == "ok")] | length' "$work/plan-out.json")" = 6 ] \
        || { jq .plan.checks "$work/plan-out.json" >&2; echo "bench: the plan's checks are not the six expected" >&2; exit 1; }
    bash "$work/plan-theirs.sh" >&2 || { echo "bench: the aws CLI plan failed before timing" >&2; exit 1; }
    hyperfine --shell=bash --warmup 2 --runs "${BENCH_ECS_RUNS:-30}" --style basic --export-json "$work/plan.json" \
        -n "ecs-deploy --plan" "bash $work/plan-ours.sh" \
        -n "aws CLI + jq + diff + skopeo" "bash $work/plan-theirs.sh" \
        >&2
    python3 - "$work/plan.json" <<'PY'
import json, sys
(ours, theirs) = [x["median"] * 1000 for x in json.load(open(sys.argv[1]))["results"]]
print(f"plan on moto (diff against the running revision, fit, log group, two roles, a secret, the image read from the registry): ecs-deploy --plan {ours:.0f} ms, aws CLI + jq + diff + skopeo {theirs:.0f} ms (medians), ratio {ours / theirs:.3f}x (no target; ecspresso's verify + diff is not on this machine)")
PY
fi

# 6. The whole pipeline (issue 12): login, push a small image, render,
# deploy, wait, with our tools against the same job written with the aws CLI,
# jq and skopeo, on the same moto and registry (target <= 0.2x).
if want pipeline; then
    python3 scripts/make_image.py "$work/pipe.tar" --tag bench:1 'files:etc/a=a' random:app/b=200000 'files:app/c=c'
    scripts/emulators.sh ecs RegisterTaskDefinition examples/task-definition.json >/dev/null
    aws ecs create-cluster --cluster-name bench-pipe >/dev/null
    aws ecs create-service --cluster bench-pipe --service-name web --task-definition demo-web --desired-count 1 >/dev/null
    aws ecr create-repository --repository-name bench-pipe >/dev/null
    ecr=123456789012.dkr.ecr.$AWS_REGION.amazonaws.com
    printf '[[registry]]\nprefix = "%s"\nlocation = "%s"\n' "$ecr" "$REGISTRY_AUTH" >"$work/registries.conf"
    export CONTAINERS_REGISTRIES_CONF=$work/registries.conf DOCKER_CONFIG=$work/docker
    cat >"$work/ours.sh" <<OURS_END
$bin/ecr-login \\
  | $bin/oci-push --from $work/pipe.tar --repository bench-pipe --tag \$RANDOM --tag latest \\
  | $bin/taskdef-render --family demo-web --container web --env GIT_SHA=bench \\
  | $bin/ecs-deploy --cluster bench-pipe --service web \\
  | $bin/ecs-wait --timeout 1m >/dev/null
OURS_END
    cat >"$work/theirs.sh" <<THEIRS_END
set -e
aws ecr get-login-password | skopeo login --tls-verify=false --username AWS --password-stdin $REGISTRY_AUTH >/dev/null
tag=\$RANDOM
skopeo copy --quiet --dest-tls-verify=false docker-archive:$work/pipe.tar docker://$REGISTRY_AUTH/bench-pipe:\$tag
skopeo copy --quiet --src-tls-verify=false --dest-tls-verify=false docker://$REGISTRY_AUTH/bench-pipe:\$tag docker://$REGISTRY_AUTH/bench-pipe:latest
aws ecs describe-task-definition --task-definition demo-web --query taskDefinition \\
  | jq --arg img "$ecr/bench-pipe:\$tag" '.containerDefinitions[0].image = \$img
      | .containerDefinitions[0].environment |= (map(select(.name != "GIT_SHA")) + [{"name": "GIT_SHA", "value": "bench"}])
      | del(.taskDefinitionArn, .revision, .status, .requiresAttributes, .compatibilities, .registeredAt, .registeredBy)' >$work/pipe-td.json
aws ecs register-task-definition --cli-input-json file://$work/pipe-td.json >/dev/null
aws ecs update-service --cluster bench-pipe --service web --task-definition demo-web >/dev/null
aws ecs wait services-stable --cluster bench-pipe --services web
THEIRS_END
    bash "$work/ours.sh" >&2 && bash "$work/theirs.sh" >&2 || { echo "bench: a pipeline failed before timing" >&2; exit 1; }
    hyperfine --shell=bash --warmup 1 --runs "${BENCH_PIPE_RUNS:-10}" --style basic --export-json "$work/pipe.json" \
        -n "ecr-login | oci-push | taskdef-render | ecs-deploy | ecs-wait" "bash $work/ours.sh 2>/dev/null" \
        -n "aws CLI + skopeo + jq" "bash $work/theirs.sh 2>/dev/null" \
        >&2
    python3 - "$work/pipe.json" <<'PY'
import json, sys
(ours, theirs) = [x["median"] * 1000 for x in json.load(open(sys.argv[1]))["results"]]
print(f"the whole pipeline on moto (login, push a small image under two tags, render, register, update, wait): ours {ours:.0f} ms, aws CLI + skopeo + jq {theirs:.0f} ms (medians), ratio {ours / theirs:.2f}x (target <= 0.20x)")
PY
fi

# 7. Cold start of every binary: `--version`, nothing loaded.
if want start; then
    args=()
    for tool in ecr-login oci-push taskdef-render ecs-deploy ecs-wait ecs-run; do
        args+=(-n "$tool" "$bin/$tool --version")
    done
    hyperfine --shell=none --warmup 5 --runs "${BENCH_START_RUNS:-50}" --style basic --export-json "$work/start.json" "${args[@]}" >&2
    python3 - "$work/start.json" <<'PY'
import json, sys
runs = json.load(open(sys.argv[1]))["results"]
print("cold start (--version, medians): " + ", ".join(f"{r['command']} {r['median'] * 1000:.1f} ms" for r in runs))
PY
fi

exec 1>&3
cat "$results"
if [ -z "${BENCH_ONLY:-}" ]; then
    mkdir -p bench
    {
        echo "# make bench: the figures"
        echo
        echo "Written by \`make bench\` (scripts/bench.sh) on $(date -u +%Y-%m-%d): $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), $(uname -sr)."
        echo "Medians of hyperfine runs, ours and the tool it replaces in the same run; figures"
        echo "move from run to run on a shared machine, the ratios less."
        echo
        echo "| figure (ours vs the tool it replaces, medians, ratio, target) |"
        echo "| --- |"
        sed 's/|/\\|/g; s/^/| /; s/$/ |/' "$results"
    } >bench/results.md
    echo "bench: wrote bench/results.md" >&2
fi
