#!/usr/bin/env bash
# Everything the test suite needs, then the suite: installs what is missing, makes sure
# RabbitMQ is up on 127.0.0.1:5672, starts a throw-away Garage on loopback, runs the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --for-tests
export PATH="$HOME/.cargo/bin:$PATH"
if ! (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; then
  echo "starting RabbitMQ" >&2
  rabbitmq-server -detached
  for _ in $(seq 1 60); do (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null && break; sleep 1; done
  rabbitmqctl await_startup >/dev/null
fi
eval "$(scripts/garage-dev.sh start)"
cargo test --workspace "$@"
