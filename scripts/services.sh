#!/usr/bin/env bash
# Makes sure what the tests talk to is running: RabbitMQ on 127.0.0.1:5672 (started if down)
# and a throw-away Garage on loopback. Prints Garage's `export` lines; use with eval.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
if ! (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; then
  echo "starting RabbitMQ" >&2
  rabbitmq-server -detached >&2
  for _ in $(seq 1 60); do (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null && break; sleep 1; done
  rabbitmqctl await_startup >/dev/null
fi
# RabbitMQ < 3.12 ignores the job queues' x-consumer-timeout and applies its global 30-minute
# consumer timeout, which would hand a long transcode to a second worker: raise it (5 h).
rabbitmqctl eval 'application:set_env(rabbit, consumer_timeout, 18000000).' >/dev/null 2>&1 || true
scripts/garage-dev.sh start
