#!/usr/bin/env bash
# Keeps the README true (issue 19): starts the demo exactly as `make demo`
# does (deploy/demo/run.sh: a docker-registry per replica, then switchyard),
# waits for every replica to be online, then runs the README's tested blocks
# as printed, from the repository root, and checks what they print
# (tests/e2e/readme_tour.py). The demo's addresses and ports are fixed
# (127.0.0.11-22:5000, 127.0.0.1:15353, :18053), so it runs in a private
# network namespace where nothing else can hold them.
# usage: readme_e2e.sh SWITCHYARD SWITCHYARDCTL [--record]
set -euo pipefail
if [ "${SY_IN_NETNS:-}" != 1 ]; then
  exec unshare -n env SY_IN_NETNS=1 bash "$0" "$@"
fi
ip link set lo up
bin=$(realpath "$1")
ctl=$(realpath "$2")
record=${3:-}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=$(mktemp -d /tmp/switchyard-readme.XXXXXX)
demo_pid=
cleanup() {
  if [ -n "$demo_pid" ]; then kill "$demo_pid" 2>/dev/null || true; wait "$demo_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

SWITCHYARD_DEMO_DIR="$work/demo" timeout 600 bash "$root/deploy/demo/run.sh" "$bin" > "$work/demo.log" 2>&1 &
demo_pid=$!
online=0
for i in $(seq 1 300); do
  online=$("$ctl" --config "$root/deploy/examples/switchyard.yaml" replication list --registry myregistry 2>/dev/null |
           grep -c ' online ' || true)
  [ "$online" -ge 3 ] && break
  kill -0 "$demo_pid" 2>/dev/null || break
  sleep 0.2
done
if [ "$online" -lt 3 ]; then
  echo "the demo did not bring myregistry's 3 replicas online:"; cat "$work/demo.log"; exit 1
fi
echo "demo up: $(grep -c '^' "$work/demo.log") lines of output, myregistry's replicas online"
python3 "$here/readme_tour.py" "$root/README.md" "$root" --ctl-dir "$(dirname "$ctl")" $record
