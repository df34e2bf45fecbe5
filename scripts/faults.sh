#!/usr/bin/env bash
# The fault-injection suite (tests/faults/): kills workers, restarts RabbitMQ, stops the S3
# server, feeds hostile files; prints one figure per row. Rows run one at a time.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --for-tests
services=$(scripts/services.sh) # fails the script if a service cannot be started
eval "$services"
status=0
cargo test --features fault-injection --test faults -- --test-threads=1 --nocapture "$@" || status=$?
# Row 3 stops and starts RabbitMQ many times: leave it answering for whatever runs next.
scripts/broker.sh || status=1
exit "$status"
