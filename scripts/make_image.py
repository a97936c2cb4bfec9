"""Writes an image with no daemon, for `make demo` and `make bench`: a
`docker save` tar, or with --oci-layout an OCI image layout directory (as
buildx `type=oci,tar=false` writes it: gzip layers, an OCI manifest, the tag
as `org.opencontainers.image.ref.name`).

    python3 scripts/make_image.py OUT.tar [--tag REPO:TAG] [--cmd PATH] [--arch ARCH] LAYER...
    python3 scripts/make_image.py --oci-layout OUT-DIR [--tag REPO:TAG] [--cmd PATH] LAYER...

Each LAYER is one of
    files:PATH=TEXT[,PATH=TEXT...]   small text files (\\n in TEXT is a newline)
    random:PATH=BYTES                one file of random bytes
    libraries:MIB                    shared libraries from /usr/lib, just over MIB MiB
                                     of them (taken again, under copy1/, copy2/...,
                                     when /usr/lib holds fewer)
Tars and gzip streams are deterministic (time 0, fixed modes, no name in the
gzip header), so one spec gives one image (but for random layers). Each layer is written to a temporary file beside
OUT.tar first, so a 1 GiB layer does not need 1 GiB of memory.
"""

import argparse
import gzip
import hashlib
import io
import json
import os
import tarfile
import tempfile


class Random:
    """SIZE random bytes, read as tarfile copies them."""

    def __init__(self, size):
        self.left = size

    def read(self, n=-1):
        n = self.left if n < 0 else min(n, self.left)
        self.left -= n
        return os.urandom(n)

    def __enter__(self):
        return self

    def __exit__(self, *_):
        pass


def libraries(mib):
    paths = []
    for root, _, names in sorted(os.walk("/usr/lib")):
        for n in sorted(names):
            p = os.path.join(root, n)
            if os.path.islink(p) or not os.path.isfile(p) or ".so" not in n:
                continue
            paths.append((p, os.path.getsize(p)))
    if not sum(size for _, size in paths):
        raise SystemExit("make_image.py: no shared libraries in /usr/lib")
    total, copy = 0, 0
    while True:
        prefix = f"copy{copy}/" if copy else ""
        for p, size in paths:
            yield prefix + p.lstrip("/"), size, lambda p=p: open(p, "rb")
            total += size
            if total > mib << 20:
                return
        copy += 1


def entries(spec):
    """(name, size, opener) of each file in the layer SPEC."""
    kind, _, rest = spec.partition(":")
    if kind == "files":
        pairs = [p.split("=", 1) for p in rest.split(",")]
        for path, text in pairs:
            data = text.replace("\\n", "\n").encode()
            yield path, len(data), lambda data=data: io.BytesIO(data)
    elif kind == "random":
        path, size = rest.split("=", 1)
        yield path, int(size), lambda: Random(int(size))
    elif kind == "libraries":
        yield from libraries(int(rest))
    else:
        raise SystemExit(f"make_image.py: unknown layer kind {kind!r} (files, random, libraries)")


def write_layer(spec, path):
    """Writes the layer tar of SPEC to PATH and returns its sha256."""
    with tarfile.open(path, "w", format=tarfile.GNU_FORMAT) as t:
        for name, size, opener in entries(spec):
            info = tarfile.TarInfo(name)
            info.size = size
            info.mtime = 0
            info.mode = 0o755
            with opener() as data:
                t.addfile(info, data)
    return sha256_file(path)


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def write_oci_layout(out, tag, config, files):
    """An OCI image layout at OUT: gzip layers, config, manifest, index."""
    blobs = os.path.join(out, "blobs", "sha256")
    os.makedirs(blobs, exist_ok=True)

    def blob(data):
        digest = hashlib.sha256(data).hexdigest()
        with open(os.path.join(blobs, digest), "wb") as f:
            f.write(data)
        return {"digest": "sha256:" + digest, "size": len(data)}

    layers = []
    for f in files:
        gz = f + ".gz"
        with open(f, "rb") as src, open(gz, "wb") as raw:
            with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as z:
                while chunk := src.read(1 << 20):
                    z.write(chunk)
        digest = sha256_file(gz)
        os.replace(gz, os.path.join(blobs, digest))
        layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                       "digest": "sha256:" + digest, "size": os.path.getsize(os.path.join(blobs, digest))})
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **blob(config)},
        "layers": layers,
    }
    descriptor = {"mediaType": manifest["mediaType"], **blob(json.dumps(manifest).encode()),
                  "annotations": {"org.opencontainers.image.ref.name": tag.rpartition(":")[2] or tag}}
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
             "manifests": [descriptor]}
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump(index, f)
    with open(os.path.join(out, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--tag", default="image:latest")
    parser.add_argument("--cmd")
    parser.add_argument("--arch", default="amd64", help="the config's architecture (amd64, arm64)")
    parser.add_argument("--oci-layout", action="store_true",
                        help="write an OCI image layout directory at OUT instead of a docker save tar")
    parser.add_argument("layers", nargs="+")
    args = parser.parse_args()
    parent = os.path.dirname(os.path.abspath(args.out))
    os.makedirs(parent, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=parent) as tmp:
        files = [os.path.join(tmp, f"layer{i}.tar") for i in range(len(args.layers))]
        diff_ids = ["sha256:" + write_layer(spec, f) for spec, f in zip(args.layers, files)]
        config = {"architecture": args.arch, "os": "linux", "rootfs": {"type": "layers", "diff_ids": diff_ids}}
        if args.cmd:
            config["config"] = {"Cmd": [args.cmd]}
        config = json.dumps(config).encode()
        if args.oci_layout:
            write_oci_layout(args.out, args.tag, config, files)
            return
        cid = hashlib.sha256(config).hexdigest()
        names = [f"layer{i}/layer.tar" for i in range(len(files))]
        with tarfile.open(args.out, "w", format=tarfile.GNU_FORMAT) as t:
            def add(name, size, data):
                info = tarfile.TarInfo(name)
                info.size = size
                info.mtime = 0
                t.addfile(info, data)

            add(cid + ".json", len(config), io.BytesIO(config))
            for name, f in zip(names, files):
                with open(f, "rb") as data:
                    add(name, os.path.getsize(f), data)
            manifest = json.dumps([{"Config": cid + ".json", "RepoTags": [args.tag], "Layers": names}]).encode()
            add("manifest.json", len(manifest), io.BytesIO(manifest))


if __name__ == "__main__":
    main()
