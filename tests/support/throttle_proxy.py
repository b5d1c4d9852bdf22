#!/usr/bin/env python3
"""A reverse proxy in front of one registry replica that sheds content reads
with 429 while a flag file exists, as a registry under load (or a rate limit
in front of it) does: /v2/ still answers, manifests and blobs get
"429 Too Many Requests" with Retry-After. Everything else is forwarded as is.
For tests/e2e/content_e2e.sh (a throttled replica must not be failed over).

Usage: throttle_proxy.py --addr A --port P --upstream HOST:PORT --flag FILE
"""
import argparse
import http.client
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--addr", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--flag", required=True)
    a = ap.parse_args()
    up_host, up_port = a.upstream.rsplit(":", 1)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def forward(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            if os.path.exists(a.flag) and ("/manifests/" in self.path or "/blobs/" in self.path):
                msg = b'{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}'
                self.send_response(429)
                self.send_header("Retry-After", "1")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(msg)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(msg)
                return
            conn = http.client.HTTPConnection(up_host, int(up_port), timeout=5)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "keep-alive")}
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            self.send_response(resp.status)
            for k, v in resp.getheaders():
                if k.lower() not in ("connection", "keep-alive", "transfer-encoding", "content-length"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            conn.close()

        do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = forward

    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer((a.addr, a.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
