#!/usr/bin/env bash
# `make demo`: one docker-registry per replica of deploy/examples/switchyard.yaml
# on its loopback address (port 5000), then switchyard in the foreground.
# Ctrl-C stops everything. Usage: run.sh SWITCHYARD_BINARY
# SWITCHYARD_DEMO_DIR (default /tmp/switchyard-demo) holds the replicas' data,
# logs and PIDs and switchyard's state directory.
set -euo pipefail
bin=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
config="$root/deploy/examples/switchyard.yaml"
demo=${SWITCHYARD_DEMO_DIR:-/tmp/switchyard-demo}
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
# Wait (bounded) until every replica answers /v2/, so the first probe round
# sees them online.
for r in $replicas; do
  name=${r%%=*} addr=${r#*=}
  for i in $(seq 1 100); do curl -s -o /dev/null "http://$addr:5000/v2/" && break; sleep 0.1; done
  curl -s -o /dev/null "http://$addr:5000/v2/" ||
    echo "warning: replica $name is not answering on $addr:5000 (see $demo/$name/log)"
done

# The canary myregistry's content check reads (health.check: content): a tiny
# image built locally, pushed to each of its replicas.
if command -v umoci > /dev/null && command -v skopeo > /dev/null; then
  rm -rf "$demo/oci"
  umoci init --layout "$demo/oci" > /dev/null && umoci new --image "$demo/oci:canary" > /dev/null
  for addr in 127.0.0.11 127.0.0.12 127.0.0.13; do
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
DNS: 127.0.0.1:15353 and [::1]:15353     admin: http://127.0.0.1:18053
State: $demo/state      Replica PIDs: $demo/NAME.pid

In another terminal, from $root, paste this once:
  export PATH="$root/build/cli:\$PATH" SWITCHYARD_CONFIG="$config"
then the README's tour works as printed, e.g.:
  switchyardctl replication list --registry myregistry
  dig @127.0.0.1 -p 15353 myregistry.cr.example.test +subnet=198.51.100.10/32 +short
  switchyardctl drill run --registry myregistry --replica eastus --scenario exclude --dns 127.0.0.1:15353
Status page: http://127.0.0.1:18053/status#token=$(cat "$root/deploy/examples/admin.token")
Metrics:     curl -s http://127.0.0.1:18053/metrics | grep switchyard_replica_up
Break the eastus replica's storage (/v2/ still 200, manifests 500 -> content_error, failover):
  mv $demo/eastus/data $demo/eastus/data.bak && touch $demo/eastus/data
Mend it:  rm $demo/eastus/data && mv $demo/eastus/data.bak $demo/eastus/data
Freeze the eastus replica (probes time out -> failover after 3 probes, 2 s apart):
  kill -STOP \$(cat $demo/eastus.pid)      thaw: kill -CONT \$(cat $demo/eastus.pid)
Ctrl-C here stops switchyard and the replicas.
=================================================================================
TXT
"$bin" --config "$config" --state-dir "$demo/state" &
pids+=($!)
wait "${pids[-1]}"
