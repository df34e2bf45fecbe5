#!/usr/bin/env bash
# Makes sure RabbitMQ answers on 127.0.0.1:5672: started if down, restarted if wedged or started
# with too few open files, and its global consumer timeout raised on versions that ignore the
# per-queue one. Used by
# scripts/services.sh before the tests and by scripts/faults.sh after them (row 3 restarts the
# broker; whatever runs next must find it answering).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$(scripts/python-tools.sh)
# A full AMQP round trip (connect, declare, publish with confirms, read back), not a TCP probe:
# a node wedged by many stop_app/start_app cycles accepts TCP and never finishes a handshake.
broker_answers() { timeout 40 "$venv/bin/python" scripts/broker-check.py; }
# RabbitMQ reserves file handles against its open-files limit (quorum queues hold three each,
# idle or not) and, out of handles, accepts TCP and never answers AMQP: with Debian's default
# 1024 that is a few hundred test queues. Start it with the hard limit (at most 65536) instead.
files_wanted=$(ulimit -Hn)
if [ "$files_wanted" = unlimited ] || [ "$files_wanted" -gt 65536 ]; then files_wanted=65536; fi
broker_pid() { pgrep -f -- '-s rabbit boot' | head -n1; }
broker_files() {
  local pid
  pid=$(broker_pid) && [ -n "$pid" ] && awk '/^Max open files/ { print $4 }' "/proc/$pid/limits"
}
start_broker() {
  echo "starting RabbitMQ (open files: $files_wanted)" >&2
  ulimit -n "$files_wanted"
  if [ -x /etc/init.d/rabbitmq-server ]; then
    /etc/init.d/rabbitmq-server start >&2 || rabbitmq-server -detached >&2
  else
    rabbitmq-server -detached >&2
  fi
  for _ in $(seq 1 60); do broker_answers 2>/dev/null && return 0; sleep 2; done
  return 1
}
stop_broker() {
  timeout 60 rabbitmqctl stop >/dev/null 2>&1 || true
  pkill -9 -f beam.smp || true
  for _ in $(seq 1 30); do (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null || return 0; sleep 1; done
}
files=$(broker_files || true)
if [ -n "$files" ] && [ "$files" -lt "$files_wanted" ] && [ "$files" -lt 16384 ]; then
  echo "RabbitMQ runs with $files open files (it stops answering once its queues hold them); restarting it with $files_wanted" >&2
  stop_broker
  start_broker || true
fi
if ! broker_answers; then
  if (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; then
    echo "RabbitMQ accepts connections but does not answer AMQP; restarting it" >&2
    stop_broker
  fi
  if ! start_broker; then
    # Still wedged after a clean restart: its stored state is what is broken. The node only
    # ever holds test queues here (every test uses its own prefix), so start it afresh.
    echo "RabbitMQ still does not answer after a restart; resetting the node" >&2
    timeout 60 rabbitmqctl stop_app >&2 || true
    timeout 60 rabbitmqctl force_reset >&2 || true
    timeout 60 rabbitmqctl start_app >&2 || true
    broker_answers || { stop_broker; start_broker; } ||
      { echo "RabbitMQ did not come up on 127.0.0.1:5672; see /var/log/rabbitmq" >&2; exit 1; }
  fi
fi
# RabbitMQ < 3.12 ignores the job queues' x-consumer-timeout and applies its global 30-minute
# consumer timeout, which would hand a long transcode to a second worker: raise it (5 h).
version=$(timeout 30 rabbitmq-diagnostics -q server_version 2>/dev/null || echo unknown)
if [ "$(printf '%s\n3.12\n' "$version" | sort -V | head -n1)" != "3.12" ]; then
  if ! timeout 30 rabbitmqctl eval 'application:set_env(rabbit, consumer_timeout, 18000000).' >/dev/null 2>&1; then
    echo "WARNING: RabbitMQ $version ignores per-queue consumer timeouts and its global consumer_timeout" >&2
    echo "WARNING: could not be raised: jobs longer than 30 minutes will be handed to a second worker." >&2
    echo "WARNING: set consumer_timeout = 18000000 in rabbitmq.conf (README, Reliability)." >&2
  fi
fi
