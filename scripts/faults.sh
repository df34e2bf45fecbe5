#!/usr/bin/env bash
# The fault-injection suite (tests/faults.rs): kills workers, restarts RabbitMQ, stops the S3
# server, feeds hostile files; prints one figure per row. Rows run one at a time.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --for-tests
eval "$(scripts/services.sh)"
cargo test --features fault-injection --test faults -- --test-threads=1 --nocapture "$@"
