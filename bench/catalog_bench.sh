#!/usr/bin/env bash
# The runtime catalog at scale: N registries x 5 replicas made through the
# API (not the file), on the real daemon with a state directory (health
# scheme none: the control plane's figures, not the prober's). Measures:
#   - provisioning through the batch API (`switchyardctl registry import`):
#     registries a second, requests, resident memory after;
#   - one registry's create and delete (PUT / DELETE): the API round trip
#     (validation, rebuild, every worker switched, catalog.journal fsync'd;
#     the reply comes after all of it) and the daemon's own split
#     (catalog_rebuild: decision_to_answer_ms is the Router's recompute,
#     compile and every DNS worker switched; catalog_change: check_ms +
#     apply_ms is the whole decision on the control loop);
#   - a restart from the catalog alone: exec to the first answer of a
#     catalog registry.
# usage: bench/catalog_bench.sh [--registries N] [--threads T] [--perf FILE] [--under-load [--load-qps Q]] [--keep]
#   --perf FILE: record the daemon (perf record -g) during the creates and
#   deletes, and print where their time goes.
#   --under-load [--load-qps Q]: then 50 more creates and deletes while
#   dnsperf sends the catalog's global names (as fast as it can, or Q
#   queries a second): decision to every worker answering (min / median /
#   max) when the workers are busy.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
bin="$root/build/daemon/switchyard"
ctl="$root/build/cli/switchyardctl"
registries=1000 threads=2 perf_out=
while [ $# -gt 0 ]; do
  case "$1" in
    --registries) registries=$2; shift 2;;
    --threads) threads=$2; shift 2;;
    --perf) perf_out=$2; shift 2;;
    --under-load) under_load=1; shift;;
    --load-qps) load_qps=$2; shift 2;;
    --keep) keep=1; shift;;
    *) echo "usage: $0 [--registries N] [--threads T] [--perf FILE] [--under-load [--load-qps Q]] [--keep]" >&2; exit 2;;
  esac
