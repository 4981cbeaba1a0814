#!/bin/sh
# Prepares the project-local virtualenv (.venv) with the app's and the model's pinned requirements.
set -eu
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check \
  -r app/requirements.txt -r app/requirements-dev.txt -r model/requirements.txt
echo "python virtualenv ready: .venv ($(.venv/bin/python --version))"
