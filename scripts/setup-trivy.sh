#!/bin/sh
# Provides trivy, which the pipeline runs in its trivy image for the image's SBOM and the
# vulnerability gate, so the tests can drive the same argv. Built from the Go module proxy (go
# verifies every module against the checksum database) at the version the image is pinned to in
# dagger/src/images.ts (its tag has no leading v, the module version has; test/module/
# tool-versions.test.ts ties the two), the way upstream's release is built: GOEXPERIMENT=jsonv2
# (trivy imports encoding/json/v2, so Go >= 1.25) and the version stamped in with -X, static and
# stripped, into .tools/bin. The binary is checked to be built from exactly that module and
# checksum (go version -m); when it already is, nothing is built.
set -eu
cd "$(dirname "$0")/.."
VERSION=v0.74.0
SUM="h1:B2/h1Aehsq/zykg0jxpWUlOX7e3UXpbxjZZs/0vNlC4="
MODULE=github.com/aquasecurity/trivy
BIN=.tools/bin/trivy
built_from() {
  go version -m "$1" 2>/dev/null | awk -v m="$MODULE" '$1 == "mod" && $2 == m { print $3 " " $4 }'
}
if ! command -v go >/dev/null; then
  echo "setup-trivy: Go is needed to build trivy $VERSION (Debian: apt-get install golang-go, or https://go.dev/dl)" >&2
  exit 1
fi
if [ -x "$BIN" ] && [ "$(built_from "$BIN")" = "$VERSION $SUM" ]; then
  exit 0
fi
mkdir -p .tools/bin
GOBIN="$PWD/.tools/bin" CGO_ENABLED=0 GOEXPERIMENT=jsonv2 go install -trimpath \
  -ldflags "-s -w -X $MODULE/pkg/version/app.ver=${VERSION#v}" "$MODULE/cmd/trivy@$VERSION"
if [ "$(built_from "$BIN")" != "$VERSION $SUM" ]; then
  echo "setup-trivy: $BIN is not built from $MODULE $VERSION $SUM (go version -m says: $(built_from "$BIN"))" >&2
  exit 1
fi
echo "trivy ready: $BIN ($VERSION)"
