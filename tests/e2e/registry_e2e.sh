#!/usr/bin/env bash
# End to end with real parts: three Debian docker-registry replicas on
# loopback, Switchyard authoritative for the zone, Unbound as the caching
# resolver with the zone delegated to Switchyard (stub-zone), and skopeo
# pushing and pulling an image built locally with umoci, through the global
# name, with its resolver (/etc/resolv.conf, in a private mount namespace)
# pointed at Unbound. Which replica served each pull is read from the
# registries' own access logs.
#
# Needs root: Unbound must listen on port 53 (resolv.conf has no port) and the
# mount namespace needs CAP_SYS_ADMIN. Usage: registry_e2e.sh SWITCHYARD SWITCHYARDCTL
set -euo pipefail
bin=$1
ctl=$2
[ "$(id -u)" = 0 ] || { echo "FAIL: needs root (Unbound on port 53, a mount namespace for resolv.conf)"; exit 1; }
for tool in docker-registry unbound skopeo umoci dig unshare; do
  command -v "$tool" > /dev/null || { echo "FAIL: $tool is not installed (make test installs it)"; exit 1; }
done

source "$(dirname "$0")/lib.sh"

# A random 127.x.y.0/24 whose addresses we need are free.
pick_network 2:53 11:5000 12:5000 13:5000
zone=cr.e2e.test
global=myregistry.$zone
echo "network $net.0/24: replicas .11 .12 .13:5000, switchyard $net.53:$dns_port, unbound $net.2:53"

# 1. Three replicas sharing one storage (stands in for registry replication),
#    each with its own access log.
start_replica eastus "$net.11" "$work/storage"
start_replica westus "$net.12" "$work/storage"
start_replica westeurope "$net.13" "$work/storage"
wait_replicas "$net.11" "$net.12" "$net.13"

# 2. Switchyard. The resolver's own address maps to eastus (no ECS from Unbound
#    here), a 1 s TTL keeps Unbound's cache from hiding a failover for long.
{ config_head; cat <<CFG
regions:
  eastus:     { location: [37.37, -79.82] }
  westus:     { location: [37.78, -122.42] }
  westeurope: { location: [52.37, 4.90] }
clients:
  trust_ecs: true
  default_region: westeurope
  networks:
    - { cidr: $net.2/32, region: eastus }
routing:
  failover_spread: 1
health:
  scheme: http
  port: 5000
  path: /v2/
  interval: 1s
  timeout: 500ms
  fall: 2
  rise: 1
registries:
  - name: myregistry
    home: eastus
    regional_endpoints: enabled
    replicas:
      - { region: eastus,     addresses: [$net.11] }
      - { region: westus,     addresses: [$net.12] }
      - { region: westeurope, addresses: [$net.13] }
CFG
} > "$work/switchyard.yaml"
openssl rand -hex 24 > "$work/admin.token"
"$bin" --config "$work/switchyard.yaml" --state-dir "$work/state" > "$work/switchyard.log" 2>&1 &
pids+=($!)
sy=(timeout 30 "$ctl" --server "http://$net.53:$admin_port" --token-file "$work/admin.token")

# 3. Unbound, the caching resolver, with the zone delegated to Switchyard.
start_unbound

# Everything answers (bounded).
for i in $(seq 1 100); do
  ready=$(curl -s -o /dev/null -w '%{http_code}' "http://$net.53:$admin_port/readyz" || true)
  answer=$(dig +time=1 +tries=1 @"$net.2" "$global" A +short 2>/dev/null || true)
  [ "$ready" = 200 ] && [ -n "$answer" ] && break
  sleep 0.2
done
[ "$ready" = 200 ] || { fail "switchyard ready"; cat "$work/switchyard.log"; exit 1; }
expect "Unbound resolves the global name to the eastus replica" "$net.11" "$answer"

# 4. An image built locally with umoci.
umoci init --layout "$work/oci" > /dev/null
umoci new --image "$work/oci:hello" > /dev/null
umoci unpack --rootless --image "$work/oci:hello" "$work/bundle" > /dev/null
echo "hello from switchyard e2e" > "$work/bundle/rootfs/hello.txt"
umoci repack --image "$work/oci:hello" "$work/bundle" > /dev/null
umoci config --image "$work/oci:hello" --config.cmd /hello.txt > /dev/null