done
[ -x "$bin" ] && [ -x "$ctl" ] || { echo "build first: make build" >&2; exit 1; }
work=$(mktemp -d /tmp/switchyard-catalog.XXXXXX)
pid=
# --keep: leave the config and the state directory (the catalog) for a
# restart to be profiled by hand.
cleanup() {
  [ -n "$pid" ] && { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
  if [ -n "${keep:-}" ]; then echo "kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
openssl rand -hex 24 > "$work/admin.token"
port=
for attempt in $(seq 1 50); do
  p=$((RANDOM % 10000 + 20000))
  if ! ss -Hlun "( sport = :$p )" | grep -q . && ! ss -Hltn "( sport = :$p or sport = :$((p + 1)) )" | grep -q .; then
    port=$p
    break
  fi
done
[ -n "$port" ] || { echo "no free port" >&2; exit 1; }
regions=(eastus westus westeurope southeastasia australiaeast)
{
  echo "zone: scale.test"
  echo "nameservers: [ { name: ns1.scale.test, addresses: [127.0.0.1] } ]"
  echo "listen: { dns: [\"127.0.0.1:$port\"], admin: \"127.0.0.1:$((port + 1))\" }"
  echo "admin: { token_file: admin.token }"
  echo "regions:"
  echo "  eastus: { location: [37.37, -79.82] }"
  echo "  westus: { location: [37.78, -122.42] }"
  echo "  westeurope: { location: [52.37, 4.90] }"
  echo "  southeastasia: { location: [1.35, 103.82] }"
  echo "  australiaeast: { location: [-33.86, 151.21] }"
  echo "clients: { default_region: eastus }"
  echo "health: { scheme: none }"
  echo "registries:"
  echo "  - { name: filereg, home: eastus, replicas: [ { region: eastus, addresses: [192.0.2.1] } ] }"
} > "$work/switchyard.yaml"
python3 - "$work/batch.ndjson" "$registries" <<'PY'
import json, sys
path, n = sys.argv[1], int(sys.argv[2])
regions = ["eastus", "westus", "westeurope", "southeastasia", "australiaeast"]
with open(path, "w") as f:
    for g in range(n):
        reps = {}
        for r, region in enumerate(regions):
            a = g * 5 + r
            reps[region] = {"addresses": ["100.%d.%d.%d" % (64 + (a >> 16) % 64, (a >> 8) & 255, a & 255)]}
        f.write(json.dumps({"name": "reg%06d" % g, "home": regions[g % 5], "regionalEndpoints": True,
                            "replications": reps}) + "\n")
PY

# start: sets pid (the daemon's) and started_ms (exec to an answer for NAME)
start() {
  local name=$1 t0 t1
  t0=$(date +%s%N)
  "$bin" --config "$work/switchyard.yaml" --state-dir "$work/state" --threads "$threads" >> "$work/switchyard.log" 2>&1 &
  pid=$!
  for i in $(seq 1 6000); do
    dig +time=1 +tries=1 -p "$port" @127.0.0.1 "$name" A +short 2>/dev/null | grep -qv '^;\|^$' && break
    kill -0 "$pid" 2>/dev/null || { cat "$work/switchyard.log"; exit 1; }
    sleep 0.01
  done
  t1=$(date +%s%N)
  started_ms=$(( (t1 - t0) / 1000000 ))
}
rss_mib() { awk '/VmRSS/ {print int($2 / 1024)}' "/proc/$pid/status"; }
ctlrun() { "$ctl" --server "http://127.0.0.1:$((port + 1))" --token-file "$work/admin.token" "$@"; }
api() { curl -s -o /dev/null -w '%{http_code} %{time_total}\n' -H "Authorization: Bearer $(cat "$work/admin.token")" "$@"; }

start filereg.scale.test
base_rss=$(rss_mib)
t0=$(date +%s%N)
out=$(ctlrun registry import --file "$work/batch.ndjson")
t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
echo "catalog: $registries registries x 5 replicas through the batch API"
echo "provisioning: $out, $ms ms = $(( registries * 1000 / (ms > 0 ? ms : 1) )) registries/s"
echo "resident memory: $(rss_mib) MiB (before: $base_rss MiB)"
echo "catalog.json: $(du -k "$work/state/catalog.json" | cut -f1) KiB"
url="http://127.0.0.1:$((port + 1))"
body='{"home": "eastus", "replications": {"eastus": {"addresses": ["192.0.2.9"]}, "westus": {"addresses": ["192.0.2.10"]}}}'
perf_pid=
if [ -n "$perf_out" ]; then
  perf record -g -o "$perf_out" -p "$pid" > /dev/null 2>&1 &
  perf_pid=$!
  sleep 1
fi
for i in 1 2 3 4 5; do
  create=$(api -X PUT -d "$body" "$url/v1/registries/bench$i")
  answer=$(dig +time=1 +tries=1 -p "$port" @127.0.0.1 "bench$i.scale.test" A +short)
  rebuild=$(grep -oE 'event=(catalog_rebuild|topology_applied|catalog_change) .*' "$work/switchyard.log" | tail -3 | sed 's/event=//; s/ registries=[0-9]*//; s/ generation=[0-9]*//' | tr '\n' ' ')
  delete=$(api -X DELETE "$url/v1/registries/bench$i")
  echo "create: HTTP/s ${create} (answer right after: ${answer:-none}; ${rebuild}); delete: HTTP/s ${delete}"
done
if [ -n "${under_load:-}" ]; then
  command -v dnsperf > /dev/null || { echo "dnsperf is not installed (apt-get install dnsperf)" >&2; exit 1; }
  python3 -c "
import random, sys
random.seed(1)
n = int(sys.argv[1])
for _ in range(20000): print('reg%06d.scale.test A' % random.randrange(n))" "$registries" > "$work/queries.txt"
  before=$(grep -c 'event=catalog_rebuild' "$work/switchyard.log" || true)
  timeout 60 dnsperf -s 127.0.0.1 -p "$port" -d "$work/queries.txt" -c 8 -T 1 -q 500 -t 2 -l 12 ${load_qps:+-Q $load_qps} \
    -O suppress=timeouts,unexpected,congestion,sendfailed > "$work/dnsperf.out" 2>&1 &
  dp=$!
  sleep 2
  for i in $(seq 1 25); do
    api -X PUT -d "$body" "$url/v1/registries/load$i" > /dev/null
    api -X DELETE "$url/v1/registries/load$i" > /dev/null
    sleep 0.2
  done
  wait "$dp" || true
  echo "under load ($(grep -oE 'Queries per second: +[0-9.]+' "$work/dnsperf.out" | grep -oE '[0-9.]+$') qps," \
       "$(grep -oE 'Queries lost: +[0-9]+' "$work/dnsperf.out" | grep -oE '[0-9]+$') lost): decision to every worker answering, 50 changes:"
  grep -oE 'event=catalog_rebuild .*' "$work/switchyard.log" | tail -n +$((before + 1)) |
    grep -oE 'decision_to_answer_ms=[0-9.]+' | cut -d= -f2 | sort -n |
    awk '{ v[NR] = $1 } END { if (NR) printf "  min %.3f ms, median %.3f ms, max %.3f ms (%d changes)\n", v[1], v[int((NR + 1) / 2)], v[NR], NR }'
fi
if [ -n "$perf_pid" ]; then
  kill -INT "$perf_pid"
  wait "$perf_pid" 2>/dev/null || true
  echo "where the creates and deletes spent the control thread's time (perf, children included):"
  perf report -i "$perf_out" --no-children --sort symbol --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -25
fi
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
pid=
last=$(printf 'reg%06d' $((registries - 1)))
start "$last.scale.test"
echo "restart from the catalog (SIGKILL before): $started_ms ms to the first answer of $last"
grep -oE 'event=(catalog_loaded|rebuild) .*' "$work/switchyard.log" | tail -2 | sed 's/^/  /'
