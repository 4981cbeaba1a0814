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
. scripts/go-tool.sh
export GOEXPERIMENT=jsonv2
go_tool trivy "$MODULE" cmd/trivy "$VERSION" "$SUM" -ldflags "-s -w -X $MODULE/pkg/version/app.ver=${VERSION#v}"
