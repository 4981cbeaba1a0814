#!/usr/bin/env python3
"""What the engine harness reads from the project, the SDK source and this machine's clients.

  project.py images REPO          images.ts: "key<TAB>ref<TAB>domain<TAB>path<TAB>tag" per image
  project.py aliases REPO         every service alias the module binds (withServiceBinding), one a line
  project.py sdk SDKSRC           the TypeScript runtime's base images and npm version, as shell lines
  project.py allow-hosts [GO]     host names this machine's package clients are configured for
                                  (npm, Go module proxy + checksum DB, pip's index, apt sources)
"""
import glob
import json
import os
import re
import subprocess
import sys
import urllib.parse


def normalize(ref):
    """Docker reference -> (domain, repository path, tag) the way registries and mirrors see it."""
    name, tag = ref, "latest"
    if "@" in name:
        name = name.split("@", 1)[0]
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        name, tag = name[:colon], name[colon + 1:]
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return first, rest, tag
    return "docker.io", name if "/" in name else "library/" + name, tag


def cmd_images(repo):
    text = open(os.path.join(repo, "dagger/src/images.ts")).read()
    body = re.search(r"export const IMAGES\s*=\s*\{(.*?)\}\s*as const", text, re.S)
    if not body:
        sys.exit("images.ts: no `export const IMAGES = { ... } as const`")
    found = re.findall(r'^\s*(\w+)\s*:\s*"([^"]+)"', body.group(1), re.M)
    if not found:
        sys.exit("images.ts: no images found in IMAGES")
    for key, ref in found:
        domain, path, tag = normalize(ref)
        print("\t".join([key, ref, domain, path, tag]))


def ts_sources(repo):
    for dirpath, _, files in os.walk(os.path.join(repo, "dagger/src")):
        for f in files:
            if f.endswith(".ts"):
                yield os.path.join(dirpath, f)


def cmd_aliases(repo):
    texts = {p: open(p).read() for p in ts_sources(repo)}
    consts = {}
    for t in texts.values():
        for name, value in re.findall(r'\bconst\s+([A-Za-z_]\w*)\s*=\s*"([^"]*)"', t):
            consts.setdefault(name, value)
    aliases, dynamic = set(), []
    for path, t in texts.items():
        for arg in re.findall(r"\.withServiceBinding\(\s*([^,]+?)\s*,", t):
            lit = re.fullmatch(r'"([^"]*)"|\'([^\']*)\'', arg)
            if lit:
                aliases.add(lit.group(1) or lit.group(2))
            elif arg in consts:
                aliases.add(consts[arg])
            else:
                dynamic.append(f"{os.path.relpath(path, repo)}: {arg}")
    if dynamic:
        # A binding whose alias is computed: cover it with every alias-like constant and every
        # `alias: X` property the module sets (this is how k3s and the registry host arrive).
        for t in texts.values():
            for arg in re.findall(r'\balias\s*:\s*([A-Za-z_]\w*|"[^"]*")', t):
                v = arg.strip('"') if arg.startswith('"') else consts.get(arg)
                if v:
                    aliases.add(v)
        for name, value in consts.items():
            if re.search(r"(_ALIAS|_HOST)$", name) and re.fullmatch(r"[a-z0-9][a-z0-9.-]*", value):
                aliases.add(value.split(":")[0])
        print("aliases: computed bindings covered by alias constants: " + "; ".join(dynamic), file=sys.stderr)
    for a in sorted(aliases):
        print(a.split(":")[0])


def cmd_sdk(sdksrc):
    consts = open(os.path.join(sdksrc, "sdk/typescript/runtime/tsdistconsts/consts.go")).read()
    config = open(os.path.join(sdksrc, "sdk/typescript/runtime/config.go")).read()
    gosdk = open(os.path.join(sdksrc, "core/sdk/go_sdk.go")).read()
    gomod = open(os.path.join(sdksrc, "go.mod")).read()

    def const(src, name):
        m = re.search(r"\b" + name + r'\s*=\s*"([^"]+)"', src)
        if not m:
            sys.exit(f"{name} not found in the SDK source")
        return m.group(1)

    lib = re.search(r'goSDKLibVersion\s*=\s*"([0-9a-f]{40})"\s*//\s*(v[0-9][^\s]*)', gosdk)
    if not lib:
        sys.exit("goSDKLibVersion not found in core/sdk/go_sdk.go")
    print(f"TS_NODE_VERSION={const(consts, 'DefaultNodeVersion')}")
    print(f"TS_BUN_VERSION={const(consts, 'DefaultBunVersion')}")
    print(f"TS_NPM_VERSION={const(config, 'NpmDefaultVersion')}")
    print(f"GO_SDK_LIB_COMMIT={lib.group(1)}")
    print(f"GO_SDK_LIB_VERSION={lib.group(2)}")
    print(f"GO_MIN_VERSION={re.search(r'^go ([0-9.]+)', gomod, re.M).group(1)}")


def run(*argv):
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ""


def cmd_allow_hosts(go):
    urls = []
    # npm: the default registry and any scoped ones
    try:
        cfg = json.loads(run("npm", "config", "list", "--json") or "{}")
        urls += [v for k, v in cfg.items() if (k == "registry" or k.endswith(":registry")) and isinstance(v, str)]
    except json.JSONDecodeError:
        urls.append(run("npm", "config", "get", "registry").strip())
    # Go: module proxies and the checksum database
    if go:
        env = run(go, "env", "GOPROXY", "GOSUMDB").splitlines() + ["", ""]
        urls += [u for u in re.split(r"[,|]", env[0]) if u and u not in ("direct", "off") and not u.startswith("file:")]
        sumdb = env[1].strip()
        if sumdb and sumdb != "off":
            parts = sumdb.split()
            urls.append(parts[1] if len(parts) > 1 else "https://" + parts[0].split("+")[0])
    # pip: configured index URLs, else pip's own default index and its file host
    pip_cfg = run(sys.executable, "-m", "pip", "config", "list")
    idx = re.findall(r"^\S*(?:index-url|extra-index-url)='([^']*)'", pip_cfg, re.M)
    idx += [os.environ[k] for k in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL") if os.environ.get(k)]
    if idx:
        urls += [u for v in idx for u in v.split()]
    else:
        try:
            from pip._internal.models.index import PyPI
            urls += [PyPI.url, "https://" + PyPI.file_storage_domain]
        except ImportError:
            print("allow-hosts: pip not importable by " + sys.executable + "; no Python index allowed", file=sys.stderr)
    # apt: the archives this machine installs from
    for f in glob.glob("/etc/apt/sources.list.d/*.sources"):
        urls += re.findall(r"^URIs:\s*(.+)$", open(f).read(), re.M)
    for f in ["/etc/apt/sources.list"] + glob.glob("/etc/apt/sources.list.d/*.list"):
        if os.path.exists(f):
            for line in open(f):
                m = re.match(r"\s*deb(?:-src)?\s+(?:\[[^]]*\]\s+)?(\S+)", line)
                if m:
                    urls.append(m.group(1))
    hosts = set()
    for u in " ".join(urls).split():
        h = urllib.parse.urlsplit(u if "://" in u else "https://" + u).hostname
        if h:
            hosts.add(h)
    if not hosts:
        sys.exit("allow-hosts: no package client configuration found")
    print("\n".join(sorted(hosts)))


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    cmd, args = sys.argv[1], sys.argv[2:]
    {"images": cmd_images, "aliases": cmd_aliases, "sdk": cmd_sdk, "allow-hosts": cmd_allow_hosts}[cmd](*args)


if __name__ == "__main__":
    main()
