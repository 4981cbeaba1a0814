#!/bin/sh
# Runs the Python suites from the project virtualenv (see scripts/setup-python.sh): app/, then
# model/ (the trainer, the benchmarks and the gunicorn end-to-end tests), each from its own folder
# so that pytest reads that project's pyproject.toml. Extra arguments go to both runs; a first
# argument `app` or `model` runs that project only. Ends with one line adding up the runs' closing
# lines (the line npm test counts); exits 1 if any run failed.
set -eu
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  echo "scripts/pytest.sh: .venv missing; run: sh scripts/setup-python.sh" >&2
  exit 2
fi
projects="app model"
case "${1:-}" in
  app | model) projects=$1; shift ;;
esac
export PYTHONDONTWRITEBYTECODE=1
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

status=0
for project in $projects; do
  echo "--- $project/"
  {
    rc=0
    (cd "$project" && exec ../.venv/bin/python -m pytest -q -p no:cacheprovider "$@") || rc=$?
    echo "$rc" >"$logs/$project.rc"
  } 2>&1 | tee "$logs/$project.log"
  [ "$(cat "$logs/$project.rc")" = 0 ] || status=1
done

# One closing line for all runs: the sum of each count over the runs' own closing lines.
total() {
  for project in $projects; do
    grep -E '[0-9]+ (passed|failed|errors?|skipped)' "$logs/$project.log" | tail -n 1
  done | grep -oE "[0-9]+ $1" | awk '{ n += $1 } END { print n + 0 }'
}
echo "--- $(echo "$projects" | sed 's/ / and /'): $(total passed) passed, $(total failed) failed, $(total 'errors?') errors, $(total skipped) skipped"
exit "$status"
