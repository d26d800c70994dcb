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

# PostgreSQL's server binaries, for the store tests that run on PostgreSQL too (the run lock's
# advisory lock); Debian's package, installed as root when missing. Without it those tests
# say why they were skipped.
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing Debian's postgresql"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null 2>&1 \
      || { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; } \
      || echo "setup: could not install postgresql (the PostgreSQL tests will be skipped)"
  fi
fi
