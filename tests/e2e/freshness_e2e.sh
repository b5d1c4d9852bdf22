#!/usr/bin/env bash
# Replication freshness end to end, with real parts: three Debian
# docker-registry replicas on loopback, each with its OWN storage (replication
# is skopeo copying between them, as slow as we make it), Switchyard reading a
# canary's digest from each, dig asking for the global and regional names,
# and `switchyardctl wait-replicated` asking the replicas directly.
#
#   1. canary v1 on every replica: all fresh, global answers are the nearest.
#   2. canary v2 pushed to home (eastus) only: the others are behind at once
#      but stay in global routing until max_staleness; then they are lagging
#      and the global name answers the fresh replica, while their regional
#      names still answer themselves.
#   3. v2 copied to westus, then westeurope: each returns to global routing on
#      its next round; wait-replicated exits 0 only after the last copy.
#   4. wait-replicated for a digest nobody serves times out non-zero, naming
#      what each replica serves.
# Usage: freshness_e2e.sh SWITCHYARD SWITCHYARDCTL
set -euo pipefail
bin=$1
ctl=$2
for tool in docker-registry skopeo umoci dig curl promtool; do
  command -v "$tool" > /dev/null || { echo "FAIL: $tool is not installed (make test installs it)"; exit 1; }
done

source "$(dirname "$0")/lib.sh"

pick_network 11:5000 12:5000 13:5000 21:5000 22:5000
zone=cr.fresh.test
echo "network $net.0/24: replicas .11 .12 .13:5000, switchyard $net.53:$dns_port"

# 1. Three independent replicas.
start_replica eastus "$net.11" "$work/eastus/data"
start_replica westus "$net.12" "$work/westus/data"
start_replica westeurope "$net.13" "$work/westeurope/data"
wait_replicas "$net.11" "$net.12" "$net.13"
# Two replicas behind the registry token flow (a 401 challenge, then a token).
for host in 21 22; do
  echo "sha256:$(printf 'a%.0s' $(seq 64))" > "$work/token$host.digest"
  python3 "$(dirname "$0")/../support/token_registry.py" --addr "$net.$host" --port 5000 \
    --digest-file "$work/token$host.digest" --count-file "$work/token$host.count" &
  pids+=($!)
done
for host in 21 22; do
  for i in $(seq 1 50); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$net.$host:5000/v2/" || true)" = 401 ] && break
    sleep 0.1
  done
done

# Two versions of the canary and an application image, built locally.
umoci init --layout "$work/oci" > /dev/null
umoci new --image "$work/oci:v1" > /dev/null
umoci config --image "$work/oci:v1" --tag v2 --config.cmd /v2 > /dev/null
umoci config --image "$work/oci:v1" --tag app --config.cmd /app > /dev/null
push() {  # push TAG HOST REPO:TAG [DIGESTFILE]
  local extra=()
  [ -n "${4:-}" ] && extra=(--digestfile "$4")
  timeout 60 skopeo --insecure-policy copy -q --dest-tls-verify=false "${extra[@]}" \
    "oci:$work/oci:$1" "docker://$net.$2:5000/$3" > "$work/push.log" 2>&1 ||
    { fail "skopeo push $1 to .$2"; cat "$work/push.log"; }
}
push v1 11 canary/heartbeat:latest "$work/v1.digest"
push v1 12 canary/heartbeat:latest
push v1 13 canary/heartbeat:latest
v1=$(cat "$work/v1.digest")

# 2. Switchyard: a round a second, lagging after 3 s of difference.
{ config_head; cat <<CFG
regions:
  eastus:     { location: [37.37, -79.82] }
  westus:     { location: [37.78, -122.42] }
  westeurope: { location: [52.37, 4.90] }
clients:
  trust_ecs: true
  default_region: eastus
  networks:
    - { cidr: 198.51.100.0/26,   region: eastus }
    - { cidr: 198.51.100.64/26,  region: westus }
    - { cidr: 198.51.100.128/26, region: westeurope }
routing:
  failover_spread: 1
health: { scheme: http, port: 5000, interval: 1s, timeout: 500ms, fall: 2, rise: 1 }
registries:
  - name: myregistry
    home: eastus
    regional_endpoints: enabled
    replicas:
      - { region: eastus,     addresses: [$net.11] }
      - { region: westus,     addresses: [$net.12] }
      - { region: westeurope, addresses: [$net.13] }
    freshness:
      canaries: ["canary/heartbeat:latest"]
      max_staleness: 3s
      reference: home
  # Replicas that demand the registry token flow (tests/support/token_registry.py).
  - name: tokenreg
    home: eastus
    replicas:
      - { region: eastus, addresses: [$net.21] }
      - { region: westus, addresses: [$net.22] }
    freshness: { canaries: ["canary/heartbeat:latest"], max_staleness: 3s }
CFG
} > "$work/switchyard.yaml"
openssl rand -hex 24 > "$work/admin.token"
start_switchyard() {
  "$bin" --config "$work/switchyard.yaml" --state-dir "$work/state" >> "$work/switchyard.log" 2>&1 &
  sy_pid=$!
  pids+=($sy_pid)
}
start_switchyard
admin="http://$net.53:$admin_port"
sy=("$ctl" --server "$admin" --token-file "$work/admin.token")
api() { curl -sf -H "Authorization: Bearer $(cat "$work/admin.token")" "$admin$1"; }
global() {  # global CLIENT_REGION_SUBNET
  dig +time=1 +tries=1 -p "$dns_port" @"$net.53" "myregistry.$zone" A +subnet="$1" +short 2>/dev/null || true
}
westus_client=198.51.100.70/32
westeurope_client=198.51.100.140/32
# state REPLICA [REGISTRY]: its freshness state as the API shows it.
state() {
  api "/v1/registries/${2:-myregistry}/replications" |
    python3 -c "import json,sys; print({r['name']: r['freshness']['state'] for r in json.load(sys.stdin)}['$1'])" 2>/dev/null ||
    echo none
}
is() { [ "$($1 "$2")" = "$3" ]; }                  # is FUNCTION ARG VALUE
answers() { [ "$(global "$1")" = "$2" ]; }          # answers SUBNET ADDRESS

