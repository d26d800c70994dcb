#!/usr/bin/env bash
# Set-up for `make`: the virtualenv with every package, then a browser (DESIGN §7).
# Idempotent: make runs this only when pyproject.toml or this script changed (stamp file).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PYTHON" -m venv .venv
fi
echo "setup: installing the project and its test tools into .venv"
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]' 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -c "import bots, flask, playwright, sqlalchemy, apscheduler" # fail loudly if pip failed

echo "setup: finding a browser"
.venv/bin/python -m bots.browser ensure
