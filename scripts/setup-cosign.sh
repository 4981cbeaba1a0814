#!/bin/sh
# Provides cosign, which the pipeline runs in its cosign image to sign and verify images by digest,
# so the tests can drive the same argv. Built from the Go module proxy (go verifies every module
# against the checksum database) at the version the image is pinned to in dagger/src/images.ts
# (test/module/tool-versions.test.ts ties the two), static and stripped like the engine harness's
# stand-in, into .tools/bin. The binary is checked to be built from exactly that module and
# checksum (go version -m); when it already is, nothing is built.
set -eu
cd "$(dirname "$0")/.."
VERSION=v2.6.5
SUM="h1:D7kFSWS2HzfD+LpEuBO89D1KfOAODlkWuuhzXS8yzi0="
MODULE=github.com/sigstore/cosign/v2
BIN=.tools/bin/cosign
built_from() {
  go version -m "$1" 2>/dev/null | awk -v m="$MODULE" '$1 == "mod" && $2 == m { print $3 " " $4 }'
}
if ! command -v go >/dev/null; then
  echo "setup-cosign: Go is needed to build cosign $VERSION (Debian: apt-get install golang-go, or https://go.dev/dl)" >&2
  exit 1
fi
if [ -x "$BIN" ] && [ "$(built_from "$BIN")" = "$VERSION $SUM" ]; then
  exit 0
fi
mkdir -p .tools/bin
GOBIN="$PWD/.tools/bin" CGO_ENABLED=0 go install -trimpath -ldflags "-s -w" "$MODULE/cmd/cosign@$VERSION"
if [ "$(built_from "$BIN")" != "$VERSION $SUM" ]; then
  echo "setup-cosign: $BIN is not built from $MODULE $VERSION $SUM (go version -m says: $(built_from "$BIN"))" >&2
  exit 1
fi
echo "cosign ready: $BIN ($VERSION)"