wait_until 15 sh -c "curl -sf -o /dev/null $admin/readyz" || { fail "switchyard ready"; cat "$work/switchyard.log"; exit 1; }
wait_until 10 is state westeurope fresh || fail "the first round finds every replica fresh"
expect "all fresh: eastus" fresh "$(state eastus)"
expect "all fresh: westus" fresh "$(state westus)"
expect "westus clients get westus" "$net.12" "$(global $westus_client)"
expect "westeurope clients get westeurope" "$net.13" "$(global $westeurope_client)"

# 3. A new canary digest at home only.
pushed=$(now)
push v2 11 canary/heartbeat:latest "$work/v2.digest"
v2=$(cat "$work/v2.digest")
wait_until 5 is state westus behind || fail "westus is behind within a round of the push"
behind_at=$(now)
expect "behind but within max_staleness: westus clients still get westus" "$net.12" "$(global $westus_client)"
wait_until 10 answers $westus_client "$net.11" || fail "westus clients move to the fresh eastus"
moved_at=$(now)
echo "     push to home -> behind: $(elapsed "$pushed" "$behind_at")s, -> out of global routing: $(elapsed "$pushed" "$moved_at")s (max_staleness 3s, rounds of 1s)"
expect "lagging: westus state" lagging "$(state westus)"
expect "switchyardctl replication list shows the lag and why" 1 \
  "$("${sy[@]}" replication list --registry myregistry | grep -c -E '^westus .* lagging [0-9]+s +canary/heartbeat:latest serves sha256:')"
wait_until 5 answers $westeurope_client "$net.11" || fail "westeurope clients move to eastus too"
expect "lagging replicas keep their regional names" "$net.12" \
  "$(dig +time=1 +tries=1 -p "$dns_port" @"$net.53" "myregistry.westus.geo.$zone" A +short)"
metrics=$(curl -sf "$admin/metrics")
expect "metric: westus lagging" 1 "$(echo "$metrics" | awk '/^switchyard_replica_freshness\{registry="myregistry",replica="westus",state="lagging"\}/ {print $2}')"
behind_s=$(echo "$metrics" | awk '/^switchyard_replica_seconds_behind\{registry="myregistry",replica="westus"\}/ {print $2}')
expect "metric: westus seconds behind >= max_staleness" yes "$(awk -v s="$behind_s" 'BEGIN { print (s >= 3 ? "yes" : "no") }')"
if echo "$metrics" | promtool check metrics > "$work/promtool.txt" 2>&1; then ok "promtool accepts /metrics"; else fail "promtool"; cat "$work/promtool.txt"; fi
events=$(api "/v1/events?since=0")
expect "a freshness event says westus went lagging" 1 \
  "$(echo "$events" | python3 -c "import json,sys; print(sum(1 for e in json.load(sys.stdin) if e['type']=='freshness' and e['replica']=='westus' and e['state']=='lagging'))")"

# A restart does not put the stale replicas back into global routing: the lag
# is kept in the state directory and re-checked by the next round.
kill -TERM "$sy_pid"
wait "$sy_pid" || true
start_switchyard
wait_until 15 sh -c "curl -sf -o /dev/null $admin/readyz" || { fail "switchyard ready after restart"; exit 1; }
expect "after a restart westus clients still get eastus" "$net.11" "$(global $westus_client)"
expect "after a restart westus is still lagging" lagging "$(state westus)"
wait_until 5 sh -c "grep -q 'event=freshness registry=myregistry replica=westus from=unknown to=lagging' '$work/switchyard.log'" ||
  fail "the first round after the restart confirms westus is lagging"
expect "and keeps it out of global routing" "$net.11" "$(global $westus_client)"

# 4. Replication catches up, one replica at a time; wait-replicated follows.
"${sy[@]}" wait-replicated --registry myregistry --image canary/heartbeat:latest --timeout 60s \
  > "$work/wait.out" 2> "$work/wait.err" &
