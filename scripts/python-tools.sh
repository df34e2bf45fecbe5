#!/usr/bin/env bash
# Makes (or brings up to date) the one virtualenv Caravan's tests and benchmarks run Python tools
# from, with the pinned versions in scripts/python-requirements.txt, and prints its folder.
# The folder: $CARAVAN_VENV, default ~/.cache/caravan/venv (kept between runs; reinstalled
# only when the requirements change).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${CARAVAN_VENV:-$HOME/.cache/caravan/venv}
requirements=scripts/python-requirements.txt
stamp="$venv/.requirements.sha256"
want=$(sha256sum "$requirements" | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "installing the Python tools into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements" >&2
  echo "$want" > "$stamp"
fi
echo "$venv"
