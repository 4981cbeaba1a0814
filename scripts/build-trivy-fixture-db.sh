#!/usr/bin/env bash
# Writes a real Trivy vulnerability database made from a fixture, for tests of the vulnerability
# gate where Trivy's published database cannot be downloaded:
#
#   scripts/build-trivy-fixture-db.sh OUTDIR [FIXTURE.json]
#
# writes OUTDIR/db/trivy.db and OUTDIR/db/metadata.json (FIXTURE defaults to
# test/fixtures/vulndb/advisories.json); then scan with
#
#   trivy image --cache-dir OUTDIR --skip-db-update --offline-scan ...
#
# The writer is scripts/trivy-fixture-db (Go, Trivy's own DB library at the version trivy 0.74.0
# requires). It is built once per source into .tools/trivy-fixture-db/ (Go from PATH or
# /usr/local/go; modules through the Go module proxy, or GOMODCACHE as set). Extra flags for the
# writer (e.g. -updated-at, -schema-version 1 for a DB trivy refuses) go in TRIVY_FIXTURE_DB_FLAGS.
set -euo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  echo "usage: $0 OUTDIR [FIXTURE.json]" >&2
  exit 2
fi
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=$1
FIXTURE=${2:-$REPO/test/fixtures/vulndb/advisories.json}
SRC=$REPO/scripts/trivy-fixture-db

GO=$(command -v go || true)
[ -n "$GO" ] || { [ -x /usr/local/go/bin/go ] && GO=/usr/local/go/bin/go; }
if [ -z "$GO" ]; then
  echo "build-trivy-fixture-db: Go is needed to build $SRC (Debian: apt-get install golang-go, or https://go.dev/dl)" >&2
  exit 1
fi

# The binary is keyed on its sources: a change to any of them builds a new one.
key=$(cat "$SRC/go.mod" "$SRC/go.sum" "$SRC"/*.go | sha256sum | cut -c1-16)
BIN=$REPO/.tools/trivy-fixture-db/$key/trivy-fixture-db
if [ ! -x "$BIN" ]; then
  mkdir -p "$(dirname "$BIN")"
  echo "build-trivy-fixture-db: building $SRC (once per source)" >&2
  (cd "$SRC" && CGO_ENABLED=0 GOFLAGS=-mod=readonly "$GO" build -trimpath -o "$BIN.tmp" .)
  mv "$BIN.tmp" "$BIN"
fi

# shellcheck disable=SC2086 # flags are words
"$BIN" -fixture "$FIXTURE" -out "$OUT" ${TRIVY_FIXTURE_DB_FLAGS:-}
