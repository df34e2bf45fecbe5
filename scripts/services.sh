#!/usr/bin/env bash
# Makes sure what the tests talk to is running: RabbitMQ on 127.0.0.1:5672 (started if down)
# and a throw-away Garage on loopback. Prints Garage's `export` lines; use with eval.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
broker_answers() {
  (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null &&
    timeout 30 rabbitmq-diagnostics -q check_port_connectivity >/dev/null 2>&1
}
if ! broker_answers; then
  # Port open but no answer: a wedged node (seen after many stop_app/start_app cycles).
  if (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; then
    echo "RabbitMQ accepts connections but does not answer; restarting it" >&2
    timeout 60 rabbitmqctl stop >/dev/null 2>&1 || pkill -9 -f beam.smp || true
    sleep 2
  fi
  echo "starting RabbitMQ" >&2
  if [ -x /etc/init.d/rabbitmq-server ]; then
    /etc/init.d/rabbitmq-server start >&2 || rabbitmq-server -detached >&2
  else
    rabbitmq-server -detached >&2
  fi
  for _ in $(seq 1 120); do broker_answers && break; sleep 1; done
  broker_answers || { echo "RabbitMQ did not come up on 127.0.0.1:5672; see /var/log/rabbitmq" >&2; exit 1; }
fi
# RabbitMQ < 3.12 ignores the job queues' x-consumer-timeout and applies its global 30-minute
# consumer timeout, which would hand a long transcode to a second worker: raise it (5 h).
timeout 30 rabbitmqctl eval 'application:set_env(rabbit, consumer_timeout, 18000000).' >/dev/null 2>&1 || true
scripts/garage-dev.sh start
