#!/usr/bin/env bash
# Pushes during failover, with real parts: three Debian docker-registry
# replicas with SEPARATE storage (so a push scattered over two replicas really
# fails), Switchyard authoritative for the zone, Unbound as the clients'
# caching resolver with its default RRset rotation, and two real clients that
# push fresh 6-layer images through the global name: skopeo and the Docker
# engine itself (dockerd, Debian docker.io). Both resolve through Unbound:
# each runs in a private mount namespace whose /etc/resolv.conf points at it.
#
# 1. routing.spread all, the nearest replica (eastus) excluded: the answer holds
#    two replicas and pushes fail ("DNS bouncing"): the test can see the problem.
# 2. routing.spread sticky (the default), excluded: no push fails, and every
#    push lands whole on one replica (and pulls back from it).
# 3. sticky, eastus failed by an injected fault, then by a real failure (its
#    registry process frozen): no push fails.
# 4. PowerDNS Recursor with EDNS Client Subnet: clients in different /24s of
#    one region each keep their own replica, from a warm cache, as
#    `switchyardctl routing show --client` says.
#
# Needs root: resolvers on port 53 (resolv.conf has no port), mount namespaces,
# dockerd. Usage: push_e2e.sh SWITCHYARD SWITCHYARDCTL
# PUSHES=N sets the pushes per client and phase (default 3).
set -Eeuo pipefail  # -E: the ERR trap below also fires inside functions
bin=$1
ctl=$2
pushes=${PUSHES:-3}
[ "$(id -u)" = 0 ] || { echo "FAIL: needs root (resolvers on port 53, mount namespaces, dockerd)"; exit 1; }
for tool in docker-registry unbound skopeo umoci dig unshare dockerd docker pdns_recursor; do
  command -v "$tool" > /dev/null || { echo "FAIL: $tool is not installed (make test installs it)"; exit 1; }
done

source "$(dirname "$0")/lib.sh"
# A command that fails outside a check ends the run (set -e): say where, and
# show the logs, so the failure is never silent.
dump_logs() {
  echo "--- switchyard log"; tail -30 "$work/switchyard.log" 2>/dev/null || true
  echo "--- unbound log"; tail -10 "$work/unbound.log" 2>/dev/null || true
  echo "--- dockerd log"; tail -10 "$work/docker/log" 2>/dev/null || true
  echo "--- pdns log"; tail -10 "$work/pdns/log" 2>/dev/null || true
}
trap 'echo "FAIL: command failed at line $LINENO: $BASH_COMMAND"; dump_logs' ERR

pick_network 2:53 3:53 11:5000 12:5000 13:5000
net_re=${net//./\\.}  # $net as a regular expression
zone=cr.e2e.test
global=myregistry.$zone
echo "network $net.0/24: replicas .11 .12 .13:5000, switchyard $net.53:$dns_port, unbound $net.2:53, pdns $net.3:53"

# 1. Three replicas, each with its own storage: nothing is replicated here, so
#    a blob uploaded to one replica is unknown to the others.
start_replica eastus "$net.11" "$work/storage-eastus"
start_replica westus "$net.12" "$work/storage-westus"
start_replica westeurope "$net.13" "$work/storage-westeurope"
wait_replicas "$net.11" "$net.12" "$net.13"
address_of() { case $1 in eastus) echo "$net.11" ;; westus) echo "$net.12" ;; westeurope) echo "$net.13" ;; esac; }

# 2. Switchyard: every loopback client is in eastus, so with eastus out of
#    global routing westus and westeurope share its clients.
write_config() {  # write_config SPREAD
  { config_head; cat <<CFG
regions:
  eastus:     { location: [37.37, -79.82] }
  westus:     { location: [37.78, -122.42] }
  westeurope: { location: [52.37, 4.90] }
clients:
  trust_ecs: true
  default_region: westeurope
  networks:
    - { cidr: 127.0.0.0/8, region: eastus }
routing:
  failover_spread: 2
  spread: $1
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
    replicas:
      - { region: eastus,     addresses: [$net.11] }
      - { region: westus,     addresses: [$net.12] }
      - { region: westeurope, addresses: [$net.13] }
CFG
  } > "$work/switchyard.yaml"
}
write_config all
openssl rand -hex 24 > "$work/admin.token"
"$bin" --config "$work/switchyard.yaml" --state-dir "$work/state" > "$work/switchyard.log" 2>&1 &
pids+=($!)
sy=(timeout 30 "$ctl" --server "http://$net.53:$admin_port" --token-file "$work/admin.token")
reload() {  # reload SPREAD
  write_config "$1"
  "${sy[@]}" reload > /dev/null || fail "switchyardctl reload ($1)"
}

