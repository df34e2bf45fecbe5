#!/usr/bin/env bash
# Everything the test suite needs, then the suite: installs what is missing, makes sure
# RabbitMQ is up on 127.0.0.1:5672, starts a throw-away Garage on loopback, runs the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --for-tests
services=$(scripts/services.sh) # fails the script if a service cannot be started
eval "$services"
# Tests that need ../shared/corpus and cannot find it (outside CI) record a skip here.
export CARAVAN_SKIP_LOG=${CARAVAN_SKIP_LOG:-$PWD/target/skipped-tests.log}
mkdir -p "$(dirname "$CARAVAN_SKIP_LOG")" && : > "$CARAVAN_SKIP_LOG"
# Every test binary runs even after one fails, so the tally counts every failure.
status=0
cargo test --workspace --no-fail-fast "$@" || status=$?
if [ -s "$CARAVAN_SKIP_LOG" ]; then
  echo "SKIPPED ($(cut -f1 "$CARAVAN_SKIP_LOG" | sort -u | grep -c .) tests, not counted as passed):"
  sed 's/^/  /' "$CARAVAN_SKIP_LOG"
fi
exit "$status"
