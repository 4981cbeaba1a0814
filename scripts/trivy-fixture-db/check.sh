#!/usr/bin/env bash
# Checks the fixture vulnerability DB against the real trivy binary, offline:
#
#   bash scripts/trivy-fixture-db/check.sh            # trivy from PATH, else .tools/bin/trivy
#   TRIVY=/path/to/trivy bash scripts/trivy-fixture-db/check.sh
#
# Builds the DB from test/fixtures/vulndb/advisories.json (scripts/build-trivy-fixture-db.sh),
# a small image tarball laid out as Dagger's Container.asTarball() writes it, unpacked (make-test-image.py:
# Debian bookworm dpkg packages + the app's pip pins), and asserts that trivy finds exactly the
# fixture ids expected: per severity threshold, with --ignore-unfixed, from the CycloneDX SBOM as
# from the tarball, and that a missing or too-old DB is refused. Ends with "N passed, N failed".
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TRIVY=${TRIVY:-$(command -v trivy || echo "$REPO/.tools/bin/trivy")}
[ -x "$TRIVY" ] || { echo "check: no trivy binary (set TRIVY, or put trivy on PATH / in .tools/bin)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bash "$REPO/scripts/build-trivy-fixture-db.sh" "$tmp/cache" >/dev/null
python3 "$REPO/scripts/trivy-fixture-db/make-test-image.py" "$tmp/image.tar" >/dev/null
# Unpacked, as the pipeline does before trivy (dagger/src/supply-chain/sbom.ts, unpackImageArgs).
mkdir "$tmp/image" && tar -xf "$tmp/image.tar" -C "$tmp/image"

# No network at all: no DB download, no version check, no telemetry.
OFFLINE=(--skip-db-update --skip-java-db-update --offline-scan --skip-version-check --disable-telemetry --no-progress --quiet)
passed=0 failed=0

# findings FILE: one line per finding, "ID PkgName InstalledVersion Severity", sorted.
findings() {
  python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
rows = sorted("%s %s %s %s" % (v["VulnerabilityID"], v["PkgName"], v["InstalledVersion"], v["Severity"])
              for res in r.get("Results") or [] for v in res.get("Vulnerabilities") or [])
print("\n".join(rows))' "$1"
}

# expect NAME WANT_RC WANT_FINDINGS -- trivy args...: runs trivy with --format json.
expect() {
  local name=$1 want_rc=$2 want=$3 rc=0 got
  shift 4
  "$TRIVY" "$@" --format json --output "$tmp/out.json" 2>"$tmp/err" || rc=$?
  got=$(findings "$tmp/out.json" 2>/dev/null || echo "(no JSON)")
  if [ "$rc" = "$want_rc" ] && [ "$got" = "$want" ]; then
    passed=$((passed + 1)); echo "ok   $name"
  else
    failed=$((failed + 1)); echo "FAIL $name: exit $rc (want $want_rc)"
    diff <(printf '%s\n' "$want") <(printf '%s\n' "$got") | sed 's/^/     /' || true
    sed 's/^/     stderr: /' "$tmp/err" | tail -5
  fi
}

# refused NAME PATTERN -- trivy args...: trivy exits 1 and says PATTERN on stderr.
refused() {
  local name=$1 pattern=$2 rc=0
  shift 3
  "$TRIVY" "$@" --format json --output "$tmp/out.json" 2>"$tmp/err" || rc=$?
  if [ "$rc" = 1 ] && grep -q -- "$pattern" "$tmp/err"; then
    passed=$((passed + 1)); echo "ok   $name"
  else
    failed=$((failed + 1)); echo "FAIL $name: exit $rc (want 1 and \"$pattern\")"
    sed 's/^/     stderr: /' "$tmp/err" | tail -5
  fi
}

flask=$(sed -n 's/^flask==\([^ #]*\).*/\1/p' "$REPO/app/requirements.txt")
numpy=$(sed -n 's/^numpy==\([^ #]*\).*/\1/p' "$REPO/app/requirements.txt")
ALL="CVE-0000-0001 zlib1g 1:1.2.13.dfsg-1 CRITICAL
CVE-0000-0002 flask $flask HIGH
CVE-0000-0003 numpy $numpy MEDIUM
CVE-0000-0005 libssl3 3.0.20-1~deb12u2 LOW
CVE-0000-0005 openssl 3.0.20-1~deb12u2 LOW"
GATE="CVE-0000-0001 zlib1g 1:1.2.13.dfsg-1 CRITICAL
CVE-0000-0002 flask $flask HIGH"
IMAGE=(image --input "$tmp/image" --cache-dir "$tmp/cache" "${OFFLINE[@]}" --scanners vuln)

expect "every fixture advisory that applies (not CVE-0000-0004: gunicorn not < 22)" 0 "$ALL" -- "${IMAGE[@]}"
expect "gate CRITICAL,HIGH fails with exit 1" 1 "$GATE" -- "${IMAGE[@]}" --severity CRITICAL,HIGH --exit-code 1
expect "gate CRITICAL alone leaves the HIGH one out" 1 "CVE-0000-0001 zlib1g 1:1.2.13.dfsg-1 CRITICAL" -- \
  "${IMAGE[@]}" --severity CRITICAL --exit-code 1
expect "--ignore-unfixed drops the unfixed ones (0003, 0005)" 0 "$GATE" -- "${IMAGE[@]}" --ignore-unfixed
# A DB with only the MEDIUM one and the one that does not match: the gate passes.
python3 -c '
import json, sys
f = json.load(open(sys.argv[1]))
f["advisories"] = [a for a in f["advisories"] if a["id"] in ("CVE-0000-0003", "CVE-0000-0004")]
json.dump(f, open(sys.argv[2], "w"))' "$REPO/test/fixtures/vulndb/advisories.json" "$tmp/below-gate.json"
bash "$REPO/scripts/build-trivy-fixture-db.sh" "$tmp/below-gate-cache" "$tmp/below-gate.json" >/dev/null
expect "nothing at the threshold: exit 0 despite --exit-code 1" 0 "" -- \
  image --input "$tmp/image" --cache-dir "$tmp/below-gate-cache" "${OFFLINE[@]}" --scanners vuln \
  --severity CRITICAL,HIGH --exit-code 1

# The SBOM: no DB at all (an empty cache dir), then scanned against the fixture DB.
rc=0
"$TRIVY" image --input "$tmp/image" --cache-dir "$tmp/empty-cache" "${OFFLINE[@]}" --format cyclonedx \
  --output "$tmp/sbom.cdx.json" 2>"$tmp/err" || rc=$?
purls=$(python3 -c '
import json, sys
print("\n".join(sorted(c.get("purl", "") for c in json.load(open(sys.argv[1]))["components"] if c.get("purl"))))' \
  "$tmp/sbom.cdx.json" 2>/dev/null || true)
if [ "$rc" = 0 ] && grep -qx "pkg:pypi/flask@$flask" <<<"$purls" &&
  grep -q '^pkg:deb/debian/zlib1g@1.2.13.dfsg-1?arch=amd64.*epoch=1' <<<"$purls" && [ ! -e "$tmp/empty-cache/db" ]; then
  passed=$((passed + 1)); echo "ok   CycloneDX SBOM without a DB lists dpkg and pip packages"
else
  failed=$((failed + 1)); echo "FAIL CycloneDX SBOM: exit $rc"; printf '     %s\n' "$purls"; tail -5 "$tmp/err"
fi
SBOM=(sbom "$tmp/sbom.cdx.json" --cache-dir "$tmp/cache" "${OFFLINE[@]}" --scanners vuln)
expect "trivy sbom: the same findings as the tarball" 0 "$ALL" -- "${SBOM[@]}"
expect "trivy sbom: the same gate" 1 "$GATE" -- "${SBOM[@]}" --severity CRITICAL,HIGH --exit-code 1

refused "no DB in the cache dir" "cannot be specified on the first run" -- \
  image --input "$tmp/image" --cache-dir "$tmp/empty-cache" "${OFFLINE[@]}" --scanners vuln
TRIVY_FIXTURE_DB_FLAGS="-schema-version 1" bash "$REPO/scripts/build-trivy-fixture-db.sh" "$tmp/old-cache" >/dev/null
refused "a DB of an older schema" "old DB schema" -- \
  image --input "$tmp/image" --cache-dir "$tmp/old-cache" "${OFFLINE[@]}" --scanners vuln

# The tar itself: trivy reads it through manifest.json and takes the first (uncompressed) layer's
# compression for the gzipped one after it.
refused "the tarball with mixed layer compression, read as a tar" "failed to extract the archive" -- \
  image --input "$tmp/image.tar" --cache-dir "$tmp/cache" "${OFFLINE[@]}"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
