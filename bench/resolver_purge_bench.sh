#!/usr/bin/env bash
# Resolver purge: from an operator's exclusion to the client of a caching
# resolver (PowerDNS Recursor with ECS, Unbound, Knot Resolver; real ones,
# started on loopback) getting the new replica, with announce.resolvers
# flushing on, and off (then the global TTL, 30 s, decides).
# usage: bench/resolver_purge_bench.sh [CHANGES_WITH_FLUSH [CHANGES_WITHOUT]]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/build/tests/integration_tests"
[ -x "$bin" ] || { echo "build first: make build" >&2; exit 1; }
SWITCHYARD_PURGE_CHANGES=${1:-20} SWITCHYARD_NOFLUSH_CHANGES=${2:-5} \
  "$bin" "bench: resolver purge latency per resolver type with and without flushing" 2>/dev/null |
  grep '^resolver purge'
