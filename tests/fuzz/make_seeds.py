#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora (run once; the outputs are committed).
Queries are built by hand so the seeds cover what the parser's rules name:
EDNS, ECS of both families, every endpoint kind, NXDOMAIN, out of zone,
compression pointers, other opcodes, EDNS versions."""
import os, struct, sys

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))

def name(n):
    out = b""
    for label in n.strip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"

def opt(options=b"", udp=1232, ttl=0):
    return b"\0" + struct.pack(">HHIH", 41, udp, ttl, len(options)) + options

def ecs(family, source, addr):
    body = struct.pack(">HBB", family, source, 0) + addr
    return struct.pack(">HH", 8, len(body)) + body

def query(qname, qtype=1, additional=b"", flags=0x0100, qid=0x1234, qd=None):
    ar = 1 if additional else 0
    q = qd if qd is not None else name(qname) + struct.pack(">HH", qtype, 1)
    return struct.pack(">HHHHHH", qid, flags, 1, 0, 0, ar) + q + additional

Z = "cr.example.test"
seeds = {
    "query": {
        "a_global": query("myregistry." + Z),
        "a_global_ecs4": query("myregistry." + Z, 1, opt(ecs(1, 24, bytes([198, 51, 100])))),
        "aaaa_global_ecs6": query("myregistry." + Z, 28, opt(ecs(2, 48, bytes.fromhex("20010db80004")))),
        "soa_apex": query(Z, 6),
        "ns_apex": query(Z, 2, opt()),
        "any_apex": query(Z, 255),
        "a_regional": query("myregistry.eastus.geo." + Z),
        "a_data": query("myregistry.eastus.data." + Z, 1, opt()),
        "cname_regional": query("teamb.southeastasia.geo." + Z, 1),
        "nxdomain": query("nope." + Z),
        "refused": query("example.com"),
        "txt_global": query("myregistry." + Z, 16),
        "pointer_in_qname": query("", qd=b"\xc0\x0c" + struct.pack(">HH", 1, 1)),
        "notify": query(Z, 6, flags=0x2000),
        "edns_v1": query("myregistry." + Z, 1, opt(ttl=1 << 16)),
        "do_bit": query("myregistry." + Z, 1, opt(ttl=0x8000)),
        "two_questions": struct.pack(">HHHHHH", 1, 0x100, 2, 0, 0, 0) + (name(Z) + b"\0\6\0\1") * 2,
        "header_only": struct.pack(">HHHHHH", 1, 0x100, 0, 0, 0, 0),
    },
    "edns": {
        "ecs4_24": struct.pack(">HI", 1232, 0) + ecs(1, 24, bytes([198, 51, 100])),
        "ecs4_32": struct.pack(">HI", 4096, 0) + ecs(1, 32, bytes([198, 51, 100, 130])),
        "ecs6_56": struct.pack(">HI", 1232, 0x8000) + ecs(2, 56, bytes.fromhex("20010db8000400")),
        "ecs_zero": struct.pack(">HI", 512, 0) + ecs(1, 0, b""),
        "cookie": struct.pack(">HI", 1232, 0) + struct.pack(">HH", 10, 8) + b"\x01" * 8,
        "cookie_and_ecs": struct.pack(">HI", 1232, 0) + struct.pack(">HH", 10, 8) + b"\x02" * 8 + ecs(1, 24, b"\xc6\x33\x64"),
        "two_ecs": struct.pack(">HI", 1232, 0) + ecs(1, 24, b"\xc6\x33\x64") * 2,
        "bad_length": struct.pack(">HI", 1232, 0) + struct.pack(">HH", 8, 40) + b"\x00\x01\x18\x00",
        "version1": struct.pack(">HI", 1232, 1 << 16),
    },
}
for target, items in seeds.items():
    d = os.path.join(here, "corpus", target)
    os.makedirs(d, exist_ok=True)
    for n, data in items.items():
        with open(os.path.join(d, n), "wb") as f:
            f.write(data)

# Config seeds: the reference-shaped example, the tests' topology, small broken files.
d = os.path.join(here, "corpus", "config")
os.makedirs(d, exist_ok=True)
with open(os.path.join(root, "deploy", "examples", "switchyard.yaml")) as f:
    example = f.read()
open(os.path.join(d, "example.yaml"), "w").write(example)
open(os.path.join(d, "freshness.yaml"), "w").write(example.replace(
    "    home: eastus\n",
    "    home: eastus\n    freshness:\n      canaries: [\"canary/heartbeat:latest\", \"team/app:v1\"]\n"
    "      max_staleness: 2m\n      reference: majority\n", 1))
for n, text in {
    "tab_indent.yaml": "zone: a.test\n\tregions: {}\n",
    "unknown_key.yaml": "zone: a.test\nnonsense: 1\n",
    "anchors.yaml": "zone: &z a.test\nregions: {r1: {location: [1, 2]}}\nx: *z\n",
    "empty_registries.yaml": "zone: a.test\nregistries: []\n",
}.items():
    open(os.path.join(d, n), "w").write(text)
print("seeds written under", os.path.join(here, "corpus"))
