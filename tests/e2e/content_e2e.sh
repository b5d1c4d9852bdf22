#!/usr/bin/env bash
# health.check: content end to end, with real parts: Debian docker-registry
# replicas on loopback, each with its OWN storage, the canary pushed with
# skopeo, Switchyard probing them, dig asking for the global names, the CLI,
# the event log and /metrics.
#
# Registries (eastus home, westus the failover target; clients in eastus):
#   acme    check: content on the eastus/westus replicas at :5000
#   legacy  check: api on the SAME replicas (shows what the old probe misses)
#   beta    check: content on other docker-registry processes (:5001), same hosts
#   writer  check: content + write_check on :5002; eastus storage is a bind mount
#   busy    check: content; beta's replicas through proxies that can answer 429 (:5003)
# Faults, each undone before the next:
#   1. acme eastus storage replaced by a file (/v2/ 200, manifests 500):
#      acme moves within fall x interval + timeout; legacy and beta do not.
#   2. restored: acme comes back after rise.
#   3. storage emptied (404 for every image): acme moves (content_missing).
#   4. content answering 429: busy does not move.
#   5. writer eastus storage remounted read-only: writer moves (write_error).
#   6. a drill injecting content_error passes.
# The script re-runs itself in a private mount namespace (unshare -m) so the
# read-only remount touches nothing outside it.
# Usage: content_e2e.sh SWITCHYARD SWITCHYARDCTL
set -euo pipefail
if [ -z "${SY_CONTENT_E2E_NS:-}" ]; then
  exec unshare -m --propagation private env SY_CONTENT_E2E_NS=1 bash "$0" "$@"
fi
bin=$1
ctl=$2
for tool in docker-registry skopeo umoci dig curl promtool python3; do
  command -v "$tool" > /dev/null || { echo "FAIL: $tool is not installed (make test installs it)"; exit 1; }
done

source "$(dirname "$0")/lib.sh"
trap 'umount "$work/writer-east/mnt" 2>/dev/null || true; cleanup' EXIT

pick_network 11:5000 12:5000 11:5001 12:5001 11:5002 12:5002 11:5003 12:5003
zone=cr.content.test
echo "network $net.0/24: replicas .11 (eastus) .12 (westus), switchyard $net.53:$dns_port"

for r in acme-east acme-west beta-east beta-west writer-east writer-west; do mkdir -p "$work/$r/data"; done
mkdir -p "$work/writer-east/mnt"
mount --bind "$work/writer-east/data" "$work/writer-east/mnt"
start_replica acme-east "$net.11" "$work/acme-east/data" 5000
start_replica acme-west "$net.12" "$work/acme-west/data" 5000
start_replica beta-east "$net.11" "$work/beta-east/data" 5001
start_replica beta-west "$net.12" "$work/beta-west/data" 5001
start_replica writer-east "$net.11" "$work/writer-east/mnt" 5002
start_replica writer-west "$net.12" "$work/writer-west/data" 5002
# busy's replicas: proxies in front of beta's (only eastus's ever throttles).
for host in 11 12; do
  python3 "$(dirname "$0")/../support/throttle_proxy.py" --addr "$net.$host" --port 5003 --upstream "$net.$host:5001" \
    --flag "$work/throttle.$host" &
  pids+=($!)
done
wait_replicas "$net.11:5000" "$net.12:5000" "$net.11:5001" "$net.12:5001" "$net.11:5002" "$net.12:5002" \
  "$net.11:5003" "$net.12:5003"

umoci init --layout "$work/oci" > /dev/null
umoci new --image "$work/oci:v1" > /dev/null
push() {  # push HOST:PORT
  timeout 60 skopeo --insecure-policy copy -q --dest-tls-verify=false \
    "oci:$work/oci:v1" "docker://$net.$1/canary/heartbeat:latest" > "$work/push.log" 2>&1 ||
    { fail "skopeo push to .$1"; cat "$work/push.log"; }
}
for hp in 11:5000 12:5000 11:5001 12:5001 11:5002 12:5002; do push $hp; done

