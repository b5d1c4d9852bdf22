#!/usr/bin/env bash
# `make demo`: one docker-registry per replica of deploy/examples/switchyard.yaml
# on its loopback address (port 5000), then switchyard in the foreground.
# Ctrl-C stops everything. Usage: run.sh SWITCHYARD_BINARY
set -euo pipefail
bin=$1
here=$(cd "$(dirname "$0")" && pwd)
config="$here/../examples/switchyard.yaml"
demo=/tmp/switchyard-demo
mkdir -p "$demo/state"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -CONT "$p" 2>/dev/null || true; kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

# region name -> replica address (the demo config's probe addresses)
replicas="eastus=127.0.0.11 westus=127.0.0.12 westeurope=127.0.0.13 teamb-westeurope=127.0.0.21 teamb-southeastasia=127.0.0.22"
for r in $replicas; do
  name=${r%%=*} addr=${r#*=}
  mkdir -p "$demo/$name"
  cat > "$demo/$name/config.yml" <<CFG
version: 0.1
log: { level: error }
storage: { filesystem: { rootdirectory: $demo/$name/data } }
http: { addr: "$addr:5000" }
CFG
  /usr/bin/docker-registry serve "$demo/$name/config.yml" > "$demo/$name/log" 2>&1 &
  pids+=($!)
  echo $! > "$demo/$name.pid"
done
sleep 1
for r in $replicas; do
  name=${r%%=*}
  kill -0 "$(cat "$demo/$name.pid")" 2>/dev/null || echo "warning: replica $name did not start (see $demo/$name/log)"
done

# The canary myregistry's content check reads (health.check: content): a tiny
# image built locally, pushed to each of its replicas.
if command -v umoci > /dev/null && command -v skopeo > /dev/null; then
  rm -rf "$demo/oci"
  umoci init --layout "$demo/oci" > /dev/null && umoci new --image "$demo/oci:canary" > /dev/null
  for addr in 127.0.0.11 127.0.0.12 127.0.0.13; do
    for i in $(seq 1 50); do curl -s -o /dev/null "http://$addr:5000/v2/" && break; sleep 0.1; done
    timeout 60 skopeo --insecure-policy copy -q --dest-tls-verify=false "oci:$demo/oci:canary" \
      "docker://$addr:5000/canary/heartbeat:latest" ||
      echo "warning: could not push the canary to $addr (myregistry's content check will fail there)"
  done
else
  echo "warning: skopeo and umoci are needed to push the demo's canary image (apt install skopeo umoci)"
fi

cat <<TXT
== Switchyard demo ==============================================================
Replicas (docker-registry, port 5000): $replicas
DNS: 127.0.0.1:15353 and [::1]:15353     admin: http://127.0.0.1:18053/readyz
State: $demo/state      Replica PIDs: $demo/NAME.pid

Watch the global name for an eastus client (another terminal):
  watch -n 0.5 dig @127.0.0.1 -p 15353 myregistry.cr.example.test +subnet=198.51.100.10/32 +short
Break the eastus replica's storage (/v2/ still 200, manifests 500 -> content_error, failover):
  mv $demo/eastus/data $demo/eastus/data.bak && touch $demo/eastus/data
Mend it:  rm $demo/eastus/data && mv $demo/eastus/data.bak $demo/eastus/data
Freeze the eastus replica (probes time out -> failover after 3 probes, 2 s apart):
  kill -STOP \$(cat $demo/eastus.pid)
Thaw it (failback after 2 good probes, no cooldown):
  kill -CONT \$(cat $demo/eastus.pid)
Run a failover drill (exclude | fail | throttle), with a timed report:
  SWITCHYARD_TOKEN_FILE=deploy/examples/admin.token ./build/cli/switchyardctl --server http://127.0.0.1:18053 \\
    drill run --registry myregistry --replica eastus --scenario exclude --dns 127.0.0.1:15353
Status page: http://127.0.0.1:18053/status#token=\$(cat deploy/examples/admin.token)
Ctrl-C here stops switchyard and the replicas.
=================================================================================
TXT
"$bin" --config "$config" --state-dir "$demo/state" &
pids+=($!)
wait "${pids[-1]}"
