#!/bin/sh
# install.sh: installs the deploy toolkit (the multicall binary `deploykit`
# and a link to it named as each tool) from a release, checksum verified.
#
#   curl -fsSL https://raw.githubusercontent.com/OWNER/REPO/main/scripts/install.sh \
#     | sh -s -- --version v0.1.0 --to "$HOME/.local/bin"
#
# Options:
#   --version vX.Y.Z  the release (default: latest)
#   --to DIR          where the binary and its links go (default: $HOME/.local/bin)
#   --base-url URL    where the release's files are, for mirrors and tests
#                     (or DEPLOYKIT_BASE_URL; default: the GitHub release of
#                     --version at DEPLOYKIT_REPO, deploykit/deploykit)
#   --cache DIR       keeps verified archives: a second install of the same
#                     version downloads nothing (or DEPLOYKIT_CACHE; default:
#                     ${XDG_CACHE_HOME:-$HOME/.cache}/deploykit)
#   --target TRIPLE   the build to install (default: this machine's)
#
# The archive must match its line in the release's SHA256SUMS, or nothing is
# installed. POSIX sh: runs under dash, busybox and bash alike.
set -eu

say() { printf 'install.sh: %s\n' "$*" >&2; }
fail() { say "$*"; exit "${code:-1}"; }
usage() { code=2 fail "$*"; }

version=latest
to=${HOME:-}/.local/bin
base_url=${DEPLOYKIT_BASE_URL:-}
cache=${DEPLOYKIT_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/deploykit}
target=
while [ $# -gt 0 ]; do
    case $1 in
    --version) [ $# -ge 2 ] || usage "--version needs a version (v0.1.0)"; version=$2; shift 2 ;;
    --to) [ $# -ge 2 ] || usage "--to needs a directory"; to=$2; shift 2 ;;
    --base-url) [ $# -ge 2 ] || usage "--base-url needs a URL"; base_url=$2; shift 2 ;;
    --cache) [ $# -ge 2 ] || usage "--cache needs a directory"; cache=$2; shift 2 ;;
    --target) [ $# -ge 2 ] || usage "--target needs a triple"; target=$2; shift 2 ;;
    -h | --help) sed -n '2,21p' "$0" 2>/dev/null | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) usage "unknown argument '$1' (--version, --to, --base-url, --cache, --target)" ;;
    esac
done
case $version in
latest) tag=latest ;;
v[0-9]*) tag=$version ;;
[0-9]*) tag=v$version ;;
*) usage "--version '$version': expected vX.Y.Z or latest" ;;
esac

# This machine's build.
if [ -z "$target" ]; then
    os=$(uname -s) arch=$(uname -m)
    case $arch in
    x86_64 | amd64) arch=x86_64 ;;
    aarch64 | arm64) arch=aarch64 ;;
    *) fail "there is no build for $os on $arch (builds: Linux and macOS, on x86_64 and aarch64)" ;;
    esac
    case $os in
    Linux) target=$arch-unknown-linux-gnu ;;
    Darwin) target=$arch-apple-darwin ;;
    *) fail "there is no build for $os on $arch (builds: Linux and macOS, on x86_64 and aarch64)" ;;
    esac
fi

if [ -z "$base_url" ]; then
    repo=${DEPLOYKIT_REPO:-deploykit/deploykit}
    if [ "$tag" = latest ]; then
        base_url=https://github.com/$repo/releases/latest/download
    else
        base_url=https://github.com/$repo/releases/download/$tag
    fi
fi
base_url=${base_url%/}
# For messages: a mirror's URL may carry a login (https://user:token@host/).
shown_url=$(printf '%s' "$base_url" | sed 's#://[^/@]*@#://***@#')

fetch() { # URL FILE
    if command -v curl >/dev/null 2>&1; then
        curl -fsSL --retry 3 -o "$2" "$1"
    elif command -v wget >/dev/null 2>&1; then
        wget -q -O "$2" "$1"
    else
        fail "neither curl nor wget is installed"
    fi
}
sha256() { # FILE
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | cut -d' ' -f1
    else
        shasum -a 256 "$1" | cut -d' ' -f1
    fi
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM

# The checksums name the archive, and so the version for `latest`. A cached
# copy of a version's checksums serves again: a release's files never change.
sums=$cache/$tag/SHA256SUMS
if [ "$tag" = latest ] || [ ! -f "$sums" ]; then
    fetch "$base_url/SHA256SUMS" "$work/SHA256SUMS" \
        || fail "no release $version at $shown_url (SHA256SUMS could not be downloaded)"
    sums=$work/SHA256SUMS
fi
line=$(grep "  deploykit-[^ ]*-$target\.tar\.gz\$" "$sums" | head -n 1 || true)
if [ -z "$line" ]; then
    builds=$(sed -n 's/.*  deploykit-[^-]*-\(.*\)\.tar\.gz$/\1/p' "$sums" | tr '\n' ' ')
    fail "release $version has no build for $target (it has: ${builds:-none})"
fi
want=${line%%  *}
archive=${line#*  }
resolved=${archive#deploykit-}
resolved=v${resolved%%-*}

cached=$cache/$resolved/$archive
if [ -f "$cached" ] && [ "$(sha256 "$cached")" = "$want" ]; then
    say "$archive: in the cache ($cache/$resolved)"
else
    fetch "$base_url/$archive" "$work/$archive" || fail "could not download $shown_url/$archive"
    got=$(sha256 "$work/$archive")
    [ "$got" = "$want" ] || fail "$archive: checksum mismatch (SHA256SUMS says $want, the download is $got): nothing installed"
    mkdir -p "$cache/$resolved"
    cp "$sums" "$cache/$resolved/SHA256SUMS.tmp" && mv "$cache/$resolved/SHA256SUMS.tmp" "$cache/$resolved/SHA256SUMS"
    cp "$work/$archive" "$cached.tmp" && mv "$cached.tmp" "$cached"
fi

# Unpacked aside, then moved in: a failure leaves --to as it was.
mkdir -p "$work/x"
gzip -dc "$cached" | (cd "$work/x" && tar -xf -) || fail "$archive: not a readable archive: nothing installed"
bin=$work/x/${archive%.tar.gz}/bin
[ -x "$bin/deploykit" ] || fail "$archive holds no bin/deploykit: nothing installed"
mkdir -p "$to"
cp "$bin/deploykit" "$to/.deploykit.tmp" && mv "$to/.deploykit.tmp" "$to/deploykit"
for link in "$bin"/*; do
    name=${link##*/}
    [ "$name" = deploykit ] && continue
    ln -sfn deploykit "$to/$name"
done
say "installed deploykit ${resolved#v} ($target) in $to: $(cd "$bin" && ls | tr '\n' ' ')"
