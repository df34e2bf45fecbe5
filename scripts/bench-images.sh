#!/usr/bin/env bash
# The image benchmark (benches/images.rs): installs the references (libvips and pyvips,
# ImageMagick, valgrind) if missing, then times Caravan's image pipeline against them on
# generated ~100 MP and ~40 MP TIFFs and prints the table (CI runs it only as a smoke test at a
# tiny scale). CARAVAN_BENCH_SCALE=0.1 for a quick run.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
missing=()
for p in libvips-tools imagemagick valgrind python3-venv; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
scripts/python-tools.sh >/dev/null
cargo bench --bench images