# 3. Unbound with Debian's defaults for what matters here: rrset-roundrobin
#    is on (every cached answer is rotated), and no ECS.
start_unbound
expect "Unbound rotates RRsets (its default)" yes "$(unbound-checkconf -o rrset-roundrobin "$work/unbound.conf")"

# 4. The Docker engine, in its own mount namespace that sees that resolv.conf;
#    no networking of its own is needed to push.
mkdir -p "$work/docker"
unshare -m sh -c "mount --bind '$work/resolv.conf' /etc/resolv.conf && exec dockerd \
  --storage-driver vfs --iptables=false --ip6tables=false --bridge=none \
  -H 'unix://$work/docker/docker.sock' --data-root '$work/docker/root' --exec-root '$work/docker/exec' \
  --pidfile '$work/docker/docker.pid' --insecure-registry '$global:5000'" > "$work/docker/log" 2>&1 &
pids+=($!)
dk=(timeout 120 docker -H "unix://$work/docker/docker.sock")

for i in $(seq 1 150); do
  ready=$(curl -s -o /dev/null -w '%{http_code}' "http://$net.53:$admin_port/readyz" || true)
  answer=$(dig +time=1 +tries=1 @"$net.2" "$global" A +short 2>/dev/null || true)
  docker_ok=$("${dk[@]}" version --format '{{.Server.Version}}' 2>/dev/null || true)
  [ "$ready" = 200 ] && [ -n "$answer" ] && [ -n "$docker_ok" ] && break
  sleep 0.2
done
[ "$ready" = 200 ] || { fail "switchyard ready"; cat "$work/switchyard.log"; exit 1; }
[ -n "$docker_ok" ] || { fail "dockerd ready"; tail -20 "$work/docker/log"; exit 1; }
expect "Unbound resolves the global name to the eastus replica" "$net.11" "$answer"

# Waits (bounded) until Unbound answers NAME with exactly RECORDS (sorted, one line).
wait_answer() {
  for i in $(seq 1 80); do
    [ "$(dig +time=1 +tries=1 @"$net.2" "$1" A +short 2>/dev/null | sort | xargs)" = "$2" ] && return 0
    sleep 0.25
  done
  return 1
}

# fresh_image TAG: a new OCI image of 6 layers of random bytes at $work/oci:TAG
# (fresh blobs every time, so no replica has any of them yet).
umoci init --layout "$work/oci" > /dev/null
fresh_image() {
  local b="$work/bundle-$1"
  umoci new --image "$work/oci:$1" > /dev/null
  umoci unpack --rootless --image "$work/oci:$1" "$b" > /dev/null
  for l in 1 2 3 4 5 6; do
    head -c 300000 /dev/urandom > "$b/rootfs/layer$l.bin"
    umoci repack --refresh-bundle --image "$work/oci:$1" "$b" > /dev/null
  done
  rm -rf "$b"
}
# Replicas whose access log shows the manifest PUT of REPO:TAG.
landed_on() {
  local out="" r
  for r in eastus westus westeurope; do
    grep -q "PUT /v2/$1/manifests/$2 " "$work/$r/log" && out+="${out:+,}$r"
  done
  echo "${out:-none}"
}
push_count=0
# push_skopeo: pushes a fresh image through the global name; sets `result`
# to "ok REPLICAS" or "failed: WHY". (No subshell: push_count must count.)
push_skopeo() {
  push_count=$((push_count + 1))
  local tag="s$push_count"
  last_skopeo_tag=$tag
  fresh_image "$tag"
  if in_resolver_ns skopeo --insecure-policy copy --dest-tls-verify=false "oci:$work/oci:$tag" \
       "docker://$global:5000/e2e/skopeo:$tag" > "$work/push-$tag.log" 2>&1; then
    result="ok $(landed_on e2e/skopeo "$tag")"
  else
    result="failed: $({ grep -o 'blob upload [a-z]*\|manifest blob unknown\|[A-Z_]*UNKNOWN[A-Z_]*' "$work/push-$tag.log" || echo "see push-$tag.log"; } | head -1)"
  fi
}
# push_docker: the same with the Docker engine: load a fresh image, push it.
push_docker() {
  push_count=$((push_count + 1))
  local tag="d$push_count"
  fresh_image "$tag"
  local ref="$global:5000/e2e/docker:$tag"
  skopeo --insecure-policy copy "oci:$work/oci:$tag" "docker-archive:$work/$tag.tar:$ref" > /dev/null
  "${dk[@]}" load -i "$work/$tag.tar" > /dev/null
  rm -f "$work/$tag.tar"
  if "${dk[@]}" push "$ref" > "$work/push-$tag.log" 2>&1; then
    result="ok $(landed_on e2e/docker "$tag")"
  else
    result="failed: $({ grep -io 'blob upload [a-z]*\|manifest blob unknown\|unknown blob' "$work/push-$tag.log" || echo "see push-$tag.log"; } | head -1)"
  fi
}
# run_pushes LABEL CLIENT: $pushes pushes; sets failed_pushes, records results.
run_pushes() {
  local i
  failed_pushes=0
  for i in $(seq 1 "$pushes"); do
    "push_$2"
    echo "     $1 $2 push $i: $result"
    [[ $result == ok* ]] || failed_pushes=$((failed_pushes + 1))
    results+=("$1 $2: $result")
  done
}
results=()

