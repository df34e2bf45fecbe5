#!/usr/bin/env bash
# Starts a throw-away Garage S3 server on loopback for development and tests, with an access
# key (allowed to create buckets) and a bucket, and prints the CARAVAN_S3_* settings as
# `export` lines:   eval "$(scripts/garage-dev.sh start)"
#
#   start   start it (or reuse the one already running from the same state folder)
#   env     print the settings of the running one
#   halt    stop it, keeping its data (`start` brings the same one back)
#   stop    stop it and delete its data
#
# State lives in $CARAVAN_GARAGE_DIR (default: target/garage in the repository). Ports:
# $CARAVAN_GARAGE_PORT (S3 API, default 3900) and the three above it (RPC, web, admin).
# Needs the `garage` binary: cargo install garage --locked
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
state=${CARAVAN_GARAGE_DIR:-$repo/target/garage}
port=${CARAVAN_GARAGE_PORT:-3900}
garage_bin=${GARAGE_BIN:-$(command -v garage || echo "$HOME/.cargo/bin/garage")}
conf=$state/garage.toml
bucket=caravan-test

say_env() { cat "$state/env"; }

running() { [ -f "$state/pid" ] && kill -0 "$(cat "$state/pid")" 2>/dev/null; }

stop() {
  if running; then kill "$(cat "$state/pid")"; sleep 1; fi
  rm -rf "$state"
}

launch() {
  RUST_LOG=warn nohup "$garage_bin" -c "$conf" server >> "$state/garage.log" 2>&1 &
  echo $! > "$state/pid"
  for _ in $(seq 1 100); do "$garage_bin" -c "$conf" status >/dev/null 2>&1 && return; sleep 0.2; done
  echo "garage did not start; see $state/garage.log" >&2; exit 1
}

# A Garage left by an earlier run whose state folder is gone (a deleted checkout, an interrupted
# CI run, a checkout cloned again to the same path), or by another state folder on the same
# ports, would make ours fail with "address already in use": stop it. Called only when ours is
# not running, so one on our own configuration path is such a leftover too.
free_ports() {
  { pgrep -a -x garage || true; } | while read -r pid _ flag cfg _; do
    [ "$flag" = "-c" ] || continue
    if [ "$cfg" = "$conf" ] || [ ! -f "$cfg" ] || grep -q "127.0.0.1:$port\"" "$cfg"; then
      echo "stopping a stale Garage (pid $pid, $cfg) that holds port $port" >&2
      kill "$pid" 2>/dev/null || true
      sleep 1
    fi
  done
}

start() {
  if running && [ -f "$state/env" ]; then say_env; return; fi
  free_ports
  # Stopped with `halt`: start again on the same data, keys and bucket.
  if [ -f "$state/env" ] && [ -f "$conf" ]; then launch; say_env; return; fi
  [ -x "$garage_bin" ] || { echo "garage is not installed: cargo install garage --locked" >&2; exit 1; }
  rm -rf "$state"; mkdir -p "$state/meta" "$state/data"
  local hex; hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }
  cat > "$conf" <<CONF
metadata_dir = "$state/meta"
data_dir = "$state/data"
db_engine = "sqlite"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:$((port + 1))"
rpc_public_addr = "127.0.0.1:$((port + 1))"
rpc_secret = "$(hex 32)"

[s3_api]
s3_region = "garage"
api_bind_addr = "127.0.0.1:$port"
root_domain = ".s3.garage.localhost"

[admin]
api_bind_addr = "127.0.0.1:$((port + 3))"
admin_token = "$(hex 16)"
CONF
  launch
  local g="$garage_bin -c $conf"
  local node; node=$($g node id -q 2>/dev/null | cut -d@ -f1)
  [ -n "$node" ] || { echo "garage did not start; see $state/garage.log" >&2; cat "$state/garage.log" >&2; exit 1; }
  $g layout assign -z dc1 -c 1G "$node" >/dev/null
  $g layout apply --version 1 >/dev/null
  local key_id="GK$(hex 12)" secret; secret=$(hex 32)
  for _ in $(seq 1 50); do $g key import --yes -n caravan "$key_id" "$secret" >/dev/null 2>&1 && break; sleep 0.2; done
  $g key allow --create-bucket "$key_id" >/dev/null
  $g bucket create "$bucket" >/dev/null
  $g bucket allow --read --write --owner "$bucket" --key "$key_id" >/dev/null
  cat > "$state/env" <<ENV
export CARAVAN_S3_ENDPOINT=http://127.0.0.1:$port
export CARAVAN_S3_REGION=garage
export CARAVAN_S3_BUCKET=$bucket
export CARAVAN_S3_ACCESS_KEY_ID=$key_id
export CARAVAN_S3_SECRET_ACCESS_KEY=$secret
ENV
  chmod 600 "$state/env"
  say_env
}

case "${1:-start}" in
  start) start ;;
  env) running && say_env || { echo "garage is not running; run $0 start" >&2; exit 1; } ;;
  halt) if running; then kill "$(cat "$state/pid")"; while running; do sleep 0.1; done; fi ;;
  stop) stop ;;
  *) echo "usage: $0 [start|env|halt|stop]" >&2; exit 2 ;;
esac
