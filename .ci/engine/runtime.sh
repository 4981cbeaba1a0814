# shellcheck shell=bash
# What runs: the network namespace and veth pair, the registry, the proxy, the engine. Started
# by up, stopped by down, each by its recorded PID. Sourced after lib.sh.

SOCKET=$RUN/engine-run/dagger/engine.sock

# ---- recorded processes -------------------------------------------------------------------------
# $RUN/pids/NAME holds "PID STARTTIME EXE": the start time (field 22 of /proc/PID/stat) and the
# executable tell a live process from a later one that reused the PID.
proc_starttime() { awk '{ sub(/^.*\) /, ""); print $20 }' "/proc/$1/stat" 2>/dev/null; }
proc_exe() { readlink "/proc/$1/exe" 2>/dev/null; }

record_pid() { # name pid program
  # The PID is that of a forked shell, then setsid/nsenter, until they exec PROGRAM: wait for it.
  local st exe i
  for ((i = 0; i < 100; i++)); do
    exe=$(proc_exe "$2") || true
    [ -z "$exe" ] || [ "${exe##*/}" != "$3" ] || break
    [ -n "$exe" ] || break
    sleep 0.05
  done
  st=$(proc_starttime "$2") || true
  [ -n "$st" ] && [ -n "$exe" ] || die "$1 (pid $2) exited right after start: see $RUN/logs/$1.log"
  [ "${exe##*/}" = "$3" ] || die "$1 (pid $2) runs $exe, not $3"
  mkdir -p "$RUN/pids"
  printf '%s %s %s\n' "$2" "$st" "$exe" > "$RUN/pids/$1"
}

# recorded_pid NAME: prints the PID if it still runs what was recorded, else nothing (status 1).
recorded_pid() {
  local f=$RUN/pids/$1 pid st exe
  [ -f "$f" ] || return 1
  read -r pid st exe < "$f"
  [ -n "$pid" ] && [ "$(proc_starttime "$pid")" = "$st" ] && [ "$(proc_exe "$pid")" = "$exe" ] || return 1
  printf '%s\n' "$pid"
}

# stop_recorded NAME [TARGET-FN [SECONDS]]: one SIGTERM to the recorded process (or to the PIDs
# TARGET-FN prints for it), then wait up to SECONDS (default 10) for the recorded process to exit;
# SIGKILL only after that. The record is forgotten either way.
# Only ONE SIGTERM for the engine: it counts them, and the third forces an unclean shutdown
# ("got 3 SIGTERM/SIGINTs, forcing shutdown"), after which the next start discards the whole cache
# ("dagql persistence store marked unclean; wiping and cold-starting"), itself taking a minute.
# A clean stop takes ~10 s idle, longer while a session is open or the disk is busy.
stop_recorded() {
  local name=$1 target_fn=${2:-} wait=${3:-10} pid targets t0
  if pid=$(recorded_pid "$name"); then
    targets=$pid
    [ -z "$target_fn" ] || targets=$("$target_fn" "$pid")
    [ -n "$targets" ] || targets=$pid
    log "stopping $name (pid $pid)"
    t0=$SECONDS
    # shellcheck disable=SC2086
    kill -TERM $targets 2>/dev/null || true
    until wait_gone "$name" 15; do
      if ((SECONDS - t0 >= wait)); then
        log "$name did not stop in ${wait}s: SIGKILL $targets"
        # shellcheck disable=SC2086
        kill -KILL $targets 2>/dev/null || true
        wait_gone "$name" 5 || kill -KILL "$pid" 2>/dev/null || true
        break
      fi
      log "  $name still stopping ($((SECONDS - t0))s)"
    done
  elif [ -f "$RUN/pids/$name" ]; then
    log "$name: recorded PID no longer runs what was recorded; nothing to stop"
  fi
  rm -f "$RUN/pids/$name"
}
# the engine gets this long to shut down cleanly before SIGKILL
ENGINE_STOP_WAIT=${AI_APP_ENGINE_STOP_WAIT:-600}
wait_gone() { # name seconds
  local i
  for ((i = 0; i < $2 * 5; i++)); do
    recorded_pid "$1" >/dev/null || return 0
    sleep 0.2
  done
  return 1
}

