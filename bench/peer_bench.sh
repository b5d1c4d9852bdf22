#!/usr/bin/env bash
# Switchyard against gdnsd, NSD and Knot, one command, same machine, same run:
# dnsperf (Debian) with the peer workload of bench/peers/ (1,000 registries x 3
# replicas, 80% global names half with ECS, 15% regional, 5% NXDOMAIN), the
# servers interleaved round by round. Two measurements:
#   1. saturation QPS (dnsperf needs about a core here, so fast servers meet
#      near the same client-bound rate);
#   2. server CPU per query at a fixed offered rate (--rate, default 30000).
# Switchyard runs the generated switchyard.yaml (same topology, health checks
# of all 3,000 replicas against bench/peers/health_responder.py, like gdnsd).
#
# usage: bench/peer_bench.sh [--rounds N] [--rate QPS] [--seconds S] [--peers "gdnsd nsd knot"]
#                            [--skip-saturation] [--skip-rate] [--threads N]
# Prints every run, then a table with medians and our ratio to each peer.
# Bounded: every process runs under timeout and is stopped by PID.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
rounds=3 rate=30000 seconds=20 peers="gdnsd nsd knot" threads=2 saturation=1 fixed=1
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2;;
    --rate) rate=$2; shift 2;;
    --seconds) seconds=$2; shift 2;;
    --peers) peers=$2; shift 2;;
    --threads) threads=$2; shift 2;;
    --skip-saturation) saturation=0; shift;;
    --skip-rate) fixed=0; shift;;
    -h|--help) sed -n '2,17p' "$0"; exit 0;;
    *) echo "unknown option $1" >&2; exit 2;;
  esac
done

bin="$root/build/daemon/switchyard"
[ -x "$bin" ] || { echo "build first: make build (no $bin)" >&2; exit 1; }
work=$(mktemp -d /tmp/switchyard-peer-bench.XXXXXX)
sy_pid=
cleanup() {
  if [ -n "$sy_pid" ]; then kill "$sy_pid" 2>/dev/null || true; wait "$sy_pid" 2>/dev/null || true; fi
}
trap cleanup EXIT

# The workload and our config for it; a free port on 127.0.0.1 for us.
bash "$here/peers/peers.sh" --gen "$work/gen" > /dev/null
# Ports below the ephemeral range (32768+), where outgoing connections may sit.
total=$(( (rounds * ($(wc -w <<< "$peers") + 1) * (seconds + 45) + 300) * 2 ))
source "$here/lib.sh"
start_switchyard "$bin" "$work" "$total" "s|^threads: .*|threads: $threads|"
echo "switchyard on 127.0.0.1:$port (pid $sy_pid, $threads threads); work dir $work"

# The peer rotation puts Switchyard last, so the health responder (started
# with gdnsd) is up and our probes have settled when our turn comes.
run() {  # run LABEL EXTRA_ARGS...
  local label=$1; shift
  echo "== $label"
  bash "$here/peers/peers.sh" --rounds "$rounds" -l "$seconds" --threads "$threads" "$@" $peers \
    --also-target "127.0.0.1:$port" --name switchyard --target-pid "$sy_pid" 2>&1 | tee "$work/$label.out" |
    grep -E '^(peer=|#)' || true
}
[ "$saturation" = 1 ] && run saturation
[ "$fixed" = 1 ] && run "rate-$rate" --rate "$rate"

# Summary: medians over the rounds (per-run lines), and our ratio to each peer.
echo
for label in saturation "rate-$rate"; do
  [ -f "$work/$label.out" ] || continue
  echo "== $label: medians of $rounds rounds"
  python3 - "$work/$label.out" <<'PY'
import collections, statistics, sys
runs = collections.OrderedDict()
for line in open(sys.argv[1]):
    if not line.startswith("peer=") or " runs=" in line:
        continue
    kv = dict(x.split("=", 1) for x in line.split() if "=" in x)
    runs.setdefault(kv["peer"], []).append(kv)
def med(rs, key):
    vals = []
    for r in rs:
        try:
            vals.append(float(r.get(key, "nan")))
        except ValueError:
            pass
    vals = [v for v in vals if v == v]
    return statistics.median(vals) if vals else float("nan")
rows = {p: (med(rs, "qps"), med(rs, "avg_ms"), med(rs, "srv_cpu_pct"), sum(int(r.get("lost", 0)) for r in rs))
        for p, rs in runs.items()}
ours = rows.get("switchyard")
print("%-12s %9s %8s %12s %8s  %s" % ("peer", "qps", "avg_ms", "srv_cpu_pct", "lost", "switchyard vs peer"))
for p, (q, a, c, l) in rows.items():
    ratio = ""
    if ours and p != "switchyard":
        ratio = "qps x%.2f" % (ours[0] / q) if q else ""
        if c == c and c > 0 and ours[2] == ours[2]:
            ratio += ", cpu x%.2f" % (ours[2] / c)
    print("%-12s %9.0f %8.3f %12.0f %8d  %s" % (p, q, a, c, l, ratio))
PY
done
echo "(raw output: $work)"
