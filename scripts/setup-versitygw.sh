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
. scripts/go-tool.sh
go_tool versitygw "$MODULE" cmd/versitygw "$VERSION" "$SUM"
