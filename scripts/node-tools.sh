#!/usr/bin/env bash
# Installs (or brings up to date) npm packages exactly as a folder's package-lock.json pins
# them, into its node_modules (kept between runs; reinstalled only when the lockfile
# changes). Folders are relative to the repository: exhibition/viewer (the libraries the
# pack viewer embeds at build time), tests/verifiers (the checkers the tests run). Needs
# Node.js 18 or later and npm.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
for folder in "$@"; do
  cd "$root/$folder"
  stamp=node_modules/.package-lock.sha256
  want=$(sha256sum package-lock.json | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "installing the npm packages of $folder" >&2
    npm ci --no-audit --no-fund --loglevel=error >&2
    echo "$want" > "$stamp"
  fi
done
