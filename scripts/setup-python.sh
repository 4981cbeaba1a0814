#!/bin/sh
# Prepares the project-local virtualenv (.venv): the app (with its test extra) and the model
# installed in editable mode from their pyproject.toml, whose dependencies are the pinned
# requirements files, the pinned model-signing library (model/sign_model.py, the store CLI's
# --signing-key and --public-key) and the pinned linter. Safe to run again.
set -eu
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check \
  -e "./app[test]" -e ./model -r model/requirements-signing.txt -r requirements-lint.txt
echo "python virtualenv ready: .venv ($(.venv/bin/python --version))"
