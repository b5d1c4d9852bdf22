#!/usr/bin/env bash
# Instructions per query on the hot path (parse + classify + lookup + write),
# counted by callgrind: the same figure on every run of the same binary, so a
# regression shows even on this noisy machine. For each case: run N and 2N
# queries, per-query = (I(2N) - I(N)) / N (set-up cancels out).
# usage: bench/query_instructions.sh [N]     (build first: make build)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/build/bench/query_instructions"
n=${1:-20000}
command -v valgrind > /dev/null || { echo "valgrind is not installed" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
count() {  # count CASE N -> total instructions
  valgrind --tool=callgrind --callgrind-out-file="$work/out" "$bin" "$1" "$2" > /dev/null 2> "$work/err" ||
    { cat "$work/err" >&2; exit 1; }
  grep -oE 'Collected : [0-9]+' "$work/err" | grep -oE '[0-9]+' || grep -E '^summary:' "$work/out" | awk '{print $2}'
}
printf '%-14s %12s\n' case instr/query
for c in global-ecs global-source shared-ecs shared-source regional nxdomain refused global-ecs+rrl nxdomain+rrl; do
  a=$(count "$c" "$n")
  b=$(count "$c" $((2 * n)))
  printf '%-14s %12d\n' "$c" $(( (b - a) / n ))
done
