#!/usr/bin/python3
"""Checks everything under deploy/ that can be checked without a Docker
engine or a Kubernetes cluster: every file parses, every Switchyard config
passes `switchyard --check`, the systemd unit passes `systemd-analyze verify`
and is hardened, the alert rules pass promtool (and their unit tests), the
compose demo and the manifests agree with their configs, the image installs
every library the binaries need, and the dashboard and alerts only use metric
families the daemon exports.

usage: check_deploy.py SOURCE_DIR SWITCHYARD_BIN SWITCHYARDCTL_BIN
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

SRC, BIN, CTL = (os.path.abspath(a) for a in sys.argv[1:4])
DEPLOY = os.path.join(SRC, "deploy")
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def run(cmd, cwd=None):
    p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout + p.stderr


def switchyard_check(text, name):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "switchyard.yaml")
        with open(path, "w") as f:
            f.write(text)
        rc, out = run([BIN, "--check", "--config", path])
        check(rc == 0, f"{name} passes switchyard --check ({out.strip()})")


def load_all(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


# Every YAML and JSON file parses; every Switchyard config in deploy/ is valid.
for root, _, files in os.walk(DEPLOY):
    for name in sorted(files):
        path = os.path.join(root, name)
        rel = os.path.relpath(path, SRC)
        if name.endswith((".yaml", ".yml")):
            try:
                docs = load_all(path)
                check(True, f"{rel} is well-formed YAML ({len(docs)} documents)")
            except yaml.YAMLError as e:
                check(False, f"{rel} is well-formed YAML: {e}")
                continue
            if docs and isinstance(docs[0], dict) and "zone" in docs[0]:
                rc, out = run([BIN, "--check", "--config", path])
                check(rc == 0, f"{rel} passes switchyard --check ({out.strip()})")
        elif name.endswith(".json"):
            try:
                with open(path) as f:
                    json.load(f)
                check(True, f"{rel} is well-formed JSON")
            except ValueError as e:
                check(False, f"{rel} is well-formed JSON: {e}")

# systemd: verify the unit (with ExecStart pointing at the built binary).
unit_path = os.path.join(DEPLOY, "systemd", "switchyard.service")
unit = open(unit_path).read()
for directive in ["DynamicUser=yes", "AmbientCapabilities=CAP_NET_BIND_SERVICE",
                  "CapabilityBoundingSet=CAP_NET_BIND_SERVICE", "NoNewPrivileges=yes", "ProtectSystem=strict",
                  "PrivateTmp=yes", "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK",
                  "SystemCallFilter=@system-service", "MemoryDenyWriteExecute=yes", "LoadCredential=admin.token:"]:
    check(directive in unit, f"systemd unit has {directive}")
check(not re.search(r"^User=root", unit, re.M), "systemd unit does not run as root")
with tempfile.TemporaryDirectory() as d:
    copy = os.path.join(d, "switchyard.service")
    with open(copy, "w") as f:
        f.write(unit.replace("/usr/bin/switchyard", BIN))
    rc, out = run(["systemd-analyze", "verify", copy])
    problems = [l for l in out.splitlines() if "switchyard.service" in l]
    check(rc == 0 and not problems, "systemd-analyze verify switchyard.service" + (": " + out if problems or rc else ""))

# Prometheus rules: syntax, then their unit tests.
rules = os.path.join(DEPLOY, "prometheus")
rc, out = run(["promtool", "check", "rules", "alerts.yml"], cwd=rules)
check(rc == 0, "promtool check rules alerts.yml" + ("" if rc == 0 else ": " + out))
rc, out = run(["promtool", "test", "rules", "alerts_test.yml"], cwd=rules)
check(rc == 0, "promtool test rules alerts_test.yml" + ("" if rc == 0 else ": " + out))
alerts = {r["alert"] for g in load_all(os.path.join(rules, "alerts.yml"))[0]["groups"] for r in g["rules"]}
for wanted in ["SwitchyardReplicaDown", "SwitchyardFailoverActive", "SwitchyardFailOpen", "SwitchyardProbesStalled",
               "SwitchyardExclusionLeftOn", "SwitchyardReplicaLagging"]:
    check(wanted in alerts, f"alert rule {wanted} exists")

# Metric names in the dashboard and the alerts are families the daemon writes.
# (control_metrics.cpp: the event families; query_metrics.cpp, routing_metrics.cpp: the scrape-time ones.)
families = set()
for source in ("control_metrics.cpp", "query_metrics.cpp", "routing_metrics.cpp"):
    families |= set(re.findall(r'"(switchyard_[a-z_]+)"', open(os.path.join(SRC, "control", source)).read()))
def used(text):
    names = set()
    for m in re.findall(r"switchyard_[a-z_]+", text):
        names.add(re.sub(r"_(bucket|sum|count)$", "", m) if re.sub(r"_(bucket|sum|count)$", "", m) in families else m)
    return names
dashboard = open(os.path.join(DEPLOY, "grafana", "switchyard.json")).read()
alerts_text = open(os.path.join(rules, "alerts.yml")).read()
for name, text in [("grafana/switchyard.json", dashboard), ("prometheus/alerts.yml", alerts_text)]:
    unknown = sorted(n for n in used(text) if n not in families and not n.startswith("switchyardctl"))
    check(not unknown, f"{name} uses only exported metric families" + (f" (unknown: {unknown})" if unknown else ""))
check(len(json.loads(dashboard)["panels"]) >= 6, "dashboard has its panels")

# Compose demo: configs valid for their programs, addresses consistent.
compose_dir = os.path.join(DEPLOY, "compose")
compose = load_all(os.path.join(compose_dir, "compose.yaml"))[0]
services = compose["services"]
for wanted in ["registry-eastus", "registry-westus", "registry-westeurope", "switchyard", "unbound", "prometheus",
               "grafana"]:
    check(wanted in services, f"compose has service {wanted}")
for svc, spec in services.items():
    for v in spec.get("volumes", []):
        host = v.split(":")[0]
        if host.startswith("."):
            check(os.path.exists(os.path.join(compose_dir, host)), f"compose {svc} mounts existing {host}")
    build = spec.get("build")
    if build:
        df = os.path.join(compose_dir, build["context"], build.get("dockerfile", "Dockerfile"))
        check(os.path.exists(df), f"compose {svc} builds from existing {os.path.relpath(df, SRC)}")
rc, out = run(["unbound-checkconf", os.path.join(compose_dir, "unbound.conf")])
check(rc == 0, "unbound-checkconf compose/unbound.conf" + ("" if rc == 0 else ": " + out))
rc, out = run(["promtool", "check", "config", "--syntax-only", os.path.join(compose_dir, "prometheus.yml")])
check(rc == 0, "promtool check config compose/prometheus.yml" + ("" if rc == 0 else ": " + out))
sy = load_all(os.path.join(compose_dir, "switchyard.yaml"))[0]
ip = lambda s: services[s]["networks"]["demo"]["ipv4_address"]
for rep in sy["registries"][0]["replicas"]:
    check(rep["addresses"] == [ip("registry-" + rep["region"])],
          f"compose replica {rep['region']} address matches its registry container")
stub = re.search(r"stub-addr:\s*(\S+)@(\d+)", open(os.path.join(compose_dir, "unbound.conf")).read())
check(stub and stub.group(1) == ip("switchyard") and sy["listen"]["dns"] == [f"0.0.0.0:{stub.group(2)}"],
      "Unbound's stub-addr is Switchyard's address and port")
token = open(os.path.join(compose_dir, "admin.token")).read().strip()
check(len(token) >= 16, "compose admin token is long enough")

# Fleet compose: three etcd members and three nodes whose configs name
# distinct nodes, list every etcd member by its address, and mount.
fleet_dir = os.path.join(DEPLOY, "fleet")
fleet = load_all(os.path.join(fleet_dir, "compose.yaml"))[0]["services"]
etcd_urls = set()
for name, svc in fleet.items():
    if name.startswith("etcd"):
        cmd = svc["command"]
        etcd_urls.add(cmd[cmd.index("--advertise-client-urls") + 1])
        addr = svc["networks"]["fleet"]["ipv4_address"]
        check(f"http://{addr}:2379" == cmd[cmd.index("--advertise-client-urls") + 1],
              f"fleet {name} advertises its own address")
check(len(etcd_urls) == 3, "fleet compose runs a 3-member etcd cluster")
nodes = set()
for name, svc in sorted(fleet.items()):
    if not name.startswith("switchyard"):
        continue
    host = svc["volumes"][0].split(":")[0]
    cfg_path = os.path.join(fleet_dir, host)
    check(os.path.exists(cfg_path), f"fleet {name} mounts existing {host}")
    cfg = load_all(cfg_path)[0]
    nodes.add(cfg["fleet"]["node"])
    check(set(cfg["fleet"]["etcd"]) == etcd_urls, f"fleet {name} lists every etcd member")
    glue = {a for ns in cfg["nameservers"] for a in ns["addresses"]}
    check(svc["networks"]["fleet"]["ipv4_address"] in glue, f"fleet {name}'s address is in the nameserver glue")
check(len(nodes) == 3, "fleet nodes have distinct names")

# Kubernetes: the ConfigMap's config is valid; names and ports line up.
k8s_dir = os.path.join(DEPLOY, "kubernetes")
docs = []
for name in sorted(os.listdir(k8s_dir)):
    if name.endswith(".yaml") and name != "kustomization.yaml":
        for d in load_all(os.path.join(k8s_dir, name)):
            check(all(k in d for k in ("apiVersion", "kind", "metadata")) and "name" in d["metadata"],
                  f"kubernetes/{name}: {d.get('kind')} has apiVersion, kind and metadata.name")
            docs.append(d)
by_kind = {}
for d in docs:
    by_kind.setdefault(d["kind"], {})[d["metadata"]["name"]] = d
kustomize = load_all(os.path.join(k8s_dir, "kustomization.yaml"))[0]
check(sorted(kustomize["resources"]) == sorted(n for n in os.listdir(k8s_dir) if n.endswith(".yaml") and n != "kustomization.yaml"),
      "kustomization lists every manifest")
cm = by_kind["ConfigMap"]["switchyard-config"]
switchyard_check(cm["data"]["switchyard.yaml"], "kubernetes ConfigMap switchyard.yaml")
cfg = yaml.safe_load(cm["data"]["switchyard.yaml"])
secret = by_kind["Secret"]["switchyard-admin-token"]
check(len(secret["stringData"]["admin.token"]) >= 16, "kubernetes Secret token placeholder is at least 16 characters")
dep = by_kind["Deployment"]["switchyard"]
pod = dep["spec"]["template"]["spec"]
container = pod["containers"][0]
volumes = {v["name"]: v for v in pod["volumes"]}
check(volumes["config"]["configMap"]["name"] == "switchyard-config", "Deployment mounts the ConfigMap")
check(volumes["token"]["secret"]["secretName"] == "switchyard-admin-token", "Deployment mounts the Secret")
check(volumes["state"]["persistentVolumeClaim"]["claimName"] in by_kind["PersistentVolumeClaim"], "state PVC exists")
ports = {p["name"]: p for p in container["ports"]}
dns_port = int(cfg["listen"]["dns"][0].rsplit(":", 1)[1])
admin_port = int(cfg["listen"]["admin"].rsplit(":", 1)[1])
check(ports["dns-udp"]["containerPort"] == dns_port and ports["dns-udp"]["protocol"] == "UDP", "dns-udp port matches listen.dns")
check(ports["dns-tcp"]["containerPort"] == dns_port and ports["dns-tcp"]["protocol"] == "TCP", "dns-tcp port matches listen.dns")
check(ports["admin"]["containerPort"] == admin_port, "admin port matches listen.admin")
sc = container["securityContext"]
check(pod["securityContext"]["runAsNonRoot"] and not sc["allowPrivilegeEscalation"] and sc["readOnlyRootFilesystem"]
      and sc["capabilities"]["drop"] == ["ALL"], "pod runs non-root, read-only, with no capabilities")
check(container["readinessProbe"]["httpGet"]["path"] == "/readyz", "readiness probe uses /readyz")
svc = by_kind["Service"]["switchyard-dns"]
svc_ports = {(p["port"], p["protocol"]): p["targetPort"] for p in svc["spec"]["ports"]}
check(svc_ports.get((53, "UDP")) == "dns-udp" and svc_ports.get((53, "TCP")) == "dns-tcp", "Service serves 53/UDP and 53/TCP")
check(svc["spec"]["selector"] == dep["spec"]["selector"]["matchLabels"], "Service selects the Deployment's pods")
check("--admin-token-file" in container["args"], "the token comes from the Secret (--admin-token-file)")

# Container image: multi-stage, bookworm-slim, installs every library the binaries link.
dockerfile = open(os.path.join(DEPLOY, "docker", "Dockerfile")).read()
froms = re.findall(r"^FROM\s+(\S+)", dockerfile, re.M)
check(len(froms) >= 2 and froms[-1] == "debian:bookworm-slim", "Dockerfile is multi-stage, runtime on debian:bookworm-slim")
runtime = dockerfile[dockerfile.rindex("FROM"):]
installed = set(re.findall(r"[a-z0-9][a-z0-9.+-]+", runtime.split("apt-get install", 1)[1].split("&&", 1)[0]))
in_slim = {"libc6", "libgcc-s1", "libstdc++6"}
# The unit's header names the runtime packages a systemd host installs.
unit_line = re.search(r"^#\s+apt-get install (.*)$", unit, re.M)
check(unit_line is not None, "the systemd unit lists its runtime libraries (apt-get install ...)")
unit_installs = set(unit_line.group(1).split()) if unit_line else set()


def package_of(path):
    # /lib is /usr/lib on Debian 12 (usrmerge); dpkg knows one spelling.
    real = os.path.realpath(path)
    for candidate in (path, real, "/usr" + path, "/usr" + real, path.replace("/usr", "", 1), real.replace("/usr", "", 1)):
        rc, out = run(["dpkg", "-S", candidate])
        if rc == 0:
            return out.split(":")[0].strip()
    return "?"


for binary in (BIN, CTL):
    rc, out = run(["objdump", "-p", binary])
    rc, linked = run(["ldd", binary])
    where = dict(re.findall(r"^\s*(\S+) => (\S+)", linked, re.M))
    for soname in re.findall(r"NEEDED\s+(\S+)", out):
        if re.match(r"lib(asan|ubsan|lsan|tsan)\.so", soname):
            continue  # a sanitizer build (make asan); the image builds without them
        pkg = package_of(where.get(soname, soname))
        check(pkg in installed or pkg in in_slim, f"image installs {pkg} for {os.path.basename(binary)}'s {soname}")
        check(pkg in unit_installs or pkg in in_slim,
              f"the systemd unit's library list has {pkg} for {os.path.basename(binary)}'s {soname}")
check("USER 10053" in runtime, "image runs as a non-root user")

print(f"\n{len(failures)} failed" if failures else "\nall deploy checks passed")
sys.exit(1 if failures else 0)
