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
. scripts/go-tool.sh
go_tool cosign "$MODULE" cmd/cosign "$VERSION" "$SUM" -ldflags "-s -w"
