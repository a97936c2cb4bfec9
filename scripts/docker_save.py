"""Writes a `docker save` tar with no daemon, for `make demo` and `make bench`.

    python3 scripts/docker_save.py OUT.tar [--tag REPO:TAG] [--cmd PATH] LAYER...

Each LAYER is one of
    files:PATH=TEXT[,PATH=TEXT...]   small text files (\\n in TEXT is a newline)
    random:PATH=BYTES                one file of random bytes
    libraries:MIB                    shared libraries from /usr/lib, just over MIB MiB
                                     of them (taken again, under copy1/, copy2/...,
                                     when /usr/lib holds fewer)
Tars are deterministic (time 0, fixed modes), so one spec gives one image
(but for random layers). Each layer is written to a temporary file beside
OUT.tar first, so a 1 GiB layer does not need 1 GiB of memory.
"""

import argparse
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
        raise SystemExit("docker_save.py: no shared libraries in /usr/lib")
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
        raise SystemExit(f"docker_save.py: unknown layer kind {kind!r} (files, random, libraries)")


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
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--tag", default="image:latest")
    parser.add_argument("--cmd")
    parser.add_argument("layers", nargs="+")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=os.path.dirname(os.path.abspath(args.out))) as tmp:
        files = [os.path.join(tmp, f"layer{i}.tar") for i in range(len(args.layers))]
        diff_ids = ["sha256:" + write_layer(spec, f) for spec, f in zip(args.layers, files)]
        config = {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": diff_ids}}
        if args.cmd:
            config["config"] = {"Cmd": [args.cmd]}
        config = json.dumps(config).encode()
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
