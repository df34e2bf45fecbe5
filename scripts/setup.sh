#!/usr/bin/env bash
# Installs what Caravan needs on a Debian machine, skipping what is already there:
# FFmpeg's development libraries and CLI, clang (for the FFmpeg bindings), pkg-config, and the
# Noto fonts watermark text is drawn with (Latin, Arabic, Thai, Hebrew, Devanagari, CJK).
# With --for-tests, also RabbitMQ, Garage (the S3 server the end-to-end tests use) and
# HarfBuzz's command-line tools, exiftool, libtiff's and Little CMS's tools and Ghostscript's
# ICC profiles (the references the watermark, metadata and colour tests compare against;
# `tiffcp` writes the JPEG-compressed and CCITT TIFFs, `jpgicc`/`tificc` the CMYK masters the
# image tests read).
set -euo pipefail
for_tests=${1:-}
packages=(libavcodec-dev libavformat-dev libavutil-dev libavfilter-dev libavdevice-dev
          libswscale-dev libswresample-dev clang libclang-dev pkg-config ffmpeg
          fonts-noto-core fonts-noto-cjk fonts-dejavu-core)
[ "$for_tests" = "--for-tests" ] && packages+=(rabbitmq-server libharfbuzz-bin libimage-exiftool-perl libtiff-tools
                                                liblcms2-utils libgs-common)
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
  echo "installing Garage (a real S3 server for the tests; takes about 15 minutes once)" >&2
  cargo install garage --locked --quiet
fi
