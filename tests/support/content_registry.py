#!/usr/bin/env python3
"""A registry replica whose content can be broken on purpose, for the content
check's integration tests (tests/integration/content_probe_test.cpp). The
end-to-end test (tests/e2e/content_e2e.sh) uses the real docker-registry; this
one exists for the faults a real registry cannot be talked into on cue (a
corrupted blob, a 429 on one step, a hang mid-probe) and to count
connections.

It serves the distribution API over HTTP/1.1 with keep-alive:
  GET /v2/                                  200 (401 + challenge with "token")
  GET|HEAD /v2/canary/heartbeat/manifests/latest   an OCI image manifest, Docker-Content-Digest
  GET|HEAD /v2/canary/multi/manifests/latest       an OCI index of that manifest
  GET|HEAD /v2/canary/big/manifests/latest         a manifest whose blobs claim 20 MiB and more
                                                   (a HEAD of its config answers that length)
  GET|HEAD /v2/canary/*/manifests/sha256:...       the manifest by digest
  GET|HEAD /v2/canary/*/blobs/sha256:...           its config and layer blobs
  POST /v2/R/blobs/uploads/, PUT ...?digest=, GET/DELETE /v2/R/blobs/D   the write check
  GET /token?scope=...                      {"token": "tok-push"} for a push scope, else "tok-pull";
                                            pulls take either, pushes only tok-push
  GET /_stats                               {"connections": N, "requests": N, "tokens": N, "uploads": N}
Faults come from --state-file (JSON, re-read on every request; absent = none):
  {"status": {"manifest"|"child"|"blob"|"api"|"upload"|"put"|"readback": CODE},
   "corrupt": ["blob"|"manifest"|"readback"],   wrong bytes with the right headers
   "hang": "manifest"|"blob"|"delete",           never answer that step
   "token": true,                                demand the token flow for /v2/...
   "absolute_location": true}                    upload Locations name another host (as a
                                                 registry behind a proxy may)
Usage: content_registry.py --addr A --port P --state-file F
"""
import argparse
import hashlib
import json
import os
import re
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


def digest(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


CONFIG = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}).encode()
LAYER = b"layer bytes of the canary image\n" * 64
MANIFEST = json.dumps({
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest(CONFIG), "size": len(CONFIG)},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest(LAYER), "size": len(LAYER)}],
}).encode()
BIG_CONFIG_SIZE = 20 << 20
BIG = json.dumps({
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest(CONFIG),
               "size": BIG_CONFIG_SIZE},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest(LAYER), "size": 30 << 20}],
}).encode()
INDEX = json.dumps({
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.index.v1+json",
    "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest(MANIFEST),
                   "size": len(MANIFEST), "platform": {"architecture": "amd64", "os": "linux"}}],
}).encode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--addr", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--state-file", required=True)
    a = ap.parse_args()
    realm = "http://%s:%d/token" % (a.addr, a.port)
    blobs = {digest(CONFIG): CONFIG, digest(LAYER): LAYER}
    manifests = {digest(MANIFEST): MANIFEST, digest(INDEX): INDEX}
    stats = {"connections": 0, "requests": 0, "tokens": 0, "uploads": 0, "heads": 0, "deletes": 0}
    lock = threading.Lock()

    def state():
        try:
            with open(a.state_file) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def setup(self):
            super().setup()
            with lock:
                stats["connections"] += 1

        def reply(self, code, body=b"", headers=None, head=False):
            self.send_response(code)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not head:
                self.wfile.write(body)

        def error(self, code):
            body = json.dumps({"errors": [{"code": "UNKNOWN", "message": "injected %d" % code}]}).encode()
            self.reply(code, body, {"Content-Type": "application/json"}, self.command == "HEAD")

        def handle_any(self):
            with lock:
                stats["requests"] += 1
            s = state()
            url = urlparse(self.path)
            path = url.path
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            head = self.command == "HEAD"
            if path == "/_stats":
                with lock:
                    return self.reply(200, json.dumps(stats).encode())
            if path == "/token":
                with lock:
                    stats["tokens"] += 1
                scope = parse_qs(url.query).get("scope", [""])[0]
                tok = "tok-push" if scope.endswith(",push") else "tok-pull"
                return self.reply(200, json.dumps({"token": tok, "expires_in": 300}).encode())
            m = re.match(r"^/v2/(.+)/(manifests|blobs)/(uploads/)?(.*)$", path)
            step = "api" if path == "/v2/" else None
            if m:
                repo, kind, upload, ref = m.groups()
                if kind == "manifests":
                    step = "child" if ref.startswith("sha256:") else "manifest"
                elif upload is not None:
                    step = "upload" if self.command == "POST" else "put"
                elif self.command == "DELETE":
                    step = "delete"
                else:
                    step = "blob" if ref in blobs and repo.startswith("canary/") else "readback"
            push = step in ("upload", "put", "delete")
            allowed = ["Bearer tok-push"] if push else ["Bearer tok-pull", "Bearer tok-push"]
            if s.get("token") and self.headers.get("Authorization") not in allowed:
                scope = "repository:%s:pull" % m.group(1) if m else ""
                if push:
                    scope += ",push"
                challenge = 'Bearer realm="%s",service="test"' % realm + (',scope="%s"' % scope if scope else "")
                return self.reply(401, b"", {"WWW-Authenticate": challenge}, head)
            if step is None:
                return self.error(404)
            if s.get("hang") == step:
                time.sleep(30)
                return
            code = s.get("status", {}).get(step)
            if code:
                return self.error(code)
            corrupt = step in s.get("corrupt", [])
            if step == "api":
                return self.reply(200, b"{}", {"Content-Type": "application/json"}, head)
            if step in ("manifest", "child"):
                if step == "manifest":
                    data = {"canary/heartbeat": MANIFEST, "canary/multi": INDEX,
                            "canary/big": BIG}.get(repo) if ref == "latest" else None
                else:
                    data = manifests.get(ref)
                if data is None:
                    return self.error(404)
                media = json.loads(data)["mediaType"]
                sent = data + b" " if corrupt else data
                return self.reply(200, sent, {"Content-Type": media, "Docker-Content-Digest": digest(data)}, head)
            if step in ("blob", "readback"):
                data = blobs.get(ref)
                if head:
                    with lock:
                        stats["heads"] += 1
                if head and repo == "canary/big" and data is not None:
                    self.send_response(200)
                    self.send_header("Content-Length", str(BIG_CONFIG_SIZE))
                    self.send_header("Docker-Content-Digest", ref)
                    self.end_headers()
                    return
                if data is None:
                    return self.error(404)
                sent = (b"X" + data[1:]) if corrupt else data
                return self.reply(200, sent, {"Docker-Content-Digest": ref}, head)
            if step == "upload":
                with lock:
                    stats["uploads"] += 1
                prefix = "http://registry.elsewhere.invalid:1" if s.get("absolute_location") else ""
                return self.reply(202, b"", {"Location": prefix + "/v2/%s/blobs/uploads/%s?_state=x" % (repo, uuid.uuid4()),
                                             "Docker-Upload-UUID": "x"})
            if step == "put":
                want = parse_qs(url.query).get("digest", [""])[0]
                if digest(body) != want:
                    return self.error(400)
                blobs[want] = body
                return self.reply(201, b"", {"Location": "/v2/%s/blobs/%s" % (repo, want), "Docker-Content-Digest": want})
            if step == "delete":
                with lock:
                    stats["deletes"] += 1
                blobs.pop(ref, None)
                return self.reply(202)
            return self.error(404)

        do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = handle_any

    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer((a.addr, a.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
