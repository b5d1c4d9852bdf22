# Shared by the bench scripts (source it). Bounded, loopback only.

# start_switchyard BIN WORK LIFETIME_S [SED_EXPR...]
# Writes WORK/switchyard.yaml from WORK/gen/switchyard.yaml (bench/peers'
# --gen output) listening on a free 127.0.0.1 port below the ephemeral range
# (admin on port+1), applies the extra sed expressions, starts the daemon under
# timeout(1) and waits (bounded) until it answers. Sets `port` and `sy_pid`.
start_switchyard() {
  local bin=$1 work=$2 life=$3 attempt i
  shift 3
  local extra=()
  for e in "$@"; do extra+=(-e "$e"); done
  sy_pid=
  for attempt in $(seq 1 20); do
    port=$((RANDOM % 10000 + 20000))
    sed -e "s|^listen: .*|listen: { dns: [\"127.0.0.1:$port\"], admin: \"127.0.0.1:$((port + 1))\" }|" "${extra[@]}" \
      "$work/gen/switchyard.yaml" > "$work/switchyard.yaml"
    "$bin" --check --config "$work/switchyard.yaml" > /dev/null
    timeout "$life" "$bin" --config "$work/switchyard.yaml" > "$work/switchyard.log" 2>&1 &
    sy_pid=$!
    for i in $(seq 1 100); do
      # dig prints its errors (";; communications error ...") to stdout even
      # with +short: only a line that is not a comment is an answer.
      dig +time=1 +tries=1 -p "$port" @127.0.0.1 example.test SOA +short 2>/dev/null | grep -qv '^;\|^$' && return 0
      kill -0 "$sy_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill "$sy_pid" 2>/dev/null || true; wait "$sy_pid" 2>/dev/null || true; sy_pid=
  done
  echo "switchyard did not start:" >&2; cat "$work/switchyard.log" >&2
  return 1
}
