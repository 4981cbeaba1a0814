# shellcheck shell=bash
# Shared by .ci/engine/up, down and the build stages: where things live, the cache key, timing,
# and recorded-PID handling. Sourced, never run.

ENGINE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$ENGINE_DIR/../.." && pwd)
BUNDLE=${AI_APP_ENGINE_BUNDLE:-$(cd "$REPO/.." && pwd)/shared/dagger-engine}
CACHE_ROOT=${AI_APP_ENGINE_CACHE:-/var/cache/ai-app-pipeline-engine}
RUN=${AI_APP_ENGINE_RUN:-/run/ai-app-pipeline-engine}

# The engine's network: its own namespace, one veth pair, a private /30. Nothing else is routed.
NETNS=${AI_APP_ENGINE_NETNS:-ai-app-engine}
VETH_HOST=${AI_APP_ENGINE_VETH:-aiapp-h}
VETH_ENGINE=${VETH_HOST%-h}-e
HOST_IP=${AI_APP_ENGINE_HOST_IP:-10.200.0.1}
ENGINE_IP=${AI_APP_ENGINE_IP:-10.200.0.2}
NET_PREFIX=30
REGISTRY_PORT=5000
PROXY_PORT=3128
REGISTRY_ADDR=$HOST_IP:$REGISTRY_PORT

# The Debian release every stand-in image and the engine rootfs are made of (images.ts names
# bookworm images; the engine rootfs shares their base).
SUITE=bookworm

log() { printf '%s\n' "$*" >&2; }
die() { printf 'engine harness: %s\n' "$*" >&2; exit 1; }

# One line, and only one, when the bundle this harness starts from is absent.
require_bundle() {
  local f
  for f in SHA256SUMS SHA256SUMS.bin bin.tar.zst sdk-src.tar.zst; do
    [ -r "$BUNDLE/$f" ] || die "engine bundle missing: $BUNDLE/$f not found (set AI_APP_ENGINE_BUNDLE to the dagger-engine folder)"
  done
}

# The cache key: everything a build stage reads from the project or the bundle, and the harness
# files that build (the ones that only start and stop things, up/down/env/runtime.sh/engine-init,
# are not inputs of what is cached). A change in any of these builds a new cache directory; old
# ones are listed by `up` and removed by `up --prune`.
BUILD_FILES="lib.sh build.sh chroot-run oci.py project.py"
key_inputs() {
  local f
  printf '%s\n' "$BUNDLE/SHA256SUMS" "$BUNDLE/SHA256SUMS.bin"
  for f in $BUILD_FILES; do printf '%s\n' "$ENGINE_DIR/$f"; done
  printf '%s\n' "$REPO/dagger/src/images.ts" "$REPO/scripts/setup-kubectl.sh"
}
compute_key() {
  local f
  # names without their folders: the same inputs in another checkout (CI clones the repository into
  # a new folder, with the bundle beside it) must give the same key
  key_inputs | while read -r f; do
    printf '== %s\n' "${f##*/}"
    cat "$f"
  done | sha256sum | cut -c1-16
}

# ---- timing -------------------------------------------------------------------------------------
TIMES_FILE=""
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
record_time() { # name seconds note
  printf '%-44s %8ss  %s\n' "$1" "$2" "$3" >&2
  [ -z "$TIMES_FILE" ] || printf '%s\t%s\t%s\n' "$1" "$2" "$3" >> "$TIMES_FILE"
}

# step NAME FUNCTION: run every time, timed.
step() {
  local name=$1 t0
  shift
  log "--- $name"
  t0=$(now)
  "$@"
  record_time "$name" "$(secs "$t0" "$(now)")" ""
}

# stage NAME FUNCTION: a cached build stage. Skipped when its done-marker exists; the marker is
# written only after the function succeeded, so an interrupted stage is redone from scratch.
stage() {
  local name=$1 t0 d
  shift
  if [ -f "$KEYDIR/done/$name" ]; then
    record_time "$name" "0.0" "cached (built in $(cut -f1 "$KEYDIR/done/$name")s)"
    return 0
  fi
  log "--- $name"
  t0=$(now)
  "$@"
  d=$(secs "$t0" "$(now)")
  mkdir -p "$KEYDIR/done"
  printf '%s\t%s\n' "$d" "$(date -u +%FT%TZ)" > "$KEYDIR/done/$name"
  record_time "$name" "$d" "built"
}

# ---- Go ----------------------------------------------------------------------------------------
# Go is needed for the Go SDK content (its toolchain goes into that image and the engine builds the
# TypeScript runtime with it) and for the regctl stand-in. Whatever `go` is on PATH (or the one in
# /usr/local/go) is used; a Go too old for the SDK's go.mod switches toolchain through GOTOOLCHAIN.
# GO is set to the go command to use.
need_go() { # minimum version, e.g. 1.26.1
  local want=$1 have cand
  GO=""
  for cand in "$(command -v go 2>/dev/null)" /usr/local/go/bin/go /usr/lib/go/bin/go; do
    [ -n "$cand" ] && [ -x "$cand" ] && { GO=$cand; break; }
  done
  [ -n "$GO" ] || die "no Go toolchain: install golang-go (any Go >= 1.21 can switch itself to go$want) or put go on PATH"
  have=$("$GO" env GOVERSION 2>/dev/null | sed 's/^go//')
  if [ -z "$have" ]; then
    die "$GO is older than Go 1.21 and cannot fetch go$want itself: install Go >= $want (https://go.dev/dl) or put it on PATH"
  fi
  if [ "$(printf '%s\n%s\n' "$want" "$have" | sort -V | head -1)" != "$want" ]; then
    [ "$(printf '1.21\n%s\n' "$have" | sort -V | head -1)" = 1.21 ] ||
      die "$GO is go $have: older than Go 1.21, it cannot fetch go$want itself: install Go >= $want (https://go.dev/dl) or put it on PATH"
    log "go $have < $want: using GOTOOLCHAIN=go$want (fetched through the Go module proxy)"
    export GOTOOLCHAIN=go$want
  fi
  export GOFLAGS=-modcacherw
}
