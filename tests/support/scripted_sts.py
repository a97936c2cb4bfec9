#!/usr/bin/env python3
"""An STS endpoint that refuses web identity: `scripted_sts.py CODE` prints
its port, then answers every AssumeRoleWithWebIdentity (query protocol: a
form-encoded POST) with the XML error STS gives for CODE (AccessDenied,
InvalidIdentityToken or ExpiredTokenException), as AWS answers a trust
policy or an OIDC provider that does not match the token. Logs one line a
request on stderr: `Action STATUS`. Anything else is a 400.
"""
import http.server
import sys
import urllib.parse

CODE = sys.argv[1]
ANSWERS = {
    "AccessDenied": (403, "Not authorized to perform sts:AssumeRoleWithWebIdentity"),
    "InvalidIdentityToken": (400, "No OpenIDConnect provider found in your account for https://token.actions.githubusercontent.com"),
    "ExpiredTokenException": (400, "Token expired: current date/time 1767225600 must be before the expiration date/time 1767222000"),
}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
        action = form.get("Action", ["?"])[0]
        if action == "AssumeRoleWithWebIdentity":
            status, message = ANSWERS[CODE]
            code = CODE
        else:
            status, code, message = 400, "InvalidAction", f"not scripted: {action}"
        answer = (
            "<ErrorResponse><Error><Type>Sender</Type>"
            f"<Code>{code}</Code><Message>{message}</Message>"
            "</Error><RequestId>x</RequestId></ErrorResponse>"
        ).encode()
        print(f"{action} {status}", file=sys.stderr, flush=True)
        self.send_response(status)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print(server.server_address[1], flush=True)
server.serve_forever()
