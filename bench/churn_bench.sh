#!/usr/bin/env bash
# Routing changes under full load: dnsperf saturates Switchyard with the peer
# workload (bench/peers/) while churn_bench flips one replica's global routing
# every 10 ms through the admin API and checks every answer for that registry
# is one complete generation's. Reports dnsperf's lost queries and the checks.
# --reload-every S: meanwhile, every S seconds, edit the file's global TTL (a
# setting: every answer is rebuilt) and POST /v1/reload, so the run also
# shows whether queries are lost while a reload rebuilds (issue 23).
# --registries N: the workload's registry count (peers.sh --gen; 1000).
# usage: bench/churn_bench.sh [--seconds S] [--period-ms MS] [--threads T] [--reload-every S] [--registries N]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
bin="$root/build/daemon/switchyard"
churn="$root/build/bench/churn_bench"
seconds=20 period=10 threads=2 reload_every= registries=1000
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2;;
    --period-ms) period=$2; shift 2;;
    --threads) threads=$2; shift 2;;
    --reload-every) reload_every=$2; shift 2;;
    --registries) registries=$2; shift 2;;
    *) echo "usage: $0 [--seconds S] [--period-ms MS] [--threads T] [--reload-every S] [--registries N]" >&2; exit 2;;
  esac
done
[ -x "$bin" ] && [ -x "$churn" ] || { echo "build first: make build" >&2; exit 1; }
command -v dnsperf > /dev/null || { echo "dnsperf is not installed (apt-get install dnsperf)" >&2; exit 1; }
work=$(mktemp -d /tmp/switchyard-churn.XXXXXX)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true' EXIT
bash "$here/peers/peers.sh" --registries "$registries" --gen "$work/gen" > /dev/null
openssl rand -hex 24 > "$work/admin.token"
source "$here/lib.sh"
start_switchyard "$bin" "$work" $((seconds + 120)) "s|^threads: .*|threads: $threads|" \
  "s|^health: .*|health: { scheme: none }|" "s|^\(listen: .*\)$|\1\nadmin: { token_file: admin.token }|"
pid=$sy_pid
echo "switchyard on 127.0.0.1:$port ($threads threads); dnsperf saturating for $seconds s; a flip every $period ms"
timeout $((seconds + 30)) dnsperf -s 127.0.0.1 -p "$port" -B -d "$work/gen/queries.bin" -c 16 -T 2 -q 1000 -b 4096 -t 2 \
  -l "$seconds" -O suppress=timeouts,unexpected,congestion,sendfailed > "$work/dnsperf.out" 2>&1 &
dp=$!
sleep 1
reloader=
if [ -n "$reload_every" ]; then
  (
    ttl=1000
    end=$(( $(date +%s) + seconds - 3 ))
    while sleep "$reload_every" && [ "$(date +%s)" -lt "$end" ]; do
      ttl=$((ttl + 1))
      sed -i "s|^ttl: { global: [0-9]*,|ttl: { global: $ttl,|" "$work/switchyard.yaml"
      curl -s -o /dev/null -w '%{http_code} %{time_total}\n' -X POST \
        -H "Authorization: Bearer $(cat "$work/admin.token")" "http://127.0.0.1:$((port + 1))/v1/reload" >> "$work/reloads.txt"
    done
  ) &
  reloader=$!
fi
rc=0
"$churn" --dns "127.0.0.1:$port" --admin "127.0.0.1:$((port + 1))" --token-file "$work/admin.token" \
  --registry reg0001 --replica eastus --ecs 10.1.7.0/24 --seconds $((seconds - 2)) --period-ms "$period" || rc=$?
wait "$dp" || true
if [ -n "$reloader" ]; then
  wait "$reloader" || true
  echo "reloads (a TTL edit each, every answer rebuilt): $(grep -c '^200 ' "$work/reloads.txt" || true) answered 200 of $(wc -l < "$work/reloads.txt"), slowest $(sort -k2 -n "$work/reloads.txt" | tail -1 | cut -d' ' -f2) s"
  grep -oE 'event=topology_applied .*' "$work/switchyard.log" | tail -1 | sed 's/^/  last: /'
fi
grep -E "Queries (sent|completed|lost)|Queries per second" "$work/dnsperf.out" | sed 's/^ */dnsperf: /'
gens=$(grep -c 'event=pair_state.*routing_changed=true' "$work/switchyard.log" || true)
slow=$(grep -c 'event=purge_slow' "$work/switchyard.log" || true)
echo "routing generations published during the run: $gens (purge_slow warnings: $slow)"
lost=$(grep -oE 'Queries lost: +[0-9]+' "$work/dnsperf.out" | grep -oE '[0-9]+$' || echo "?")
[ "$lost" = 0 ] || rc=1
echo "(work dir: $work)"
exit $rc