interval_s=1; timeout_s=0.5; fall=2; rise=2
{ config_head; cat <<CFG
regions:
  eastus: { location: [37.37, -79.82] }
  westus: { location: [37.78, -122.42] }
clients:
  trust_ecs: true
  default_region: eastus
  networks:
    - { cidr: 198.51.100.0/26,  region: eastus }
    - { cidr: 198.51.100.64/26, region: westus }
routing: { failover_spread: 1 }
health: { scheme: http, port: 5000, interval: ${interval_s}s, timeout: 500ms, fall: $fall, rise: $rise,
          check: content, canary: "canary/heartbeat:latest" }
registries:
  - name: acme
    home: eastus
    regional_endpoints: enabled
    replicas:
      - { region: eastus, addresses: [$net.11] }
      - { region: westus, addresses: [$net.12] }
  - name: legacy
    home: eastus
    health: { check: api }
    replicas:
      - { region: eastus, addresses: [$net.11] }
      - { region: westus, addresses: [$net.12] }
  - name: beta
    home: eastus
    health: { port: 5001 }
    replicas:
      - { region: eastus, addresses: [$net.11] }
      - { region: westus, addresses: [$net.12] }
  - name: writer
    home: eastus
    health: { port: 5002, write_check: { repository: switchyard/write-check, every: 3 } }
    replicas:
      - { region: eastus, addresses: [$net.11] }
      - { region: westus, addresses: [$net.12] }
  - name: busy
    home: eastus
    health: { port: 5003 }
    replicas:
      - { region: eastus, addresses: [$net.11] }
      - { region: westus, addresses: [$net.12] }
CFG
} > "$work/switchyard.yaml"
openssl rand -hex 24 > "$work/admin.token"
"$bin" --config "$work/switchyard.yaml" --state-dir "$work/state" >> "$work/switchyard.log" 2>&1 &
pids+=($!)
admin="http://$net.53:$admin_port"
sy=("$ctl" --server "$admin" --token-file "$work/admin.token")
api() { curl -sf -H "Authorization: Bearer $(cat "$work/admin.token")" "$admin$1"; }
east_client=198.51.100.10/32
global() {  # global REGISTRY: the A record an eastus client gets
  dig +time=1 +tries=1 -p "$dns_port" @"$net.53" "$1.$zone" A +subnet=$east_client +short 2>/dev/null | grep -E '^[0-9.]+$' || true
}
answers() { [ "$(global "$1")" = "$2" ]; }  # answers REGISTRY ADDRESS
metric() {  # metric REGISTRY REPLICA RESULT: switchyard_probes_total
  curl -sf "$admin/metrics" |
    awk -v k="switchyard_probes_total{registry=\"$1\",replica=\"$2\",result=\"$3\"}" '$1 == k { print $2 }'
}
window=$(awk -v f=$fall -v i=$interval_s -v t=$timeout_s 'BEGIN { print f * i + t }')

wait_until 20 sh -c "curl -sf -o /dev/null $admin/readyz" || { fail "switchyard ready"; cat "$work/switchyard.log"; exit 1; }
for reg in acme legacy beta writer busy; do
  wait_until 5 answers $reg "$net.11" || fail "$reg: eastus clients get eastus while every replica serves"
done
expect "every replica of acme is online under the content check" 2 \
  "$("${sy[@]}" replication list --registry acme | grep -c -E ' online ')"
expect "the write check pushed to writer's replicas" yes \
  "$(grep -q 'POST /v2/switchyard/write-check/blobs/uploads/' "$work/writer-east/log" && echo yes || echo no)"

# 1. Storage replaced by a file: /v2/ still 200, every manifest 500.
mv "$work/acme-east/data" "$work/acme-east/data.bak"
echo "not a directory" > "$work/acme-east/data"
expect "broken storage: /v2/ still answers 200" 200 "$(curl -s -o /dev/null -w '%{http_code}' "http://$net.11:5000/v2/")"
broke=$(now)
wait_until 10 answers acme "$net.12" || fail "acme: eastus clients move to westus when eastus storage breaks"
moved=$(now)
took=$(elapsed "$broke" "$moved")
echo "     storage broken -> acme's global name moved in ${took}s (fall x interval + timeout = ${window}s)"
expect "acme moved within fall x interval + timeout (+1 s for the DNS poll and jitter)" yes \
  "$(awk -v a="$took" -v w="$window" 'BEGIN { print (a <= w + 1.5 ? "yes" : "no") }')"
sleep 2  # as long again: the api probe had every chance to notice
expect "legacy (check: api, the same replicas) does not notice: eastus clients still get the broken replica" \
  "$net.11" "$(global legacy)"
expect "beta (its own storage on the same hosts) is untouched" "$net.11" "$(global beta)"
"${sy[@]}" replication list --registry acme > "$work/list.txt" || true
sed 's/^/     /' "$work/list.txt"
note=$(grep '^eastus ' "$work/list.txt" || true)
expect "replication list: eastus offline, NOTE names content_error, the step and the status" 1 \
  "$(echo "$note" | grep -c -E '^eastus +eastus +offline .*last probe: content_error \(manifest GET http://acme\.eastus\.geo\.[^ ]+/v2/canary/heartbeat/manifests/latest: HTTP 500\)')"
expect "metric: content_error probes counted for acme/eastus" yes \
  "$(awk -v v="$(metric acme eastus content_error)" 'BEGIN { print (v + 0 >= 2 ? "yes" : "no") }')"
line=$(grep -m1 'event=pair_state registry=acme replica=eastus health=down' "$work/switchyard.log" || true)
echo "     log: $line"
expect "the daemon log names the failing step, URL and status" 1 \
  "$(echo "$line" | grep -c 'content_error(500).*manifest GET http://acme.eastus.geo.*: HTTP 500')"
