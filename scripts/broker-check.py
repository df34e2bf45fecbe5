#!/usr/bin/env python3
"""One full AMQP round trip with RabbitMQ's own-protocol client (pika), as the tests will make it.

A TCP check is not enough: a node wedged by many stop_app/start_app cycles accepts connections
and never finishes the AMQP handshake (seen in CI: every test then timed out "while connecting").
This opens a connection, declares a throw-away queue, publishes one message with publisher
confirms and reads it back, each step bounded. Exit 0 when all of it worked; 1 with the step
that failed on stderr.

Usage: broker-check.py [AMQP URL]   (default amqp://guest:guest@127.0.0.1:5672/%2f)
"""

import sys
import uuid

import pika

TIMEOUT_S = 10


def main() -> int:
    url = sys.argv[1] if len(sys.argv) > 1 else "amqp://guest:guest@127.0.0.1:5672/%2f"
    params = pika.URLParameters(url)
    params.socket_timeout = TIMEOUT_S
    params.blocked_connection_timeout = TIMEOUT_S
    params.stack_timeout = TIMEOUT_S
    params.connection_attempts = 1
    step = "connecting"
    try:
        connection = pika.BlockingConnection(params)
        try:
            step = "opening a channel"
            channel = connection.channel()
            channel.confirm_delivery()
            step = "declaring a queue"
            queue = f"caravan-broker-check-{uuid.uuid4().hex[:8]}"
            channel.queue_declare(queue, exclusive=True, auto_delete=True)
            step = "publishing (with confirms)"
            body = uuid.uuid4().bytes
            channel.basic_publish("", queue, body, mandatory=True)
            step = "reading the message back"
            _, _, got = channel.basic_get(queue, auto_ack=True)
            if got != body:
                print(f"broker check: published a message and read back {got!r}", file=sys.stderr)
                return 1
        finally:
            connection.close()
    except Exception as error:  # pika raises many unrelated types; any of them is a failure
        print(f"broker check: {step} failed: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
