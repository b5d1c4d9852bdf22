#!/usr/bin/env bash
# Soak (issue 7): minutes of dnsperf load at a fixed rate while, every 100 ms,
# something changes: an operator exclusion or re-inclusion, an injected fault
# (down / throttled / none), or a reload (SIGHUP); and every 40 s the health
# responder behind all 3,000 replicas goes away for 10 s, so real probes fail
# and recover (mass failover to fail-open and back). Rate limiting is on with
# loopback exempt, so its path runs at full load too.
#
# All along, hostile clients (bench/hostile_clients.py) send the admin port
# unauthenticated 8 MiB bodies and a scrape flood, and the DNS port TCP
# connections that pipeline queries and never read: memory must stay flat.
#
# Reports: dnsperf sent / completed / lost and response codes; API calls,
# failures and latency; reloads; health transitions; resident memory every
# 2 s, per minute; and that the daemon stops cleanly (exit 0).
# Fails (exit 1) on a lost query, a failed API call, a crash, or resident
# memory (lowest sample per minute) growing by 8 MiB or more over the run.
# usage: bench/soak_bench.sh [--seconds S] [--rate QPS] [--threads T]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
bin="$root/build/daemon/switchyard"
seconds=300 rate=30000 threads=2
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2;;
    --rate) rate=$2; shift 2;;
    --threads) threads=$2; shift 2;;
    *) echo "usage: $0 [--seconds S] [--rate QPS] [--threads T]" >&2; exit 2;;
  esac
done
[ -x "$bin" ] || { echo "build first: make build" >&2; exit 1; }
command -v dnsperf > /dev/null || { echo "dnsperf is not installed (apt-get install dnsperf)" >&2; exit 1; }
work=$(mktemp -d /tmp/switchyard-soak.XXXXXX)
pid= hpid= dp=
cleanup() {
  for p in $dp $hpid $pid ${sy_pid:-} ${hostile:-}; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
bash "$here/peers/peers.sh" --gen "$work/gen" > /dev/null
openssl rand -hex 24 > "$work/admin.token"

# The health responder's port: free on every replica address (all of 127.1-3.0.0/16).
hport=
for attempt in $(seq 1 20); do
  cand=$((RANDOM % 10000 + 20000))
  ss -lntH | awk '{print $4}' | grep -qE ":$cand\$" || { hport=$cand; break; }
done
[ -n "$hport" ] || { echo "no free port for the health responder" >&2; exit 1; }
start_health() {
  timeout $((seconds + 120)) python3 "$here/peers/health_responder.py" --addr-file "$work/gen/health_addrs.txt" \
    --port "$hport" --duration $((seconds + 100)) >> "$work/health.log" 2>&1 &
  hpid=$!
}
start_health

source "$here/lib.sh"
start_switchyard "$bin" "$work" $((seconds + 120)) "s|^threads: .*|threads: $threads|" \
  "s|^health: .*|health: { scheme: http, port: $hport, path: /, interval: 2s, timeout: 1s, fall: 3, rise: 2, healthy_status: [\"200\"] }|" \
  "s|^\(listen: .*\)$|\1\nadmin: { token_file: admin.token }\nrate_limit: { responses_per_second: 100, exempt: [127.0.0.0/8] }|"
# $sy_pid is timeout(1)'s; signals and /proc go to the daemon itself.
pid=$(pgrep -P "$sy_pid" | head -1)
[ -n "$pid" ] || { echo "cannot find the daemon under timeout pid $sy_pid" >&2; exit 1; }
admin="http://127.0.0.1:$((port + 1))"
token=$(cat "$work/admin.token")
echo "switchyard on 127.0.0.1:$port ($threads threads), 1,000 registries x 3 replicas probed every 2 s"
echo "soak: $seconds s of dnsperf at $rate qps; a change every 100 ms; probe targets gone 10 s in every 40 s"

# Let the first probe round finish, then load.
for i in $(seq 1 100); do
  curl -s -o /dev/null -w '%{http_code}' "$admin/readyz" | grep -q 200 && break
  sleep 0.2
done
timeout $((seconds + 30)) dnsperf -s 127.0.0.1 -p "$port" -B -d "$work/gen/queries.bin" -c 16 -T 2 -q 2000 -b 4096 \
  -t 5 -Q "$rate" -l "$seconds" > "$work/dnsperf.out" 2>&1 &
dp=$!
# Hostile clients all along (issue 18): admin bodies, a scrape flood, and
# DNS-over-TCP connections that pipeline and never read.
timeout $((seconds + 60)) python3 "$here/hostile_clients.py" --admin "127.0.0.1:$((port + 1))" \
  --dns "127.0.0.1:$port" --seconds "$seconds" > "$work/hostile.out" 2>&1 &
hostile=$!

regions=(eastus westus westeurope)
faults=(down throttled none none)
api_calls=0 api_failed=0 reloads=0 outages=0 api_slowest=0 api_over_1s=0
# api METHOD PATH BODY: one admin call, counted, timed and checked (200).
api() {
  local code took
  code=$(curl -s -o /dev/null -w '%{http_code} after %{time_total} s' --max-time 15 -X "$1" \
    -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d "$3" "$admin$2" || true)
  api_calls=$((api_calls + 1))
  [ "${code%% *}" = 200 ] || { api_failed=$((api_failed + 1)); echo "t=$t $1 $2: $code"; }
  took=${code##* after }; took=${took%% s}
  api_slowest=$(awk -v a="$api_slowest" -v b="$took" 'BEGIN { print (b > a ? b : a) }')
  if awk -v b="$took" 'BEGIN { exit !(b > 1) }'; then api_over_1s=$((api_over_1s + 1)); fi
}
start=$(date +%s)
next_rss=0
echo "t_s rss_kib" > "$work/rss.txt"
while kill -0 "$dp" 2>/dev/null; do
  now=$(date +%s)
  t=$((now - start))
  [ "$t" -le $((seconds + 20)) ] || break   # bounded even if dnsperf hangs
  if [ "$t" -ge "$next_rss" ]; then
    echo "$t $(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")" >> "$work/rss.txt"
    next_rss=$((t + 2))
  fi
  # Probe targets: gone from second 20 to 30 of every 40.
  phase=$((t % 40))
  if [ "$phase" -ge 20 ] && [ "$phase" -lt 30 ] && kill -0 "$hpid" 2>/dev/null; then
    kill "$hpid" 2>/dev/null || true; wait "$hpid" 2>/dev/null || true
    outages=$((outages + 1))
  elif { [ "$phase" -lt 20 ] || [ "$phase" -ge 30 ]; } && ! kill -0 "$hpid" 2>/dev/null; then
    start_health
  fi
  reg=$(printf 'reg%04d' $((RANDOM % 1000 + 1)))
  region=${regions[$((RANDOM % 3))]}
  case $((RANDOM % 10)) in
    0|1|2|3|4)
      flag=$([ $((RANDOM % 2)) = 0 ] && echo true || echo false)
      api PATCH "/v1/registries/$reg/replications/$region" "{\"globalEndpointRouting\": $flag}";;
    5|6|7|8)
      api POST "/v1/registries/$reg/replications/$region/fault" "{\"health\": \"${faults[$((RANDOM % 4))]}\"}";;
    9)
      kill -HUP "$pid"; reloads=$((reloads + 1));;
  esac
  sleep 0.1