# Phase 1: routing.spread all, eastus excluded: two A records, rotated.
"${sy[@]}" replication update --registry myregistry --name eastus --global-endpoint-routing false > /dev/null
wait_answer "$global" "$net.12 $net.13" || fail "spread all: Unbound sees both sharing replicas"
run_pushes "spread=all excluded" skopeo
all_skopeo=$failed_pushes
run_pushes "spread=all excluded" docker
all_docker=$failed_pushes
# The problem is real: without stickiness pushes bounce between replicas and fail.
[ "$all_skopeo" -gt 0 ] && ok "spread all: $all_skopeo of $pushes skopeo pushes failed (the test sees DNS bouncing)" ||
  fail "spread all: no skopeo push failed, so this test cannot see the problem"
[ "$all_docker" -gt 0 ] && ok "spread all: $all_docker of $pushes docker pushes failed (the test sees DNS bouncing)" ||
  fail "spread all: no docker push failed, so this test cannot see the problem"

# Phase 2: sticky (the default), still excluded: one A record per client subnet.
reload sticky
sticky_addr=""
for i in $(seq 1 80); do
  sticky_addr=$(dig +time=1 +tries=1 @"$net.2" "$global" A +short 2>/dev/null | xargs || true)
  [[ $sticky_addr =~ ^$net_re\.1[23]$ ]] && break
  sleep 0.25
done
[[ $sticky_addr =~ ^$net_re\.1[23]$ ]] && ok "sticky: Unbound's subnet gets one replica ($sticky_addr)" ||
  fail "sticky: one record, got [$sticky_addr]"
sticky_region=$([ "$sticky_addr" = "$net.12" ] && echo westus || echo westeurope)
explain=$("${sy[@]}" --output json routing show --registry myregistry --client "$net.2" || true)
expect "routing show --client names the replica Unbound's subnet gets" "$sticky_region" \
  "$(python3 -c 'import json,sys; print(json.load(sys.stdin)["replica"])' <<< "$explain")"
stable=yes
for i in $(seq 1 20); do
  [ "$(dig +time=1 +tries=1 @"$net.2" "$global" A +short | xargs)" = "$sticky_addr" ] || stable=no
  sleep 0.1
done
expect "sticky: the answer does not change over 2 s of re-resolution" yes "$stable"
run_pushes "sticky excluded" skopeo
expect "sticky, excluded: no skopeo push fails" 0 "$failed_pushes"
run_pushes "sticky excluded" docker
expect "sticky, excluded: no docker push fails" 0 "$failed_pushes"
expect "sticky: every push landed whole on $sticky_region" \
  "$(printf '%s\n' "${results[@]}" | grep '^sticky' | grep -c "ok $sticky_region$")" \
  "$(printf '%s\n' "${results[@]}" | grep -c '^sticky')"
# And what was pushed pulls back through the global name.
if in_resolver_ns skopeo --insecure-policy copy --src-tls-verify=false "docker://$global:5000/e2e/skopeo:$last_skopeo_tag" \
     "dir:$work/pulled" > "$work/pull.log" 2>&1; then
  ok "sticky: a pushed image pulls back through the global name"
else
  fail "sticky: pull back"; tail -5 "$work/pull.log"
fi

