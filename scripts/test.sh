#!/usr/bin/env bash
# Everything the test suite needs, then the suite: installs what is missing, makes sure
# RabbitMQ is up on 127.0.0.1:5672, starts a throw-away Garage on loopback, runs the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --for-tests
eval "$(scripts/services.sh)"
cargo test --workspace "$@"