# skopeo with /etc/resolv.conf pointing at Unbound, in its own mount namespace.
skopeo_via_unbound() { in_resolver_ns skopeo --insecure-policy "$@"; }
# Requests for manifests seen by each replica so far.
manifests() { grep -c 'GET /v2/e2e/hello/manifests/' "$work/$1/log" || true; }
# Pulls through NAME and prints which replica served the manifest.
pull_via() {
  local before_e before_w before_eu
  before_e=$(manifests eastus) before_w=$(manifests westus) before_eu=$(manifests westeurope)
  rm -rf "$work/pulled"
  if ! skopeo_via_unbound copy --src-tls-verify=false "docker://$1:5000/e2e/hello:1" "dir:$work/pulled" \
       > "$work/pull.log" 2>&1; then
    echo "pull-failed"; sed 's/^/    /' "$work/pull.log" >&2; return
  fi
  local served=""
  [ "$(manifests eastus)" -gt "$before_e" ] && served+="eastus"
  [ "$(manifests westus)" -gt "$before_w" ] && served+="westus"
  [ "$(manifests westeurope)" -gt "$before_eu" ] && served+="westeurope"
  echo "${served:-none}"
}
# Waits (bounded) until Unbound answers NAME with ADDR, so the next pull sees the change.
wait_answer() {
  for i in $(seq 1 60); do
    [ "$(dig +time=1 +tries=1 @"$net.2" "$1" A +short 2>/dev/null)" = "$2" ] && return 0
    sleep 0.25
  done
  return 1
}

if skopeo_via_unbound copy --dest-tls-verify=false "oci:$work/oci:hello" "docker://$global:5000/e2e/hello:1" \
     > "$work/push.log" 2>&1; then
  ok "skopeo pushed the image through $global"
else
  fail "skopeo push through $global"; cat "$work/push.log"
fi
expect "the push went to the eastus replica" 1 "$(grep -c 'PUT /v2/e2e/hello/manifests/1' "$work/eastus/log" || true)"
expect "pull through the global name is served by eastus" eastus "$(pull_via "$global")"
layer_ok=no
for blob in "$work/pulled"/*; do
  tar -xzOf "$blob" --wildcards '*hello.txt' 2>/dev/null | grep -q "hello from switchyard e2e" && layer_ok=yes
done
expect "the pulled image holds the pushed file" yes "$layer_ok"

# 5. Operator exclusion: the next pull goes elsewhere; the regional name does not move.
"${sy[@]}" replication update --registry myregistry --name eastus --global-endpoint-routing false > /dev/null
wait_answer "$global" "$net.12" || fail "Unbound sees the exclusion"
expect "excluded: pull through the global name moves to westus" westus "$(pull_via "$global")"
expect "excluded: the regional name still points at eastus" "$net.11" \
  "$(dig +time=1 +tries=1 @"$net.2" myregistry.eastus.geo.$zone A +short)"
expect "excluded: a pull through the regional name is still served by eastus" eastus \
  "$(pull_via "myregistry.eastus.geo.$zone")"
"${sy[@]}" replication update --registry myregistry --name eastus --global-endpoint-routing true > /dev/null
wait_answer "$global" "$net.11" || fail "Unbound sees the re-inclusion"
expect "re-included: pull served by eastus again" eastus "$(pull_via "$global")"

# 6. Injected failure moves traffic; injected throttling does not.
"${sy[@]}" replication fault --registry myregistry --name eastus --health down > /dev/null
wait_answer "$global" "$net.12" || fail "Unbound sees the injected failure"
expect "injected down: pull moves to westus" westus "$(pull_via "$global")"
"${sy[@]}" replication fault --registry myregistry --name eastus --health none > /dev/null
wait_answer "$global" "$net.11" || fail "Unbound sees the cleared fault"
"${sy[@]}" replication fault --registry myregistry --name eastus --health throttled > /dev/null
sleep 2.5  # two TTLs and more than `fall` probe intervals: nothing may move
expect "throttled: pull stays on eastus" eastus "$(pull_via "$global")"
"${sy[@]}" replication fault --registry myregistry --name eastus --health none > /dev/null

# 7. A real failure: the eastus registry process frozen, probes time out.
kill -STOP "${replica_pid[eastus]}"
wait_answer "$global" "$net.12" || fail "failover after the eastus registry froze"
expect "eastus frozen: pull moves to westus" westus "$(pull_via "$global")"
kill -CONT "${replica_pid[eastus]}"
wait_answer "$global" "$net.11" || fail "failback after the eastus registry thawed"
expect "eastus thawed: pull back on eastus" eastus "$(pull_via "$global")"

# 8. A drill through the same DNS server, as an operator would run it.
if "${sy[@]}" drill run --registry myregistry --replica eastus --scenario exclude --dns "$net.53:$dns_port" \
     > "$work/drill.txt" 2>&1; then
  ok "switchyardctl drill run (exclude) passes"
else
  fail "switchyardctl drill run (exclude)"; cat "$work/drill.txt"
fi

if [ "$fails" -gt 0 ]; then
  echo "--- switchyard log"; tail -30 "$work/switchyard.log"
  echo "--- unbound log"; tail -10 "$work/unbound.log"
  echo "$fails failed"
  exit 1
fi
echo "all end-to-end checks passed"
