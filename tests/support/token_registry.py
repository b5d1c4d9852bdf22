#!/usr/bin/env python3
"""A registry replica that demands the distribution token flow, for tests.

Debian's docker-registry can only do token auth with a JWT-signing token
server; this stands in for the HTTP exchange a client sees (Docker Hub, GHCR,
ACR anonymous pull all look like this):

  GET|HEAD /v2/                        401 + Bearer challenge (healthy for a probe)
  GET|HEAD /v2/REPO/manifests/TAG      401 + challenge without 'Authorization: Bearer tok-REPO';
                                       with it: 200 + Docker-Content-Digest from --digest-file
                                       (no file: 404, the tag is absent)
  GET /token?service=S&scope=repository:REPO:pull
                                       {"token": "tok-REPO", "expires_in": 300}; each call
                                       appends a line to --count-file

Usage: token_registry.py --addr A --port P --digest-file F --count-file C
Runs until killed.
"""
import argparse
import json
import os
import re
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--addr", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--digest-file", required=True)
    ap.add_argument("--count-file", required=True)
    a = ap.parse_args()
    realm = "http://%s:%d/token" % (a.addr, a.port)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def reply(self, status, headers=(), body=b""):
            self.send_response(status)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def challenge(self, scope):
            value = 'Bearer realm="%s",service="token-registry"' % realm
            if scope:
                value += ',scope="%s"' % scope
            self.reply(401, [("WWW-Authenticate", value)], b'{"errors":[{"code":"UNAUTHORIZED"}]}')

        def handle_any(self):
            url = urlparse(self.path)
            if url.path == "/token":
                with open(a.count_file, "a") as f:
                    f.write(self.path + "\n")
                scope = parse_qs(url.query).get("scope", [""])[0]
                m = re.fullmatch(r"repository:([a-z0-9._/-]+):pull", scope)
                if not m:
                    return self.reply(400, body=b'{"error":"bad scope"}')
                body = json.dumps({"token": "tok-" + m.group(1), "expires_in": 300}).encode()
                return self.reply(200, [("Content-Type", "application/json")], body)
            m = re.fullmatch(r"/v2/(.+)/manifests/([^/]+)", url.path)
            if not m:
                return self.challenge("")
            repo = m.group(1)
            if self.headers.get("Authorization") != "Bearer tok-" + repo:
                return self.challenge("repository:%s:pull" % repo)
            if not os.path.exists(a.digest_file):
                return self.reply(404, body=b'{"errors":[{"code":"MANIFEST_UNKNOWN"}]}')
            digest = open(a.digest_file).read().strip()
            self.reply(200, [("Docker-Content-Digest", digest),
                             ("Content-Type", "application/vnd.oci.image.manifest.v1+json")])

        do_GET = handle_any
        do_HEAD = handle_any

    ThreadingHTTPServer((a.addr, a.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
