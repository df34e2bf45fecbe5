#!/usr/bin/env bash
# Installs (or brings up to date) the npm packages the tests run, exactly as
# tests/verifiers/package-lock.json pins them, into tests/verifiers/node_modules (kept between
# runs; reinstalled only when the lockfile changes). Needs Node.js 20 or later and npm.
set -euo pipefail
cd "$(dirname "$0")/../tests/verifiers"
stamp=node_modules/.package-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "installing the npm packages of tests/verifiers" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
  echo "$want" > "$stamp"
fi
