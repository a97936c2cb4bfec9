#!/usr/bin/env python3
"""A registry that fails on cue, for the failure paths a real one will not
produce: `scripted_registry.py METHOD:KIND:STATUS:COUNT ...` serves the
distribution API (blobs in memory, uploads monolithic or POST/PATCH/PUT,
manifests) on 127.0.0.1, prints its port, and answers the first COUNT
requests of METHOD on KIND (blob, upload, manifest) with STATUS instead
(COUNT 0: every one); a STATUS of +NNN does the work first, then answers
NNN (an answer lost after the commit); `bare` does the work and answers
without headers (no Location, no digest: as ECR answers a manifest PUT);
`stall` never answers; `drop` closes the connection unanswered; `NAME_UNKNOWN` answers 404 with that error code (a
repository that does not exist, as ECR answers a push into one).
`upload-host=HOST:PORT` makes every upload's
Location absolute, on that other host (where a second one listens). Every
request is logged on stderr as METHOD PATH STATUS, with ` auth` added when
it carried an Authorization header.
"""
import hashlib
import http.server
import re
import sys
import time
import uuid

RULES = []
UPLOAD_HOST = None
for arg in sys.argv[1:]:
    if arg.startswith("upload-host="):
        UPLOAD_HOST = arg.split("=", 1)[1]
        continue
    method, kind, status, count = arg.split(":")
    RULES.append({"method": method, "kind": kind, "status": status,
                  "left": int(count) or -1})

BLOBS = {}
MANIFESTS = {}
UPLOADS = {}


def kind_of(path):
    if "/blobs/uploads/" in path:
        return "upload"
    if "/blobs/" in path:
        return "blob"
    if "/manifests/" in path:
        return "manifest"
    return "other"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, headers=(), body=b""):
        after = getattr(self, "after", None)
        if after == "bare":
            self.after = None
            headers = ()
        elif after:
            self.after = None
            status, headers, body = int(after), (), b'{"errors":[{"code":"UNKNOWN","message":"scripted"}]}'
        auth = " auth" if self.headers.get("Authorization") else ""
        sys.stderr.write(f"{self.command} {self.path.split('?')[0]} {status}{auth}\n")
        sys.stderr.flush()
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Docker-Distribution-API-Version", "registry/2.0")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def scripted(self):
        for rule in RULES:
            if rule["method"] == self.command and rule["kind"] == kind_of(self.path) and rule["left"] != 0:
                rule["left"] -= 1
                status = rule["status"]
                if status == "stall":
                    time.sleep(3600)
                if status == "drop":
                    # No answer at all: the connection closed, as ECR
                    # answers a push into a repository that does not exist.
                    sys.stderr.write(f"{self.command} {self.path.split('?')[0]} drop\n")
                    sys.stderr.flush()
                    self.close_connection = True
                    return True
                if status == "bare" or status.startswith("+"):
                    self.after = status.lstrip("+")
                    return False
                self.body()
                if status == "NAME_UNKNOWN":
                    # A repository that does not exist, as ECR answers a push into one.
                    self.answer(404, body=b'{"errors":[{"code":"NAME_UNKNOWN","message":"The repository with name \'web\' does not exist in the registry with id \'123456789012\'"}]}')
                else:
                    self.answer(int(status), body=b'{"errors":[{"code":"UNKNOWN","message":"scripted"}]}')
                # The connection is not reused after a refused body.
                self.close_connection = True
                return True
        return False

    def handle_any(self):
        if self.scripted():
            return
        path, _, query = self.path.partition("?")
        params = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
        if path == "/v2/":
            return self.answer(200, body=b"{}")
        m = re.match(r"/v2/(.+)/blobs/uploads/(.*)$", path)
        if m:
            repo, upload = m.groups()
            if self.command == "POST":
                data = self.body()
                digest = params.get("digest", "").replace("%3A", ":")
                if digest:
                    BLOBS[digest] = data
                    return self.answer(201, [("Location", f"/v2/{repo}/blobs/{digest}")])
                upload = uuid.uuid4().hex
                UPLOADS[upload] = b""
                where = f"http://{UPLOAD_HOST}" if UPLOAD_HOST else ""
                return self.answer(202, [("Location", f"{where}/v2/{repo}/blobs/uploads/{upload}"), ("Range", "0-0")])
            if self.command == "PATCH":
                UPLOADS[upload] = UPLOADS.get(upload, b"") + self.body()
                return self.answer(202, [("Location", f"/v2/{repo}/blobs/uploads/{upload}"), ("Range", f"0-{len(UPLOADS[upload]) - 1}")])
            if self.command == "PUT":
                data = UPLOADS.pop(upload, b"") + self.body()
                digest = params.get("digest", "").replace("%3A", ":")
                if "sha256:" + hashlib.sha256(data).hexdigest() != digest:
                    return self.answer(400, body=b'{"errors":[{"code":"DIGEST_INVALID","message":"digest"}]}')
                BLOBS[digest] = data
                return self.answer(201, [("Location", f"/v2/{repo}/blobs/{digest}"), ("Docker-Content-Digest", digest)])
        m = re.match(r"/v2/(.+)/blobs/(sha256:[0-9a-f]+)$", path)
        if m:
            digest = m.group(2)
            if digest not in BLOBS:
                return self.answer(404, body=b'{"errors":[{"code":"BLOB_UNKNOWN","message":"no"}]}')
            return self.answer(200, [("Docker-Content-Digest", digest)], BLOBS[digest])
        m = re.match(r"/v2/(.+)/manifests/(.+)$", path)
        if m:
            repo, ref = m.groups()
            if self.command == "PUT":
                data = self.body()
                digest = "sha256:" + hashlib.sha256(data).hexdigest()
                MANIFESTS[(repo, ref)] = MANIFESTS[(repo, digest)] = (data, self.headers.get("Content-Type"))
                return self.answer(201, [("Location", f"/v2/{repo}/manifests/{digest}"), ("Docker-Content-Digest", digest)])
            if (repo, ref) not in MANIFESTS:
                return self.answer(404, body=b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"no"}]}')
            data, media_type = MANIFESTS[(repo, ref)]
            digest = "sha256:" + hashlib.sha256(data).hexdigest()
            return self.answer(200, [("Content-Type", media_type), ("Docker-Content-Digest", digest)], data)
        self.answer(404)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = handle_any


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