wait_pid=$!
sleep 1.5
expect "wait-replicated waits while westus and westeurope lack the digest" running \
  "$(kill -0 $wait_pid 2>/dev/null && echo running || echo exited)"
push v2 12 canary/heartbeat:latest
wait_until 5 answers $westus_client "$net.12" || fail "westus rejoins global routing after its copy"
expect "westus fresh again" fresh "$(state westus)"
expect "westeurope still lagging" lagging "$(state westeurope)"
expect "wait-replicated still waits for westeurope" running \
  "$(kill -0 $wait_pid 2>/dev/null && echo running || echo exited)"
last_copy=$(now)
push v2 13 canary/heartbeat:latest
wait_rc=0
wait_until 10 sh -c "! kill -0 $wait_pid 2>/dev/null" || fail "wait-replicated returns after the last copy"
wait $wait_pid || wait_rc=$?
echo "     last copy -> wait-replicated returned: $(elapsed "$last_copy" "$(now)")s"
expect "wait-replicated exits 0" 0 "$wait_rc"
expect "wait-replicated waited for the home digest" 1 "$(grep -c "canary/heartbeat:latest@$v2 on 3 replica" "$work/wait.out")"
expect "wait-replicated reports completion" 1 "$(grep -c '^replicated: 3 replica' "$work/wait.out")"
wait_until 5 answers $westeurope_client "$net.13" || fail "westeurope rejoins global routing"

# 5. A digest nobody serves: a bounded wait that says what is missing.
rc=0
"${sy[@]}" wait-replicated --registry myregistry --image canary/heartbeat:latest --digest "$v1" --timeout 2s \
  > "$work/timeout.out" 2> "$work/timeout.err" || rc=$?
expect "wait-replicated times out with exit 1" 1 "$rc"
expect "the timeout names each replica and what it serves" 1 \
  "$(grep -c "timed out after .* eastus serves $v2; westus serves $v2; westeurope serves $v2" "$work/timeout.err")"
rc=0
push app 11 team/app:1
"${sy[@]}" -o json wait-replicated --registry myregistry --image team/app:1 --timeout 2s > "$work/app.json" 2>/dev/null || rc=$?
expect "an image only at home: exit 1" 1 "$rc"
expect "json output lists the replicas still missing it" "absent absent" \
  "$(python3 -c "import json; d=json.load(open('$work/app.json')); print(' '.join(r['served'] for r in d['replicas'] if not r['replicated']))")"
rc=0
"${sy[@]}" wait-replicated --registry myregistry --image team/none:1 --timeout 2s 2> "$work/none.err" || rc=$?
expect "an image the home replica lacks is refused at once" "1 1" "$rc $(grep -c 'home replica (eastus) does not serve team/none:1 (absent)' "$work/none.err")"
rc=0
"${sy[@]}" wait-replicated --registry myregistry --image "Team/App@sha256:$(printf '0%.0s' $(seq 64))" 2> "$work/bad.err" || rc=$?
expect "a malformed --image is a usage error (exit 2)" "2 1" "$rc $(grep -c -- '--image: .* is a digest reference' "$work/bad.err")"

# 6. Replicas behind the registry token flow: the prober and wait-replicated
#    both answer the 401 challenge with a token; the prober keeps its token.
token_state() { [ "$(state "$1" tokenreg)" = "$2" ]; }
wait_until 10 token_state westus fresh || fail "token flow: the replicas' canaries are read (fresh)"
expect "token flow: eastus fresh" fresh "$(state eastus tokenreg)"
tokens() { echo "$(cat "$work/token21.count" 2>/dev/null | wc -l) $(cat "$work/token22.count" 2>/dev/null | wc -l)"; }
before=$(tokens)
sleep 2  # two more rounds
expect "token flow: the prober reuses its tokens (no new token requests over 2 rounds)" "$before" "$(tokens)"
expect "token flow: one token per replica and daemon process (it restarted once above)" "2 2" "$before"
echo "sha256:$(printf 'b%.0s' $(seq 64))" > "$work/token21.digest"
wait_until 5 token_state westus behind || fail "token flow: westus is behind home's new digest"
rc=0
"${sy[@]}" wait-replicated --registry tokenreg --image canary/heartbeat:latest --timeout 2s \
  > "$work/token-wait.out" 2> "$work/token-wait.err" || rc=$?
expect "token flow: wait-replicated reads and names what westus serves" "1 1" \
  "$rc $(grep -c "westus serves sha256:aaaa" "$work/token-wait.err")"
cp "$work/token21.digest" "$work/token22.digest"
rc=0
"${sy[@]}" wait-replicated --registry tokenreg --image canary/heartbeat:latest --timeout 10s \
  > "$work/token-wait.out" 2>&1 || rc=$?
expect "token flow: wait-replicated completes once westus has it" 0 "$rc"

if [ "$fails" -gt 0 ]; then
  echo "--- switchyard log"; grep -E "freshness|pair_state|error" "$work/switchyard.log" | tail -30
  echo "--- wait-replicated"; cat "$work/wait.out" "$work/wait.err"
  exit 1
fi
echo "all freshness checks passed"
