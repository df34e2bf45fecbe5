#!/usr/bin/env bash
# Makes sure what the tests talk to is running: RabbitMQ on 127.0.0.1:5672 (started if down)
# and a throw-away Garage on loopback. Prints Garage's `export` lines; use with eval.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
scripts/broker.sh >&2
scripts/garage-dev.sh start
