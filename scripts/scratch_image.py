"""The toolkit's container image, FROM scratch, written with no daemon: an
OCI image layout holding the multicall binary, a link to it named as each
tool, and a CA bundle (the AWS SDK and oci-push verify TLS with the system's
roots: a scratch image has none).

    python3 scripts/scratch_image.py --binary target/x86_64-unknown-linux-musl/release/deploykit \\
        --arch amd64 --version 0.1.0 --out image-layout [--ca /etc/ssl/certs/ca-certificates.crt]

The binary must be static (musl): a scratch image has no libc. The image:
    /bin/deploykit, /bin/TOOL -> deploykit (and docker-credential-ecr-login)
    /etc/ssl/certs/ca-certificates.crt, /tmp (1777)
    Entrypoint ["/bin/deploykit"], PATH=/bin, SSL_CERT_FILE set, user 65534
so `docker run IMAGE ecs-deploy --help` runs a tool, and an ECS task's
command names one. Deterministic (time 0, root-owned, sorted), as
make_image.py's layouts are; the release workflow pushes it with oci-push.
"""

import argparse
import io
import json
import os
import sys
import tarfile
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_image import sha256_file, write_oci_layout  # noqa: E402

LINKS = ["ecr-login", "oci-push", "taskdef-render", "ecs-deploy", "ecs-wait", "ecs-run",
         "docker-credential-ecr-login"]
CA = "etc/ssl/certs/ca-certificates.crt"


def main():
    parser = argparse.ArgumentParser(description="the toolkit's scratch image, as an OCI layout")
    parser.add_argument("--binary", required=True)
    parser.add_argument("--arch", required=True, choices=["amd64", "arm64"])
    parser.add_argument("--version", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--ca", default="/etc/ssl/certs/ca-certificates.crt")
    parser.add_argument("--source", default="", help="org.opencontainers.image.source (the repository URL)")
    args = parser.parse_args()
    for path in (args.binary, args.ca):
        if not os.path.isfile(path):
            sys.exit(f"scratch_image.py: {path}: no such file")
    os.makedirs(args.out, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=args.out) as tmp:
        layer = os.path.join(tmp, "layer.tar")
        with tarfile.open(layer, "w", format=tarfile.GNU_FORMAT) as t:
            def entry(name, kind, mode, **kw):
                info = tarfile.TarInfo(name)
                info.type, info.mode, info.mtime = kind, mode, 0
                info.uid = info.gid = 0
                info.uname = info.gname = "root"
                for k, v in kw.items():
                    setattr(info, k, v)
                return info
            for d in ["bin", "etc", "etc/ssl", "etc/ssl/certs"]:
                t.addfile(entry(d, tarfile.DIRTYPE, 0o755))
            with open(args.binary, "rb") as f:
                t.addfile(entry("bin/deploykit", tarfile.REGTYPE, 0o755, size=os.path.getsize(args.binary)), f)
            for name in sorted(LINKS):
                t.addfile(entry(f"bin/{name}", tarfile.SYMTYPE, 0o777, linkname="deploykit"))
            with open(args.ca, "rb") as f:
                t.addfile(entry(CA, tarfile.REGTYPE, 0o644, size=os.path.getsize(args.ca)), f)
            t.addfile(entry("tmp", tarfile.DIRTYPE, 0o1777))
        config = {
            "architecture": args.arch,
            "os": "linux",
            "config": {
                "Entrypoint": ["/bin/deploykit"],
                "Env": ["PATH=/bin", f"SSL_CERT_FILE=/{CA}"],
                "User": "65534:65534",
                "Labels": {"org.opencontainers.image.version": args.version,
                           "org.opencontainers.image.title": "deploykit",
                           **({"org.opencontainers.image.source": args.source} if args.source else {})},
            },
            "rootfs": {"type": "layers", "diff_ids": ["sha256:" + sha256_file(layer)]},
        }
        write_oci_layout(args.out, f"deploykit:{args.version}", json.dumps(config, sort_keys=True).encode(), [layer])


if __name__ == "__main__":
    main()