done
wait "$dp" || true
dp=
alive=yes; kill -0 "$pid" 2>/dev/null || alive=no
echo "$(( $(date +%s) - start )) $(awk '/^VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)" >> "$work/rss.txt"

wait "$hostile" 2>/dev/null || true
grep -E "Queries (sent|completed|lost)|Response codes|Average Latency" "$work/dnsperf.out" | sed 's/^ */dnsperf: /'
cat "$work/hostile.out"
echo "API calls: $api_calls ($api_failed failed, $api_over_1s took over 1 s, slowest $api_slowest s); SIGHUP reloads sent: $reloads; probe-target outages: $outages"
echo "reloads applied: $(grep -c 'event=config_loaded.*ok=true' "$work/switchyard.log" || true)" \
     "(SIGHUPs that arrive during a reload share the next one)," \
     "pair changes: $(grep -c 'event=pair_state' "$work/switchyard.log" || true) ($(grep -c 'event=pair_state.*cause=health' "$work/switchyard.log" || true) from probes)," \
     "routing changes: $(grep -c 'routing_changed=true' "$work/switchyard.log" || true)"
# Memory: a reload holds two configs for a moment and a mass health change
# allocates for a while, so single samples swing; compare the lowest sample of
# each minute after the first (warm-up: first probe rounds, first outage).
awk 'NR > 1 && $1 >= 60 && $2 > 0 { m = int($1 / 60); if (!(m in lo) || $2 < lo[m]) lo[m] = $2; if ($2 > hi[m]) hi[m] = $2 }
     END { line = "RSS per minute (lowest..highest KiB):"; for (m = 1; m in lo; m++) line = line " " lo[m] ".." hi[m]; print line }' \
  "$work/rss.txt"
# Only whole minutes count (the last sample, after the load, stands alone).
growth=$(awk 'NR > 1 && $1 >= 60 && $2 > 0 { m = int($1 / 60); n[m]++; if (!(m in lo) || $2 < lo[m]) lo[m] = $2 }
              END { last = 0; for (m = 1; m in lo; m++) if (n[m] >= 20) last = m
                    if (last < 2) { print 0; exit } print lo[last] - lo[1] }' "$work/rss.txt")
echo "RSS growth, lowest of the last whole minute minus lowest of minute 1: $growth KiB"

rc=0
if [ "$alive" = yes ]; then
  kill -TERM "$pid"
  exit_code=0; wait "$sy_pid" || exit_code=$?
  pid=
  echo "daemon stopped with exit code $exit_code"
  [ "$exit_code" = 0 ] || rc=1
else
  echo "THE DAEMON DIED during the soak"; tail -20 "$work/switchyard.log"; rc=1
fi
lost=$(grep -oE 'Queries lost: +[0-9]+' "$work/dnsperf.out" | grep -oE '[0-9]+$' || echo "?")
[ "$lost" = 0 ] || rc=1
[ "$api_failed" = 0 ] || rc=1
# Flat: under 8 MiB over the run (allocator noise), or the run is too short to say.
[ "$growth" -lt 8192 ] || { echo "memory grows: $growth KiB"; rc=1; }
echo "(work dir: $work)"
exit $rc