# Phase 3: an injected failure instead of the exclusion, then a real one.
"${sy[@]}" replication update --registry myregistry --name eastus --global-endpoint-routing true > /dev/null
"${sy[@]}" replication fault --registry myregistry --name eastus --health down > /dev/null
wait_answer "$global" "$sticky_addr" || fail "sticky, fault: Unbound sees one sharing replica"
run_pushes "sticky fault-down" skopeo
expect "sticky, eastus failed (injected): no skopeo push fails" 0 "$failed_pushes"
run_pushes "sticky fault-down" docker
expect "sticky, eastus failed (injected): no docker push fails" 0 "$failed_pushes"
"${sy[@]}" replication fault --registry myregistry --name eastus --health none > /dev/null
wait_answer "$global" "$net.11" || fail "fault cleared: back on eastus"
kill -STOP "${replica_pid[eastus]}"
wait_answer "$global" "$sticky_addr" || fail "eastus frozen: failover to one sharing replica"
pushes_saved=$pushes
pushes=1
run_pushes "sticky frozen" skopeo
expect "sticky, eastus frozen (real failure): the skopeo push does not fail" 0 "$failed_pushes"
run_pushes "sticky frozen" docker
expect "sticky, eastus frozen (real failure): the docker push does not fail" 0 "$failed_pushes"
pushes=$pushes_saved
kill -CONT "${replica_pid[eastus]}"
"${sy[@]}" replication update --registry myregistry --name eastus --global-endpoint-routing false > /dev/null

# Phase 4: PowerDNS Recursor adds each client's /24 as ECS; Switchyard scopes
# its answer to that /24; clients of different /24s of the region keep their
# own replica from the recursor's cache. A longer TTL keeps the cache warm.
global_ttl=60
reload sticky
mkdir -p "$work/pdns"
cat > "$work/pdns/recursor.conf" <<CFG
local-address=$net.3
local-port=53
query-local-address=$net.3
allow-from=127.0.0.0/8
dont-query=
forward-zones=$zone=$net.53:$dns_port
edns-subnet-allow-list=$zone
ecs-add-for=127.0.0.0/8
ecs-ipv4-bits=24
# Nothing but our zone: no root hints (no priming), no security polling.
hint-file=no
security-poll-suffix=
# The e2e zone is unsigned and there is no root to validate from.
dnssec=off
socket-dir=$work/pdns
daemon=no
write-pid=no
threads=1
CFG
pdns_recursor --config-dir="$work/pdns" > "$work/pdns/log" 2>&1 &
pids+=($!)
# Ready when it answers with an address (dig prints its errors to stdout even with +short).
for i in $(seq 1 100); do
  [[ $(dig +time=1 +tries=1 @"$net.3" "$global" A +short 2>/dev/null || true) =~ ^127\. ]] && break
  sleep 0.2
done
declare -A first
seen=""
for s in $(seq 1 16); do
  first[$s]=$(dig +time=2 +tries=1 -b "127.99.$s.7" @"$net.3" "$global" A +short | xargs || true)
  seen+=" ${first[$s]}"
done
queries_before=$(curl -s "http://$net.53:$admin_port/metrics" |
  awk '/^switchyard_dns_queries_total\{endpoint="global"/ {n += $2} END {print n + 0}')
agree=yes
cached=yes
for s in $(seq 1 16); do
  for host in 7 200; do
    got=$(dig +time=2 +tries=1 -b "127.99.$s.$host" @"$net.3" "$global" A +short | xargs || true)
    [ "$got" = "${first[$s]}" ] || { agree=no; echo "     127.99.$s.$host got [$got], its /24 first got [${first[$s]}]"; }
  done
  [[ ${first[$s]} =~ ^$net_re\.1[23]$ ]] || cached=no
  want=$("${sy[@]}" --output json routing show --registry myregistry --client "127.99.$s.7" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["replica"])' || true)
  [ "${first[$s]}" = "$(address_of "$want")" ] || { agree=no; echo "     127.99.$s.0/24: [${first[$s]}], routing show says $want"; }
done
queries_after=$(curl -s "http://$net.53:$admin_port/metrics" |
  awk '/^switchyard_dns_queries_total\{endpoint="global"/ {n += $2} END {print n + 0}')
expect "PowerDNS Recursor: every /24 got one replica of the two" yes "$cached"
expect "PowerDNS Recursor: each /24 keeps its replica (second address too), as routing show --client says" yes "$agree"
[ "$queries_before" -gt 0 ] || fail "PowerDNS Recursor: switchyard counted no global query (metric not read?)"
expect "PowerDNS Recursor: the repeat round came from its cache (global queries at switchyard stay $queries_before)" \
  "$queries_before" "$queries_after"
distinct=$(printf '%s\n' $seen | sort -u | wc -l)
[ "$distinct" = 2 ] && ok "PowerDNS Recursor: the 16 /24s split over both sharing replicas" ||
  fail "PowerDNS Recursor: 16 /24s should split over both replicas, got:$seen"

echo "--- push results"
printf '     %s\n' "${results[@]}"
if [ "$fails" -gt 0 ]; then
  dump_logs
  echo "$fails failed"
  exit 1
fi
echo "all push end-to-end checks passed"
