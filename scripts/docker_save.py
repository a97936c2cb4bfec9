"""Writes a `docker save` tar with no daemon, for `make demo` and `make bench`.

    python3 scripts/docker_save.py OUT.tar [--tag REPO:TAG] [--cmd PATH] LAYER...

Each LAYER is one of
    files:PATH=TEXT[,PATH=TEXT...]   small text files (\\n in TEXT is a newline)
    random:PATH=BYTES                one file of random bytes
    libraries:MIB                    shared libraries from /usr/lib, about MIB MiB
Tars are deterministic (time 0, fixed modes), so one spec gives one image
(but for random layers).
"""

import argparse
import hashlib
import io
import json
import os
import tarfile


def tar_of(files):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
        for name, data in files:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            info.mode = 0o755
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def libraries(mib):
    files, total = [], 0
    for root, _, names in sorted(os.walk("/usr/lib")):
        for n in sorted(names):
            p = os.path.join(root, n)
            if os.path.islink(p) or not os.path.isfile(p) or ".so" not in n:
                continue
            data = open(p, "rb").read()
            files.append((p.lstrip("/"), data))
            total += len(data)
            if total > mib << 20:
                return files
    return files


def layer(spec):
    kind, _, rest = spec.partition(":")
    if kind == "files":
        pairs = [p.split("=", 1) for p in rest.split(",")]
        return tar_of([(path, text.replace("\\n", "\n").encode()) for path, text in pairs])
    if kind == "random":
        path, size = rest.split("=", 1)
        return tar_of([(path, os.urandom(int(size)))])
    if kind == "libraries":
        return tar_of(libraries(int(rest)))
    raise SystemExit(f"docker_save.py: unknown layer kind {kind!r} (files, random, libraries)")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--tag", default="image:latest")
    parser.add_argument("--cmd")
    parser.add_argument("layers", nargs="+")
    args = parser.parse_args()
    layers = [layer(spec) for spec in args.layers]
    diff_ids = ["sha256:" + hashlib.sha256(l).hexdigest() for l in layers]
    config = {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": diff_ids}}
    if args.cmd:
        config["config"] = {"Cmd": [args.cmd]}
    config = json.dumps(config).encode()
    cid = hashlib.sha256(config).hexdigest()
    names = [f"layer{i}/layer.tar" for i in range(len(layers))]
    with tarfile.open(args.out, "w", format=tarfile.GNU_FORMAT) as t:
        def add(name, data):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            t.addfile(info, io.BytesIO(data))

        add(cid + ".json", config)
        for name, data in zip(names, layers):
            add(name, data)
        add("manifest.json", json.dumps([{"Config": cid + ".json", "RepoTags": [args.tag], "Layers": names}]).encode())


if __name__ == "__main__":
    main()
