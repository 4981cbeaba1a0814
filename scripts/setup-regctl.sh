#!/bin/sh
# Provides the real regctl binary that the embedded default's push step runs (in the pinned
# regctl image), so the tests can drive the same argv against a real registry. Built from the
# Go module proxy at the version the image is pinned to (dagger/src/images.ts), into .tools/bin.
set -eu
cd "$(dirname "$0")/.."
VERSION=v0.11.7
BIN=.tools/bin/regctl
if [ -x "$BIN" ] && "$BIN" version --format '{{.VCSTag}}' 2>/dev/null | grep -qx "$VERSION"; then
  exit 0
fi
if ! command -v go >/dev/null; then
  echo "setup-regctl: Go is needed to build regctl $VERSION (Debian: apt-get install golang-go, or https://go.dev/dl)" >&2
  exit 1
fi
mkdir -p .tools/bin
GOBIN="$PWD/.tools/bin" CGO_ENABLED=0 go install -trimpath "github.com/regclient/regclient/cmd/regctl@$VERSION"
echo "regctl ready: $BIN ($VERSION)"
