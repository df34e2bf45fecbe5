#!/usr/bin/env bash
# The video benchmark (benches/video.rs): times Caravan's access MP4 against the ffmpeg CLI with
# the same settings on generated masters and prints the table. Not part of CI.
# CARAVAN_BENCH_SCALE=0.25 for 5-second masters.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo bench --bench video
