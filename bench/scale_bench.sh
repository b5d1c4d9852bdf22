#!/usr/bin/env bash
# Scale: N registries x R replicas (default 100,000 x 5) in one config.
# Measures, on the real daemon (no probes: health scheme none, so the figures
# are the control plane's and the DNS side's, not the prober's):
#   - start-up to serving: from exec to the first answered query (dig loop),
#     with the daemon's own parse / routing / compile split from its log;
#   - resident memory beyond a 1-registry daemon, per replica pair;
#   - one registry's change (PATCH exclusion) published to every worker:
#     the daemon's purgeSeconds for it, and the API round trip;
#   - a full rebuild (POST /v1/reload): parse and rebuild times from the log.
#   - a /metrics scrape: bytes, the scrape's wall time, what the daemon says
#     the render held its control loop, and the slowest API call meanwhile;
# usage: bench/scale_bench.sh [--registries N] [--replicas R] [--threads T] [--bin PATH]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
bin="$root/build/daemon/switchyard"
registries=100000 replicas=5 threads=2
while [ $# -gt 0 ]; do
  case "$1" in
    --registries) registries=$2; shift 2;;
    --replicas) replicas=$2; shift 2;;
    --threads) threads=$2; shift 2;;
    --bin) bin=$2; shift 2;;
    *) echo "usage: $0 [--registries N] [--replicas R] [--threads T] [--bin PATH]" >&2; exit 2;;
  esac
