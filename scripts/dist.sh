#!/usr/bin/env bash
# scripts/dist.sh: the release archive of the multicall binary, as the
# release workflow uploads it and scripts/install.sh (and action.yml)
# install it:
#
#   DIR/deploykit-VERSION-TARGET.tar.gz   deploykit-VERSION-TARGET/
#                                           bin/deploykit, and a link to it
#                                             named as each tool
#                                           share/ completions, man pages
#                                           README.md, LICENSE
#   DIR/SHA256SUMS                        `sha256sum` lines for every archive in DIR
#
# Usage: scripts/dist.sh [--profile release|debug] [--target TRIPLE] [--out DIR]
#   --profile  the cargo profile built and packed (release; the tests pack
#              the debug build, so `make test` gains no release build)
#   --target   the target triple named in the archive (default: the host's)
#   --out      where the archives go (default: target/dist)
# Environment:
#   DIST_BUILD=0        pack target/PROFILE as it is (no cargo build)
#   SOURCE_DATE_EPOCH   the files' mtime in the archive (default: the last
#                       commit's time, else 0)
#   DIST_GLIBC_FLOOR    the newest glibc symbol version a release binary may
#                       need (default 2.17); a debug build is not held to it
#   DIST_ZIGBUILD       1: build with cargo zigbuild (a linux-gnu target
#                       against the glibc floor; cross targets); the default
#                       for a release of a linux-gnu target (0 to build with
#                       cargo on this machine's glibc, which fails the floor)
#   DIST_CHECK_FLOOR=1  hold a debug build to the floor too (the tests)
#
# The archive is reproducible: entries sorted, mtimes fixed, owner root,
# modes normalised, gzip without a name or time: two packings of the same
# build give the same bytes.
set -euo pipefail
cd "$(dirname "$0")/.."

profile=release target="" out=target/dist
while [ $# -gt 0 ]; do
    case $1 in
    --profile) profile=${2:?--profile needs release or debug}; shift 2 ;;
    --target) target=${2:?--target needs a triple}; shift 2 ;;
    --out) out=${2:?--out needs a directory}; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;p}' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "dist: unknown argument '$1' (--profile, --target, --out)" >&2; exit 2 ;;
    esac
done
case $profile in release | debug) ;; *) echo "dist: --profile: release or debug, not '$profile'" >&2; exit 2 ;; esac
# The host's triple: rustc's, else (no toolchain chosen, DIST_BUILD=0)
# this Linux machine's.
host=$(rustc -vV 2>/dev/null | sed -n 's/^host: //p' || true)
[ -n "$host" ] || host=$(uname -m)-unknown-linux-gnu
[ -n "$target" ] || target=$host

# The one version: the workspace's (Cargo.toml, [workspace.package]).
version=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' Cargo.toml)
[ -n "$version" ] || { echo "dist: no version in Cargo.toml's [workspace.package]" >&2; exit 1; }

floor=${DIST_GLIBC_FLOOR:-2.17}
# A release for a linux-gnu target is built against the floor (cargo
# zigbuild) unless DIST_ZIGBUILD=0; zig and cargo-zigbuild come from PyPI
# into target/tools/zig when not on PATH.
if [ -z "${DIST_ZIGBUILD:-}" ]; then
    DIST_ZIGBUILD=0
    [ "$profile" = release ] && [[ $target == *-linux-gnu ]] && DIST_ZIGBUILD=1
fi
if [ "$DIST_ZIGBUILD" = 1 ] && [ "${DIST_BUILD:-1}" != 0 ] && ! command -v cargo-zigbuild >/dev/null; then
    if [ ! -x target/tools/zig/bin/cargo-zigbuild ]; then
        echo "dist: installing zig and cargo-zigbuild from PyPI into target/tools/zig" >&2
        python3 -m venv target/tools/zig >&2
        target/tools/zig/bin/pip install -q ziglang cargo-zigbuild >&2
    fi
    export PATH=$PWD/target/tools/zig/bin:$PATH
fi
cargo_profile=$([ "$profile" = debug ] && echo dev || echo release)
# The host's build in target/PROFILE; another target's (or the host's
# built against the glibc floor with DIST_ZIGBUILD=1: cargo zigbuild, zig
# from PyPI's ziglang) in target/TARGET/PROFILE. `dist` (completions, man
# pages) always runs here, so it is built for the host.
if [ "$target" = "$host" ] && [ "$DIST_ZIGBUILD" != 1 ]; then
    built=target/$profile
    build=(cargo build --locked --profile "$cargo_profile" -p deploykit-cli)
else
    built=target/$target/$profile
    suffix=""
    case $target in *-linux-gnu) [ "$DIST_ZIGBUILD" = 1 ] && suffix=.$floor ;; esac
    tool=build
    [ "$DIST_ZIGBUILD" = 1 ] && tool=zigbuild
    build=(cargo "$tool" --locked --profile "$cargo_profile" --target "$target$suffix" -p deploykit-cli)
fi
if [ "${DIST_BUILD:-1}" != 0 ]; then
    "${build[@]}" >&2
    cargo build --locked -p dist >&2
fi
# `dist` writes the completions and man pages: the same from any build of
# it, so the debug one (no second release build of every tool).
for f in "$built/deploykit" "target/debug/dist"; do
    [ -x "$f" ] || { echo "dist: $f is not built" >&2; exit 1; }
done

# A release binary runs on every current CI image only if it needs no
# newer glibc than the floor (Amazon Linux 2 has 2.26, Ubuntu 20.04 2.31).
# readelf reads any architecture's ELF.
if { [ "$profile" = release ] || [ "${DIST_CHECK_FLOOR:-0}" = 1 ]; } && [[ $target == *-linux-gnu ]]; then
    needs=$(readelf -W --dyn-syms "$built/deploykit" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -1)
    if [ -n "$needs" ] && [ "$(printf '%s\n%s\n' "$floor" "$needs" | sort -V | tail -1)" != "$floor" ]; then
        echo "dist: $built/deploykit needs glibc $needs, above the floor $floor: build it against the floor (DIST_ZIGBUILD=1: cargo zigbuild --target $target.$floor)" >&2
        exit 1
    fi
fi

name=deploykit-$version-$target
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root=$stage/$name
mkdir -p "$root/bin"
cp "$built/deploykit" "$root/bin/deploykit"
scripts/links.sh "$root/bin" deploykit
"target/debug/dist" "$root"
cp README.md LICENSE "$root/"

epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
mkdir -p "$out"
tar --sort=name --mtime="@$epoch" --owner=0 --group=0 --numeric-owner \
    --mode='u+rwX,go+rX,go-w' --format=gnu -C "$stage" -cf - "$name" \
    | gzip -n -6 >"$out/$name.tar.gz"
(cd "$out" && sha256sum -- *.tar.gz >SHA256SUMS)
echo "dist: $out/$name.tar.gz ($(du -h "$out/$name.tar.gz" | cut -f1)), $out/SHA256SUMS" >&2