rotate_log() { [ ! -s "$RUN/logs/$1.log" ] || mv "$RUN/logs/$1.log" "$RUN/logs/$1.log.prev"; }

# ---- network -------------------------------------------------------------------------------------
net_up() {
  local other
  other=$(ip -o -4 addr show | awk -v ip="$HOST_IP" -v dev="$VETH_HOST" '$4 ~ "^" ip "/" && $2 != dev { print $2 }')
  [ -z "$other" ] || die "$HOST_IP is already used by $other on this machine (set AI_APP_ENGINE_HOST_IP/AI_APP_ENGINE_IP)"
  ip netns list | awk '{ print $1 }' | grep -qx "$NETNS" || ip netns add "$NETNS"
  if ! ip link show "$VETH_HOST" >/dev/null 2>&1; then
    ip link add "$VETH_HOST" type veth peer name "$VETH_ENGINE" netns "$NETNS"
  fi
  ip -o -4 addr show dev "$VETH_HOST" | grep -q " $HOST_IP/" || ip addr add "$HOST_IP/$NET_PREFIX" dev "$VETH_HOST"
  sysctl -qw "net.ipv6.conf.$VETH_HOST.disable_ipv6=1" || true
  ip link set "$VETH_HOST" up
  ip -n "$NETNS" link set lo up
  ip -n "$NETNS" -o -4 addr show dev "$VETH_ENGINE" | grep -q " $ENGINE_IP/" || ip -n "$NETNS" addr add "$ENGINE_IP/$NET_PREFIX" dev "$VETH_ENGINE"
  ip netns exec "$NETNS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 || true
  ip -n "$NETNS" link set "$VETH_ENGINE" up
  # the engine's namespace reaches its /30 and nothing else: no default route, no NAT on the host
  [ -z "$(ip -n "$NETNS" route show default)" ] || die "namespace $NETNS has a default route: refusing to start"
  log "$NETNS: $(ip -n "$NETNS" -4 -o addr show | awk '{ print $2, $4 }' | tr '\n' ' ')| routes: $(ip -n "$NETNS" route | tr '\n' ';')"
}

net_down() {
  ip link show "$VETH_HOST" >/dev/null 2>&1 && ip link del "$VETH_HOST"
  ip netns list | awk '{ print $1 }' | grep -qx "$NETNS" && ip netns del "$NETNS"
  true
}

# ---- registry (Debian's docker-registry, on the host end of the veth) ---------------------------
wait_http() { # url seconds name
  local i
  for ((i = 0; i < $2 * 5; i++)); do
    curl -sf -o /dev/null --noproxy '*' "$1" && return 0
    recorded_pid "$3" >/dev/null || die "$3 exited: $(tail -5 "$RUN/logs/$3.log")"
    sleep 0.2
  done
  die "$3 did not answer at $1 in $2 s"
}

registry_up() {
  if recorded_pid registry >/dev/null; then
    log "registry already running (pid $(recorded_pid registry))"
    return 0
  fi
  mkdir -p "$KEYDIR/registry-data"
  cat > "$RUN/registry.yml" <<YAML
version: 0.1
log: {level: warn, accesslog: {disabled: true}}
storage:
  filesystem: {rootdirectory: $KEYDIR/registry-data}
  delete: {enabled: true}
http: {addr: "$REGISTRY_ADDR"}
YAML
  rotate_log registry
  # (3>&- 9>&-: the daemons must not inherit up's stdout copy or its cache lock)
  setsid docker-registry serve "$RUN/registry.yml" >> "$RUN/logs/registry.log" 2>&1 < /dev/null 3>&- 9>&- &
  record_pid registry $! docker-registry
  wait_http "http://$REGISTRY_ADDR/v2/" 20 registry
}

