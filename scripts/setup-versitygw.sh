#!/bin/sh
# Provides versitygw, the S3 server the model store's S3 tests start on 127.0.0.1 (its posix
# backend over a temp directory). Chosen because it implements S3's conditional writes the way the
# store relies on them, atomically (If-None-Match: * and If-Match: <ETag> on PutObject and
# CompleteMultipartUpload, checked under a per-object lock), serves ranged and ETag-conditional
# GETs, and is a Go module: built from the Go module proxy at a pinned version (go verifies every
# module against the checksum database), into .tools/bin. The binary is checked to be built from
# exactly that module and checksum (go version -m).
set -eu
cd "$(dirname "$0")/.."
VERSION=v1.8.0
SUM="h1:au+wI+aybno/STsQiSm35Uu6Q6iK5MWReQxgO6SEMFc="
MODULE=github.com/versity/versitygw
BIN=.tools/bin/versitygw
built_from() {
  go version -m "$1" 2>/dev/null | awk -v m="$MODULE" '$1 == "mod" && $2 == m { print $3 " " $4 }'
}
if ! command -v go >/dev/null; then
  echo "setup-versitygw: Go is needed to build versitygw $VERSION (Debian: apt-get install golang-go, or https://go.dev/dl)" >&2
  exit 1
fi
if [ -x "$BIN" ] && [ "$(built_from "$BIN")" = "$VERSION $SUM" ]; then
  exit 0
fi
mkdir -p .tools/bin
GOBIN="$PWD/.tools/bin" CGO_ENABLED=0 go install -trimpath "$MODULE/cmd/versitygw@$VERSION"
if [ "$(built_from "$BIN")" != "$VERSION $SUM" ]; then
  echo "setup-versitygw: $BIN is not built from $MODULE $VERSION $SUM (go version -m says: $(built_from "$BIN"))" >&2
  exit 1
fi
echo "versitygw ready: $BIN ($VERSION)"
