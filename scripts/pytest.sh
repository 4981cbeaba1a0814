#!/bin/sh
# Runs the Python suites (app + model, including the gunicorn end-to-end tests) from the
# project virtualenv (see scripts/setup-python.sh); exits with pytest's status.
set -eu
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  echo "scripts/pytest.sh: .venv missing; run: sh scripts/setup-python.sh" >&2
  exit 2
fi
export PYTHONDONTWRITEBYTECODE=1
exec .venv/bin/python -m pytest -q -p no:cacheprovider app/tests model/tests "$@"