push_images() {
  local paths ref path
  paths=$(python3 -c '
import json, sys
for m in json.load(open(sys.argv[1]))["manifests"]:
    a = m.get("annotations", {})
    if "io.ai-app-pipeline.stand-in.for" in a:
        print(a["io.ai-app-pipeline.stand-in.for"] + "\t" + a["io.ai-app-pipeline.stand-in.mirror-path"])' "$IMG_LAYOUT/index.json")
  local repos=()
  while IFS=$'\t' read -r ref path; do
    local mount_args=()
    for r in "${repos[@]}"; do mount_args+=(--mount-from "$r"); done
    $OCI push "$IMG_LAYOUT" "$ref" "$REGISTRY_ADDR/$path" "${mount_args[@]}"
    repos+=("${path%:*}")
  done <<< "$paths"
}

# ---- allow-list proxy (tinyproxy, on the host end of the veth) ----------------------------------
proxy_up() {
  if recorded_pid proxy >/dev/null; then
    log "proxy already running (pid $(recorded_pid proxy))"
    return 0
  fi
  python3 "$ENGINE_DIR/project.py" allow-hosts "$GO" > "$RUN/allow-hosts"
  sed -e 's/\./\\./g' -e 's/^/^/' -e 's/$/$/' "$RUN/allow-hosts" > "$RUN/tinyproxy.filter"
  log "proxy allows (from npm, go, pip and apt configuration): $(tr '\n' ' ' < "$RUN/allow-hosts")"
  cat > "$RUN/tinyproxy.conf" <<CONF
Port $PROXY_PORT
Listen $HOST_IP
Allow $ENGINE_IP/$NET_PREFIX
Timeout 600
MaxClients 200
ConnectPort 443
Filter "$RUN/tinyproxy.filter"
FilterType ere
FilterDefaultDeny Yes
FilterURLs Off
DisableViaHeader Yes
LogLevel Info
LogFile "$RUN/logs/proxy.log"
CONF
  rotate_log proxy
  setsid tinyproxy -d -c "$RUN/tinyproxy.conf" >> "$RUN/logs/proxy.log" 2>&1 < /dev/null 3>&- 9>&- &
  record_pid proxy $! tinyproxy
  local i
  for ((i = 0; i < 50; i++)); do
    (exec 3<>"/dev/tcp/$HOST_IP/$PROXY_PORT") 2>/dev/null && return 0
    recorded_pid proxy >/dev/null || die "proxy exited: $(tail -5 "$RUN/logs/proxy.log")"
    sleep 0.2
  done
  die "proxy did not listen on $HOST_IP:$PROXY_PORT"
}

# ---- engine --------------------------------------------------------------------------------------
engine_config() {
  local etc=$RUN/etc-dagger domains aliases no_proxy goproxy
  mkdir -p "$etc"
  # every registry an image of the module (or of the TS runtime) comes from is mirrored to ours
  domains=$( (cut -f3 "$KEYDIR/images.tsv"; echo docker.io) | sort -u)
  # GC: without a setting the engine keeps at least 20% of the disk free (engine/server/gc.go,
  # DetectDefaultGCCap), and on a disk fuller than that it prunes every result after each session,
  # so nothing is reused from one `dagger call` to the next. The harness keeps up to
  # AI_APP_ENGINE_GC_RESERVED (default 20GB) whatever the free space, and leaves 2GB free.
  python3 - "$etc/engine.json" "$REGISTRY_ADDR" "${AI_APP_ENGINE_LOG_LEVEL:-info}" "${AI_APP_ENGINE_GC_RESERVED:-20GB}" $domains <<'PY'
import json, sys
out, reg, level, reserved, *domains = sys.argv[1:]
cfg = {"logLevel": level, "registries": {d: {"mirrors": [reg]} for d in domains}}
cfg["registries"][reg] = {"http": True}
cfg["gc"] = {"reservedSpace": reserved, "minFreeSpace": "2GB"}
json.dump(cfg, open(out, "w"), indent=2)
PY
  : > "$etc/engine.toml"
  printf 'nameserver %s\n' "$HOST_IP" > "$RUN/resolv.conf" # nothing answers: outside names resolve only at the proxy
  aliases=$(python3 "$ENGINE_DIR/project.py" aliases "$REPO" 2>/dev/null | paste -sd, -)
  # @azure/core-rest-pipeline sends even http://blob-store:10000 through HTTPS_PROXY: every service
  # alias the module binds must be in NO_PROXY (bare names, no pattern covers them)
  no_proxy=localhost,127.0.0.1,$HOST_IP,$ENGINE_IP,.dagger.local,$aliases
  goproxy=$("$GO" env GOPROXY | tr '|' ',' | tr ',' '\n' | grep -v -x -e direct -e off | paste -sd, -)
  {
    echo "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    echo "HOME=/root"
    echo "HTTPS_PROXY=http://$HOST_IP:$PROXY_PORT"
    echo "HTTP_PROXY=http://$HOST_IP:$PROXY_PORT"
    echo "NO_PROXY=$no_proxy"
    # the Go SDK's containers take GOPROXY from this variable (engine/engineutil/executor_spec.go):
    # the seeded module cache first, then this machine's module proxy
    echo "_DAGGER_ENGINE_SYSTEMENV_GOPROXY=file:///go/pkg/mod/cache/download${goproxy:+,$goproxy}"
    echo "DAGGER_GO_SDK_MANIFEST_DIGEST=$(cat "$KEYDIR/sdk/go-sdk.digest")"
    echo "DAGGER_TYPESCRIPT_SDK_MANIFEST_DIGEST=$(cat "$KEYDIR/sdk/ts-sdk.digest")"
  } > "$etc/engine.env"
  log "engine NO_PROXY=$no_proxy"
  log "engine mirrors $(echo $domains | tr ' ' ',') -> $REGISTRY_ADDR"
}

# the engine's tini (PID 1 of its namespace): recorded once the socket is up, else unshare's child
engine_child() { recorded_pid engine-init || pgrep -P "$1" | head -1; }
stop_engine() {
  stop_recorded engine engine_child "$ENGINE_STOP_WAIT"
  # unshare gone but its tini left behind (unshare killed from outside): stop that too
  if recorded_pid engine-init >/dev/null; then stop_recorded engine-init "" "$ENGINE_STOP_WAIT"; fi
  rm -f "$RUN/pids/engine-init"
}

engine_up() {
  if recorded_pid engine >/dev/null && [ -S "$SOCKET" ]; then
    log "engine already running (pid $(recorded_pid engine))"
    recorded_pid engine-init >/dev/null || record_engine_init
    return 0
  fi
  stop_engine
  engine_config
  engine_ca_dir
  # the engine's /run is runtime only: what a previous engine left there (its containers' network
  # namespace files, no longer mounted) only makes it log "failed to release network namespace"
  rm -rf "$RUN/engine-run"
  mkdir -p "$RUN/engine-run" "$RUN/root" "$KEYDIR/state"
  rm -f "$SOCKET"
  rotate_log engine
  local e=$KEYDIR/engine args="--config /etc/dagger/engine.toml --addr unix:///run/dagger/engine.sock"
  [ -z "${AI_APP_ENGINE_DEBUG:-}" ] || args="$args --debug"
  ENGINE_LOWER=$e/files:$e/apt:$BASE ENGINE_UPPER=$e/run-upper ENGINE_ROOT=$RUN/root \
    ENGINE_RUN_DIR=$RUN/engine-run ENGINE_STATE_DIR=$KEYDIR/state ENGINE_CONTENT_DIR=$CONTENT \
    ENGINE_ETC_DIR=$RUN/etc-dagger ENGINE_RESOLV=$RUN/resolv.conf ENGINE_ARGS=$args ENGINE_CA_DIR=$RUN/ca-certificates \
    setsid nsenter --net="/run/netns/$NETNS" \
    unshare --mount --pid --fork --kill-child=SIGTERM --propagation private "$ENGINE_DIR/engine-init" \
    >> "$RUN/logs/engine.log" 2>&1 < /dev/null 3>&- 9>&- &
  local i
  record_pid engine $! unshare
  printf '%s\n' "$KEY" > "$RUN/key"
  for ((i = 0; i < 300; i++)); do
    [ -S "$SOCKET" ] && break
    recorded_pid engine >/dev/null || die "engine exited: $(tail -15 "$RUN/logs/engine.log")"
    sleep 0.2
  done
  [ -S "$SOCKET" ] || die "engine socket $SOCKET did not appear in 60 s (log: $RUN/logs/engine.log)"
  record_engine_init
}
# tini is /usr/local/bin/tini -> /usr/bin/tini-static in the engine's root
record_engine_init() { record_pid engine-init "$(pgrep -P "$(recorded_pid engine)" | head -1)" tini-static; }

# A CA for the test servers the engine should reach over TLS (a registry with a certificate for
# $HOST_IP): made once per run directory, installed into the engine with this machine's own extra
# CAs. The engine trusts /usr/local/share/ca-certificates at start (cmd/engine/main.go runs
# update-ca-certificates and c_rehash there, so the copy is writable) and installs the same
# certificates into every container it runs (engine/engineutil/cacerts).
TEST_CA=$RUN/test-ca
engine_ca_dir() {
  command -v openssl >/dev/null || die "openssl is needed for the harness's test CA: apt-get install -y openssl"
  if [ ! -s "$TEST_CA/ca.crt" ] || [ ! -s "$TEST_CA/ca.key" ]; then
    rm -rf "$TEST_CA"
    mkdir -p -m 700 "$TEST_CA"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
      -subj "/CN=ai-app-pipeline engine harness test CA" -addext basicConstraints=critical,CA:TRUE \
      -addext keyUsage=critical,keyCertSign,cRLSign \
      -keyout "$TEST_CA/ca.key" -out "$TEST_CA/ca.crt" 2> "$RUN/logs/test-ca.log" ||
      die "could not make the test CA: $(tail -3 "$RUN/logs/test-ca.log")"
  fi
  rm -rf "$RUN/ca-certificates"
  mkdir -p "$RUN/ca-certificates"
  # this machine's extra CAs, as they are now (it may intercept TLS with its own CA)
  [ ! -d /usr/local/share/ca-certificates ] || cp -a /usr/local/share/ca-certificates/. "$RUN/ca-certificates/"
  cp "$TEST_CA/ca.crt" "$RUN/ca-certificates/ai-app-engine-test-ca.crt"
}

write_env() {
  mkdir -p "$KEYDIR/cli"
  ln -sf ../bin/dagger "$KEYDIR/cli/dagger"
  cat > "$RUN/env" <<ENV
# written by .ci/engine/up ($(date -u +%FT%TZ)); source it, or source .ci/engine/env
export _EXPERIMENTAL_DAGGER_RUNNER_HOST=unix://$SOCKET
export DO_NOT_TRACK=1 DAGGER_NO_NAG=1 DAGGER_NO_UPDATE_CHECK=1
export AI_APP_ENGINE_HOST_IP=$HOST_IP AI_APP_ENGINE_REGISTRY=$REGISTRY_ADDR AI_APP_ENGINE_KEYDIR=$KEYDIR
export AI_APP_ENGINE_TEST_CA=$TEST_CA
case ":\$PATH:" in *":$KEYDIR/cli:"*) ;; *) export PATH="$KEYDIR/cli:\$PATH" ;; esac
ENV
}
