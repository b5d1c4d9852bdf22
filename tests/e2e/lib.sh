# Sourced by the e2e scripts: a scratch directory, processes killed at exit,
# ok/fail/expect bookkeeping, and Debian docker-registry replicas on loopback.
# KEEP_E2E_DIR=1 keeps the scratch directory for a look afterwards.

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -CONT "$p" 2>/dev/null || true; kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ "${KEEP_E2E_DIR:-}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

fails=0
ok() { echo "ok   $1"; }
fail() { echo "FAIL $1"; fails=$((fails + 1)); }
expect() {  # expect DESCRIPTION EXPECTED ACTUAL
  if [ "$2" == "$3" ]; then ok "$1"; else fail "$1: expected [$2] got [$3]"; fi
}
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }  # elapsed START END: seconds
wait_until() {  # wait_until SECONDS COMMAND... : polls every 100 ms
  local limit=$(( $1 * 10 )); shift
  for i in $(seq 1 "$limit"); do
    "$@" && return 0
    sleep 0.1
  done
  return 1
}
# config_head: the start of every e2e config: $zone with ns1 at $net.53, short
# TTLs (global ${global_ttl:-1} s), DNS on $net.53:$dns_port, the admin API on
# $net.53:$admin_port with admin.token beside the config.
config_head() {
  cat <<CFG
zone: $zone
nameservers:
  - name: ns1.$zone
    addresses: [$net.53]
ttl: { global: ${global_ttl:-1}, regional: 1, data: 1, negative: 1, apex: 60 }
listen:
  dns: ["$net.53:$dns_port"]
  admin: "$net.53:$admin_port"
admin: { token_file: admin.token }
CFG
}
port_free() {  # port_free ADDR PORT: neither TCP nor UDP bound there
  ! ss -Hltun "( sport = :$2 )" | awk '{print $5}' | grep -q -E "^($1|0\.0\.0\.0|\*|\[::\]):$2$"
}

# start_replica NAME ADDRESS STORAGE_DIR [PORT]: `docker-registry serve` on
# ADDRESS:PORT (default 5000) with its access log in $work/NAME/log; its PID
# goes to replica_pid[NAME]. Replicas given one STORAGE_DIR share their content.
declare -A replica_pid
start_replica() {
  mkdir -p "$work/$1"
  cat > "$work/$1/config.yml" <<CFG
version: 0.1
log: { level: info, accesslog: { disabled: false } }
storage: { filesystem: { rootdirectory: $3 }, delete: { enabled: true } }
http: { addr: "$2:${4:-5000}" }
CFG
  docker-registry serve "$work/$1/config.yml" > "$work/$1/log" 2>&1 &
  pids+=($!)
  replica_pid[$1]=$!
}

# wait_replicas ADDRESS[:PORT]...: every replica answers /v2/ within 10 s, else
# exit 1 (Switchyard's first probe round would see a replica still starting as down).
wait_replicas() {
  local code hostport
  for address in "$@"; do
    hostport=$address
    [[ $hostport == *:* ]] || hostport="$hostport:5000"
    for i in $(seq 1 100); do
      code=$(curl -s -o /dev/null -w '%{http_code}' "http://$hostport/v2/" || true)
      [ "$code" = 200 ] && break
      sleep 0.1
    done
    [ "$code" = 200 ] || { echo "replica $hostport did not start"; exit 1; }
  done
}

# pick_network HOST:PORT...: sets net (a random 127.x.y), dns_port and
# admin_port (below the ephemeral range) such that $net.HOST:PORT for each
# argument, and $net.53 on dns_port and admin_port, are free.
pick_network() {
  local attempt free spec
  for attempt in $(seq 1 50); do
    net="127.$((RANDOM % 200 + 20)).$((RANDOM % 254 + 1))"
    dns_port=$((RANDOM % 12768 + 20000))
    admin_port=$((dns_port + 1))
    free=yes
    for spec in "$@" "53:$dns_port" "53:$admin_port"; do
      port_free "$net.${spec%%:*}" "${spec#*:}" || { free=no; break; }
    done
    [ "$free" = yes ] && return 0
  done
  echo "no free loopback network found"; exit 1
}

# start_unbound: Unbound as the clients' caching resolver on $net.2:53 (a
# resolv.conf has no port), the zone $zone delegated to Switchyard at
# $net.53:$dns_port (stub-zone), a 1 s cache so a routing change shows within
# a second; its log in $work/unbound.log, and $work/resolv.conf pointing at it
# for in_resolver_ns. Debian's defaults otherwise: rrset-roundrobin is on.
start_unbound() {
  cat > "$work/unbound.conf" <<CFG
server:
  interface: $net.2
  port: 53
  outgoing-interface: $net.2
  do-daemonize: no
  username: ""
  chroot: ""
  directory: "$work"
  pidfile: "$work/unbound.pid"
  use-syslog: no
  logfile: ""
  verbosity: 1
  access-control: 127.0.0.0/8 allow
  do-not-query-localhost: no
  module-config: "iterator"
  cache-max-ttl: 1
  cache-max-negative-ttl: 1
  prefetch: no
  # .test is special-use (RFC 6761): Unbound answers it NXDOMAIN itself unless told not to.
  local-zone: "test." nodefault
stub-zone:
  name: "$zone"
  stub-addr: $net.53@$dns_port
CFG
  unbound-checkconf "$work/unbound.conf" > /dev/null
  unbound -d -c "$work/unbound.conf" > "$work/unbound.log" 2>&1 &
  pids+=($!)
  echo "nameserver $net.2" > "$work/resolv.conf"
}

# in_resolver_ns CMD...: runs CMD (bounded) in a private mount namespace whose
# /etc/resolv.conf is $work/resolv.conf, so its lookups go through Unbound.
in_resolver_ns() {
  timeout 120 unshare -m sh -c "mount --bind '$work/resolv.conf' /etc/resolv.conf && exec \"\$@\"" sh "$@"
}