events=$(api "/v1/events?since=0")
expect "an event records acme/eastus down with the manifest step" 1 \
  "$(echo "$events" | python3 -c "import json,sys; print(sum(1 for e in json.load(sys.stdin) if e.get('registry')=='acme' and e.get('replica')=='eastus' and 'manifest GET' in json.dumps(e) and 'down' in json.dumps(e)))")"
expect "regional names never fail over" "$net.11" \
  "$(dig +time=1 +tries=1 -p "$dns_port" @"$net.53" "acme.eastus.geo.$zone" A +short)"

# 2. Storage restored: back after rise good probes.
rm "$work/acme-east/data"
mv "$work/acme-east/data.bak" "$work/acme-east/data"
fixed=$(now)
wait_until 10 answers acme "$net.11" || fail "acme: eastus clients return when the storage is back"
echo "     storage restored -> back in $(elapsed "$fixed" "$(now)")s (rise $rise x interval ${interval_s}s)"

# 3. Storage emptied (a lost mount): 200 on /v2/, 404 for every image.
mv "$work/acme-east/data" "$work/acme-east/data.bak"
mkdir "$work/acme-east/data"
expect "emptied storage: the canary is 404" 404 "$(curl -s -o /dev/null -w '%{http_code}' \
  -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$net.11:5000/v2/canary/heartbeat/manifests/latest")"
wait_until 10 answers acme "$net.12" || fail "acme: an emptied storage moves the global name"
expect "emptied storage is content_missing" yes \
  "$(awk -v v="$(metric acme eastus content_missing)" 'BEGIN { print (v + 0 >= 1 ? "yes" : "no") }')"
expect "legacy still misses it" "$net.11" "$(global legacy)"
rmdir "$work/acme-east/data"
mv "$work/acme-east/data.bak" "$work/acme-east/data"
wait_until 10 answers acme "$net.11" || fail "acme returns after the emptied storage is back"

# 4. Content throttled (429) is healthy: nothing moves.
touch "$work/throttle.11"
expect "the proxy throttles manifests" 429 "$(curl -s -o /dev/null -w '%{http_code}' \
  "http://$net.11:5003/v2/canary/heartbeat/manifests/latest")"
sleep 3
expect "busy: a replica answering 429 keeps its clients" "$net.11" "$(global busy)"
expect "busy: its probes count as throttled" yes \
  "$(awk -v v="$(metric busy eastus throttled)" 'BEGIN { print (v + 0 >= 2 ? "yes" : "no") }')"
expect "busy: eastus shows degraded, not offline" 1 \
  "$("${sy[@]}" replication list --registry busy | grep -c -E '^eastus +eastus +degraded')"
rm "$work/throttle.11"

# 5. The write check: storage read-only, reads still work, pushes fail.
mount -o remount,bind,ro "$work/writer-east/mnt"
expect "read-only storage still serves the canary" 200 "$(curl -s -o /dev/null -w '%{http_code}' \
  -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$net.11:5002/v2/canary/heartbeat/manifests/latest")"
wait_until 10 answers writer "$net.12" || fail "writer: a replica that cannot take pushes moves"
expect "writer: write_error counted" yes \
  "$(awk -v v="$(metric writer eastus write_error)" 'BEGIN { print (v + 0 >= 1 ? "yes" : "no") }')"
expect "beta, reading only, is untouched by writer's fault" "$net.11" "$(global beta)"
mount -o remount,bind,rw "$work/writer-east/mnt"
wait_until 10 answers writer "$net.11" || fail "writer returns when its storage is writable again"

# 6. A drill rehearses broken storage (an injected content_error).
if "${sy[@]}" drill run --registry beta --replica eastus --scenario fail --fault content_error --timeout 10 \
     > "$work/drill.out" 2>&1; then
  ok "drill fail --fault content_error passes"
else
  fail "drill fail --fault content_error"; cat "$work/drill.out"
fi
expect "the drill report says what it injected" 1 "$(grep -c 'fail (content_error)' "$work/drill.out")"

if curl -sf "$admin/metrics" | promtool check metrics > "$work/promtool.txt" 2>&1; then
  ok "promtool accepts /metrics with the content results"
else
  fail "promtool"; cat "$work/promtool.txt"
fi
if grep -q -E 'level=(error|critical)|\[(error|critical)\]' "$work/switchyard.log"; then
  fail "the daemon logged errors"; grep -E 'error|critical' "$work/switchyard.log" | head
fi
umount "$work/writer-east/mnt" 2>/dev/null || true
[ "$fails" = 0 ] && echo "PASS content e2e" || { echo "$fails check(s) failed"; tail -30 "$work/switchyard.log"; exit 1; }
