#!/usr/bin/env python3
"""An AWS endpoint in front of another (moto) that never answers one API
action: `stalling_proxy.py UPSTREAM_URL ACTION` prints its port; a JSON-1.1
request whose X-Amz-Target ends in `.ACTION` is accepted and never answered,
every other request is passed on as it came. For a stall in the middle of a
run (ecs-run's DescribeTasks), which a silent endpoint cannot show.
"""
import http.client
import http.server
import sys
import time
import urllib.parse

UPSTREAM = urllib.parse.urlparse(sys.argv[1])
ACTION = sys.argv[2]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.headers.get("X-Amz-Target", "").endswith("." + ACTION):
            time.sleep(3600)
        conn = http.client.HTTPConnection(UPSTREAM.hostname, UPSTREAM.port, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
        conn.request("POST", self.path, body=body, headers=headers)
        answer = conn.getresponse()
        data = answer.read()
        self.send_response(answer.status)
        for k, v in answer.getheaders():
            if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print(server.server_address[1], flush=True)
server.serve_forever()
