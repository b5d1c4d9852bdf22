#!/usr/bin/env bash
# Real clients (BIND's dig, Knot's kdig) against the daemon serving the demo
# config on a random free loopback address. Usage: dig_test.sh SWITCHYARD DEMO_CONFIG
set -euo pipefail
bin=$1
demo=$2
work=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# Random 127.a.b.c and port; the daemon refuses to start if either is taken, so retry.
for attempt in $(seq 1 20); do
  addr="127.$((RANDOM % 254 + 1)).$((RANDOM % 254 + 1)).$((RANDOM % 254 + 1))"
  port=$((RANDOM % 12768 + 20000))  # below the ephemeral range
  # This test is about DNS answers, not probing: no probes, no admin listener.
  sed -e "s|dns: \[.*\]|dns: [\"$addr:$port\"]|" -e "s|^  scheme: http|  scheme: none|" \
      -e "/^  admin: /d" "$demo" > "$work/switchyard.yaml"
  cp "$work/switchyard.yaml" "$work/check.yaml"
  timeout 120 "$bin" --config "$work/switchyard.yaml" --threads 2 > "$work/log" 2>&1 &
  pid=$!
  for i in $(seq 1 50); do
    if dig +time=1 +tries=1 @"$addr" -p "$port" cr.example.test SOA +short > /dev/null 2>&1 &&
       [ -n "$(dig +time=1 +tries=1 @"$addr" -p "$port" cr.example.test SOA +short)" ]; then
      break 2
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=
done
[ -n "$pid" ] || { echo "daemon did not start"; cat "$work/log"; exit 1; }

fails=0
expect() {  # expect DESCRIPTION EXPECTED ACTUAL
  if [ "$2" == "$3" ]; then echo "ok   $1"; else echo "FAIL $1: expected [$2] got [$3]"; fails=$((fails + 1)); fi
}
q() { dig +time=2 +tries=2 @"$addr" -p "$port" "$@"; }

expect "global, source address (default region eastus)" "127.0.0.11" "$(q myregistry.cr.example.test +short)"
expect "global, ECS eastus" "127.0.0.11" "$(q myregistry.cr.example.test +subnet=198.51.100.10/32 +short)"
expect "global, ECS westus" "127.0.0.12" "$(q myregistry.cr.example.test +subnet=198.51.100.70/32 +short)"
expect "global, ECS westeurope" "127.0.0.13" "$(q myregistry.cr.example.test +subnet=198.51.100.130/32 +short)"
expect "global, ECS southeastasia (nearest: westeurope)" "127.0.0.13" \
  "$(q myregistry.cr.example.test +subnet=2001:db8:4::1/56 +short)"
expect "ECS scope echoed" "; CLIENT-SUBNET: 198.51.100.70/32/26" \
  "$(q myregistry.cr.example.test +subnet=198.51.100.70/32 | grep CLIENT-SUBNET)"
expect "regional" "127.0.0.12" "$(q myregistry.westus.geo.cr.example.test +short)"
expect "data" "127.0.0.113" "$(q myregistry.westeurope.data.cr.example.test +short)"
expect "CNAME replica" "teamb-sea.registry.example.net." "$(q teamb.southeastasia.geo.cr.example.test +short)"
expect "AAAA over TCP" "2001:db8::13" "$(q myregistry.westeurope.geo.cr.example.test AAAA +tcp +short)"
expect "NXDOMAIN" "NXDOMAIN" "$(q nope.cr.example.test | sed -n 's/.*status: \([A-Z]*\).*/\1/p')"
expect "REFUSED outside the zone" "REFUSED" "$(q example.org | sed -n 's/.*status: \([A-Z]*\).*/\1/p')"
expect "AA flag" "1" "$(q myregistry.cr.example.test | grep -c 'flags: qr aa')"
# Other opcodes: NOTIMP that echoes the opcode (dig otherwise warns "Opcode
# mismatch" and retries as if the server were unreachable), the question and
# the OPT (RFC 6891: a reply to an EDNS query carries one).
status_of() { sed -n 's/.*opcode: \([A-Z0-9]*\), status: \([A-Z]*\).*/\1 \2/p'; }
expect "dig +opcode=2 (STATUS)" "STATUS NOTIMP" "$(q myregistry.cr.example.test +opcode=2 | status_of)"
expect "dig +opcode=4 (NOTIFY)" "NOTIFY NOTIMP" "$(q cr.example.test SOA +opcode=4 | status_of)"
expect "no opcode mismatch" "0" "$(q myregistry.cr.example.test +opcode=2 2>&1 | grep -ci 'mismatch' || true)"
expect "NOTIMP keeps question and OPT" "1 1" \
  "$(q myregistry.cr.example.test +opcode=2 | sed -n 's/.*QUERY: \([0-9]*\), ANSWER: 0, AUTHORITY: 0, ADDITIONAL: \([0-9]*\).*/\1 \2/p')"

k() { kdig +timeout=2 +retry=1 @"$addr" -p "$port" "$@"; }
expect "kdig global with ECS" "127.0.0.12" "$(k myregistry.cr.example.test +subnet=198.51.100.70/32 +short)"
expect "kdig over TCP" "127.0.0.11" "$(k myregistry.eastus.geo.cr.example.test +tcp +short)"
expect "kdig BADVERS for EDNS version 1" "BADVERS" "$(k myregistry.cr.example.test +edns=1 | sed -n 's/.*status: \([A-Z]*\).*/\1/p')"
# kdig sends IXFR with the client's SOA in authority (RFC 1995), over UDP
# and TCP: refused like AXFR, not FORMERR.
refused() { grep -c "replied with error 'REFUSED'" || true; }
expect "kdig IXFR over UDP is REFUSED" "1" "$(k cr.example.test IXFR=1 +notcp 2>&1 | refused)"
expect "kdig IXFR over TCP is REFUSED" "1" "$(k cr.example.test IXFR=1 2>&1 | refused)"
expect "kdig NS at the apex" "ns1.cr.example.test." "$(k cr.example.test NS +short)"

echo "$((23 - fails)) passed, $fails failed"
[ "$fails" -eq 0 ]
