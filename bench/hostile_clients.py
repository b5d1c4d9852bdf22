#!/usr/bin/env python3
"""Hostile clients for the soak (issue 18): while the soak's load and changes
run, keep up
  - an admin body flood: unauthenticated 8 MiB bodies, Content-Length and
    chunked, to /v1 paths and to /metrics, again and again;
  - a scrape flood: threads fetching /metrics back to back (no token needed);
  - a DNS-over-TCP flood: connections that pipeline queries and never read.
The daemon's memory must stay flat through all of it (the soak checks RSS).
usage: hostile_clients.py --admin HOST:PORT --dns HOST:PORT --seconds S
"""
import argparse
import socket
import struct
import threading
import time


def body_flood(host, port, until, counts):
    chunk = b"x" * (1 << 20)
    heads = [
        b"POST /v1/anything HTTP/1.1\r\nHost: x\r\nContent-Length: 8388608\r\n\r\n",
        b"POST /v1/reload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
    ]
    i = 0
    while time.time() < until:
        head = heads[i % len(heads)]
        i += 1
        try:
            s = socket.create_connection((host, port), timeout=2)
            s.sendall(head)
            for _ in range(8):
                s.sendall(b"100000\r\n" + chunk + b"\r\n" if b"chunked" in head else chunk)
        except OSError:
            pass  # refused early: what it should do
        finally:
            counts["bodies"] += 1
            s.close()


def scrape_flood(host, port, until, counts):
    request = b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    while time.time() < until:
        try:
            s = socket.create_connection((host, port), timeout=5)
            s.sendall(request)
            while s.recv(65536):
                pass
            s.close()
            counts["scrapes"] += 1
        except OSError:
            counts["scrape_errors"] += 1
            time.sleep(0.05)


def tcp_flood(host, port, until, counts):
    name = b"".join(bytes([len(l)]) + l for l in b"reg0001.cr.example.test".split(b".")) + b"\0"
    query = struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + name + struct.pack("!HH", 1, 1)
    message = struct.pack("!H", len(query)) + query
    chunk = message * (65536 // len(message))
    while time.time() < until:
        conns = []
        try:
            for _ in range(8):
                s = socket.create_connection((host, port), timeout=2)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                s.setblocking(False)
                conns.append(s)
            deadline = min(until, time.time() + 15)  # under the 120 s connection lifetime
            while time.time() < deadline:
                for s in conns:
                    try:
                        counts["tcp_bytes"] += s.send(chunk)
                    except BlockingIOError:
                        pass
                time.sleep(0.01)
        except OSError:
            counts["tcp_errors"] += 1
        for s in conns:
            s.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--admin", required=True)
    ap.add_argument("--dns", required=True)
    ap.add_argument("--seconds", type=float, required=True)
    a = ap.parse_args()
    ahost, aport = a.admin.rsplit(":", 1)
    dhost, dport = a.dns.rsplit(":", 1)
    until = time.time() + a.seconds
    counts = {"bodies": 0, "scrapes": 0, "scrape_errors": 0, "tcp_bytes": 0, "tcp_errors": 0}
    threads = [threading.Thread(target=body_flood, args=(ahost, int(aport), until, counts))]
    threads += [threading.Thread(target=scrape_flood, args=(ahost, int(aport), until, counts)) for _ in range(2)]
    threads += [threading.Thread(target=tcp_flood, args=(dhost, int(dport), until, counts))]
    for t in threads:
        t.daemon = True
        t.start()
    for t in threads:
        t.join(a.seconds + 30)
    print("hostile clients: {bodies} refused 8 MiB bodies, {scrapes} scrapes ({scrape_errors} failed), "
          "{tcp_bytes} bytes of never-read TCP queries ({tcp_errors} connection errors)".format(**counts))


if __name__ == "__main__":
    main()
