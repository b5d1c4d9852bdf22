#!/usr/bin/env bash
# Runs every libFuzzer target for SECONDS each (bounded), starting from the
# committed seeds and regressions; new inputs go to BUILD/fuzz-corpus (never
# into the repository). A crash fails the run and leaves its input in
# BUILD/fuzz-crashes: fix the bug, then copy the input into
# tests/fuzz/regressions/TARGET/ so every build replays it from then on.
# To keep what a long run found (the hash-named files in corpus/ came so):
#   BUILD/tests/fuzz/fuzz_T -merge=1 tests/fuzz/corpus/T BUILD/fuzz-corpus/T
# (adds only inputs that reach new coverage).
# usage: tests/fuzz/run.sh BUILD_DIR SECONDS
set -euo pipefail
build=$1 seconds=$2
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$build/fuzz-crashes"
status=0
for t in query edns config; do
  mkdir -p "$build/fuzz-corpus/$t"
  extra=()
  [ "$t" = config ] && extra=(-dict="$here/yaml.dict" -max_len=4096)
  echo "== fuzz_$t for ${seconds}s"
  if ! timeout $((seconds + 120)) "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 \
      -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix="$build/fuzz-crashes/$t-" "${extra[@]}" \
      "$build/fuzz-corpus/$t" "$here/corpus/$t" "$here/regressions/$t" 2> "$build/fuzz-$t.log"; then
    tail -60 "$build/fuzz-$t.log"
    echo "fuzz_$t FAILED; the input is in $build/fuzz-crashes/ (see tests/fuzz/run.sh)"
    status=1
  else
    grep -E "^stat::(number_of_executed_units|new_units_added)|Done [0-9]+ runs" "$build/fuzz-$t.log" || true
  fi
done
exit $status