done
[ -x "$bin" ] || { echo "build first: make build" >&2; exit 1; }
work=$(mktemp -d /tmp/switchyard-scale.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
openssl rand -hex 24 > "$work/admin.token"

gen() {  # gen FILE REGISTRIES PORT
  python3 - "$1" "$2" "$replicas" "$3" <<'PY'
import sys
path, n, reps, port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
regions = [("eastus", 37.37, -79.82), ("westus", 37.78, -122.42), ("westeurope", 52.37, 4.90),
           ("southeastasia", 1.35, 103.82), ("australiaeast", -33.86, 151.21), ("brazilsouth", -23.55, -46.63),
           ("japaneast", 35.68, 139.69), ("uksouth", 51.51, -0.13)][:max(reps, 3)]
with open(path, "w") as f:
    f.write("zone: scale.test\nnameservers: [ { name: ns1.scale.test, addresses: [127.0.0.1] } ]\n")
    f.write('listen: { dns: ["127.0.0.1:%d"], admin: "127.0.0.1:%d" }\n' % (port, port + 1))
    f.write("admin: { token_file: admin.token }\nregions:\n")
    for name, lat, lon in regions:
        f.write("  %s: { location: [%.2f, %.2f] }\n" % (name, lat, lon))
    f.write("clients:\n  default_region: eastus\n  networks:\n")
    for i, (name, _, _) in enumerate(regions):
        f.write("    - { cidr: 10.%d.0.0/16, region: %s }\n" % (i + 1, name))
    f.write("routing: { failover_spread: 2 }\nhealth: { scheme: none }\nregistries:\n")
    for g in range(n):
        f.write("  - name: reg%06d\n    home: %s\n    regional_endpoints: enabled\n    replicas:\n" % (g, regions[g % reps][0]))
        for r in range(reps):
            a = g * reps + r
            f.write("      - { region: %s, addresses: [100.%d.%d.%d] }\n" % (regions[r][0], 64 + (a >> 16) % 64, (a >> 8) & 255, a & 255))
PY
}

free_port() {
  for attempt in $(seq 1 50); do
    local p=$((RANDOM % 10000 + 20000))
    ! ss -Hlun "( sport = :$p )" | grep -q . && ! ss -Hltn "( sport = :$p or sport = :$((p + 1)) )" | grep -q . &&
      { echo "$p"; return; }
  done
  return 1
}

# start CONFIG LOG PORT: sets started_pid and started_ms (exec to the first answer)
start() {
  local cfg=$1 log=$2 port=$3 t0 t1
  t0=$(date +%s%N)
  timeout 600 "$bin" --config "$cfg" --threads "$threads" > "$log" 2>&1 &
  started_pid=$!
  pids+=("$started_pid")
  for i in $(seq 1 6000); do
    dig +time=1 +tries=1 -p "$port" @127.0.0.1 reg000001.scale.test A +short 2>/dev/null | grep -qv '^;\|^$' && break
    kill -0 "$started_pid" 2>/dev/null || { cat "$log"; exit 1; }
    sleep 0.01
  done
  t1=$(date +%s%N)
  started_ms=$(( (t1 - t0) / 1000000 ))
}
# $1 is the timeout(1) wrapper: the daemon is its child.
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$(pgrep -P "$1" | head -1)/status"; }

base_port=$(free_port)
gen "$work/base.yaml" 2 "$base_port"
start "$work/base.yaml" "$work/base.log" "$base_port"
base_ms=$started_ms
sleep 1
base_rss=$(rss_kib "$started_pid")

port=$(free_port)
gen "$work/scale.yaml" "$registries" "$port"
size=$(du -m "$work/scale.yaml" | cut -f1)
start "$work/scale.yaml" "$work/scale.log" "$port"
ms=$started_ms
pid=$started_pid
sleep 1
rss=$(rss_kib "$pid")
pairs=$((registries * replicas))
echo "config: $registries registries x $replicas replicas = $pairs pairs, ${size} MB of YAML"
echo "start-up to first answer: $ms ms (1-registry daemon: $base_ms ms)"
grep -oE 'event=(config_loaded|rebuild) .*' "$work/scale.log" | sed 's/^/  /'
echo "resident memory: $((rss / 1024)) MiB (1-registry daemon: $((base_rss / 1024)) MiB) =" \
     "$(( (rss - base_rss) * 1024 / pairs )) bytes per pair beyond the base"

api() { curl -s -H "Authorization: Bearer $(cat "$work/admin.token")" "$@"; }
url="http://127.0.0.1:$((port + 1))"
for i in 1 2 3 4 5; do
  reg=$(printf 'reg%06d' $((RANDOM * 3 % registries)))
  t0=$(date +%s%N)
  api -X PATCH -d '{"globalEndpointRouting": false}' "$url/v1/registries/$reg/replications/eastus" > /dev/null
  t1=$(date +%s%N)
  times=$(api "$url/v1/events?since=$(api "$url/v1/events" | python3 -c 'import json,sys; print(max(0, json.load(sys.stdin)[-1]["id"] - 5))')" |
    python3 -c 'import json,sys; e=[x for x in json.load(sys.stdin) if x["type"]=="routing"][-1]; print("%.3f ms (of which purge %.3f ms)" % (e["changeSeconds"]*1000, e["purgeSeconds"]*1000))')
  echo "one registry's change ($reg): decision to every worker answering $times; API round trip $(( (t1 - t0) / 1000 )) us"
  api -X PATCH -d '{"globalEndpointRouting": true}' "$url/v1/registries/$reg/replications/eastus" > /dev/null
done
# slowest_api PID: polls a cheap API call every 50 ms while PID runs; sets
# calls, max_us, slow (> 100 ms). The API is answered by the control loop,
# so its slowest call is the loop's longest stall seen from outside.
slowest_api() {
  calls=0 max_us=0 slow=0
  while kill -0 "$1" 2>/dev/null && [ "$calls" -lt 100000 ]; do
    local c0 us
    c0=$(date +%s%N)
    api "$url/v1/registries/reg000001/routing" > /dev/null
    us=$(( ($(date +%s%N) - c0) / 1000 ))
    calls=$((calls + 1))
    [ "$us" -gt "$max_us" ] && max_us=$us
    [ "$us" -gt 100000 ] && slow=$((slow + 1))
    sleep 0.05
  done
}
for i in 1 2 3; do
  sleep 1.2  # past the scrape cache's 1 s: each scrape renders
  t0=$(date +%s%N)
  curl -s -o "$work/metrics.txt" "$url/metrics" &
  scrape_pid=$!
  slowest_api "$scrape_pid"
  wait "$scrape_pid"
  t1=$(date +%s%N)
  held=$(awk '/^switchyard_metrics_render_seconds / {printf "%.1f", $2 * 1000}' "$work/metrics.txt")
  echo "/metrics scrape $i: $(stat -c %s "$work/metrics.txt") bytes, $(grep -vc '^#' "$work/metrics.txt") samples," \
       "$(( (t1 - t0) / 1000000 )) ms; the previous render held the control loop $held ms;" \
       "API meanwhile: $calls calls, slowest $((max_us / 1000)) ms"
done
echo "resident memory after the scrapes: $(( $(rss_kib "$pid") / 1024 )) MiB"
t0=$(date +%s%N)
api -X POST -d "" "$url/v1/reload" > "$work/reload.json" &
reload_pid=$!
# Meanwhile: how long does the control loop take to answer the API? (The
# parse runs on a work thread; the rebuild still runs on the loop.)
slowest_api "$reload_pid"
wait "$reload_pid"
t1=$(date +%s%N)
echo "full reload (parse + rebuild + publish) through the API: $(( (t1 - t0) / 1000000 )) ms: $(cat "$work/reload.json")"
echo "API during the reload: $calls calls, slowest $((max_us / 1000)) ms, $slow over 100 ms"
grep -oE 'event=(config_loaded|rebuild) .*' "$work/scale.log" | tail -2 | sed 's/^/  /'
rm -f "$work/scale.yaml" "$work/base.yaml" "$work/metrics.txt"
echo "(logs: $work)"
