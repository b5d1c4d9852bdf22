#!/usr/bin/env python3
"""Cheap registry stand-in for the content-check benchmark (health_bench
capacity --check content): on PORT at every address in ADDR_FILE it answers
HTTP/1.1 with keep-alive, as a registry does:
  GET /v2/                                      200 {}
  GET /v2/canary/heartbeat/manifests/latest     an OCI manifest + Docker-Content-Digest
  GET /v2/canary/heartbeat/blobs/DIGEST         its config blob (or layer)
anything else 404. Single thread, epoll; exits after --duration seconds.
Usage: content_responder.py --addr-file F --port P [--duration S]
"""
import argparse
import hashlib
import json
import resource
import selectors
import socket
import time


def digest(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--addr-file", required=True)
    ap.add_argument("--port", type=int, default=18080)
    ap.add_argument("--duration", type=float, default=600)
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    config = json.dumps({"architecture": "amd64", "os": "linux"}).encode()
    layer = b"x" * 2048
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"digest": digest(config), "size": len(config)},
                           "layers": [{"digest": digest(layer), "size": len(layer)}]}).encode()

    def resp(body, extra=""):
        return ("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n" % (len(body), extra)).encode() + body

    routes = {
        "/v2/": resp(b"{}", "Content-Type: application/json\r\n"),
        "/v2/canary/heartbeat/manifests/latest": resp(
            manifest, "Content-Type: application/vnd.oci.image.manifest.v1+json\r\nDocker-Content-Digest: %s\r\n"
            % digest(manifest)),
        "/v2/canary/heartbeat/blobs/" + digest(config): resp(config),
        "/v2/canary/heartbeat/blobs/" + digest(layer): resp(layer),
    }
    missing = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
    sel = selectors.DefaultSelector()
    for line in open(a.addr_file):
        addr = line.strip()
        if not addr:
            continue
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, a.port))
        s.listen(1024)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, None)
    bufs = {}
    end = time.time() + a.duration
    while time.time() < end:
        for key, _ in sel.select(1.0):
            sock = key.fileobj
            if key.data is None:
                try:
                    c, _ = sock.accept()
                except OSError:
                    continue
                c.setblocking(False)
                bufs[c] = b""
                sel.register(c, selectors.EVENT_READ, "c")
                continue
            try:
                data = sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                sel.unregister(sock)
                sock.close()
                bufs.pop(sock, None)
                continue
            buf = bufs[sock] + data
            out = b""
            while b"\r\n\r\n" in buf:
                head, buf = buf.split(b"\r\n\r\n", 1)
                parts = head.split(b" ", 2)
                path = parts[1].decode() if len(parts) > 1 else ""
                r = routes.get(path, missing)
                if parts[0] == b"HEAD":
                    r = r.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"
                out += r
            bufs[sock] = buf
            if out:
                try:
                    sock.sendall(out)
                except OSError:
                    pass


if __name__ == "__main__":
    main()
