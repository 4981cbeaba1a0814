#!/usr/bin/env python3
"""OCI image layouts without a daemon: the engine harness's image tool.

  oci.py layer  LAYOUT SRC [--whiteouts]        tar SRC into one uncompressed layer blob; prints its digest
  oci.py image  LAYOUT --ref NAME --layer D[=why]... [--env K=V]... [--entrypoint JSON] [--cmd JSON]
                [--workdir W] [--user U] [--expose P]... [--label K=V]... [--annotation K=V]...
                                               write config + manifest, add/replace NAME in index.json;
                                               prints the manifest digest
  oci.py push   LAYOUT NAME HOST:PORT/REPO:TAG  push one image to a plain-HTTP registry (blobs it
                                               already has are skipped or mounted across repositories)
  oci.py table  LAYOUT                         the stand-in table (from the images' annotations)

Layers are uncompressed tars (diff_id = digest), written by GNU tar with sorted names and numeric
owners, hashed while streaming. With --whiteouts, SRC is an overlayfs upper directory: its
whiteouts (0/0 character devices) and opaque directories become OCI .wh. entries first.
All images of one layout share its blobs/ directory, so a layer common to several images (the
Debian base) is stored and pushed once.
"""
import argparse
import hashlib
import http.client
import json
import os
import stat
import subprocess
import sys
import tempfile
import urllib.parse

MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_LAYER = "application/vnd.oci.image.layer.v1.tar"
REF_NAME = "org.opencontainers.image.ref.name"
DESCRIPTION = "org.opencontainers.image.description"
STANDIN_FOR = "io.ai-app-pipeline.stand-in.for"
STANDIN_PATH = "io.ai-app-pipeline.stand-in.mirror-path"


def blobs_dir(layout):
    d = os.path.join(layout, "blobs", "sha256")
    os.makedirs(d, exist_ok=True)
    if not os.path.exists(os.path.join(layout, "oci-layout")):
        with open(os.path.join(layout, "oci-layout"), "w") as f:
            json.dump({"imageLayoutVersion": "1.0.0"}, f)
    return d


def blob_path(layout, digest):
    return os.path.join(layout, "blobs", "sha256", digest.split(":", 1)[1])


def put_bytes(layout, data):
    d = hashlib.sha256(data).hexdigest()
    path = os.path.join(blobs_dir(layout), d)
    if not os.path.exists(path):
        with open(path + ".tmp", "wb") as f:
            f.write(data)
        os.replace(path + ".tmp", path)
    return "sha256:" + d, len(data)


def put_stream(layout, stream):
    h, size = hashlib.sha256(), 0
    fd, tmp = tempfile.mkstemp(dir=blobs_dir(layout), prefix=".in-")
    with os.fdopen(fd, "wb") as out:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            h.update(chunk)
            out.write(chunk)
            size += len(chunk)
    os.replace(tmp, os.path.join(blobs_dir(layout), h.hexdigest()))
    return "sha256:" + h.hexdigest(), size


def convert_whiteouts(root):
    """overlayfs upper dir -> OCI whiteouts, in place."""
    for dirpath, dirnames, filenames in os.walk(root):
        try:
            if os.getxattr(dirpath, "trusted.overlay.opaque") == b"y":
                open(os.path.join(dirpath, ".wh..wh..opq"), "w").close()
                os.removexattr(dirpath, "trusted.overlay.opaque")
        except OSError:
            pass
        for name in list(dirnames) + filenames:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
                os.unlink(p)
                open(os.path.join(dirpath, ".wh." + name), "w").close()
                if name in dirnames:
                    dirnames.remove(name)


def cmd_layer(a):
    if a.whiteouts:
        convert_whiteouts(a.src)
    tar = subprocess.Popen(
        ["tar", "--sort=name", "--numeric-owner", "--format=gnu", "-C", a.src, "-cf", "-", "."],
        stdout=subprocess.PIPE,
    )
    digest, size = put_stream(a.layout, tar.stdout)
    if tar.wait() != 0:
        sys.exit(f"tar of {a.src} failed")
    print(digest)
    print(f"layer {digest[:19]} {size / 1e6:.1f} MB  <- {a.src}", file=sys.stderr)


def kv(items):
    out = {}
    for it in items:
        k, _, v = it.partition("=")
        out[k] = v
    return out


def load_index(layout):
    p = os.path.join(layout, "index.json")
    if os.path.exists(p):
        with open(p) as f:
            return json.load(f)
    return {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": []}


def save_index(layout, index):
    p = os.path.join(layout, "index.json")
    with open(p + ".tmp", "w") as f:
        json.dump(index, f, indent=1)
    os.replace(p + ".tmp", p)


def cmd_image(a):
    layers, diff_ids, history = [], [], []
    for spec in a.layer:
        digest, _, why = spec.partition("=")
        size = os.path.getsize(blob_path(a.layout, digest))
        layers.append({"mediaType": MT_LAYER, "digest": digest, "size": size})
        diff_ids.append(digest)
        history.append({"created": "1970-01-01T00:00:00Z", "created_by": why or "ai-app-pipeline engine harness"})
    cfg = {"Env": a.env or ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]}
    if a.entrypoint:
        cfg["Entrypoint"] = json.loads(a.entrypoint)
    if a.cmd:
        cfg["Cmd"] = json.loads(a.cmd)
    if a.workdir:
        cfg["WorkingDir"] = a.workdir
    if a.user:
        cfg["User"] = a.user
    if a.expose:
        cfg["ExposedPorts"] = {p if "/" in p else p + "/tcp": {} for p in a.expose}
    labels = kv(a.label)
    if labels:
        cfg["Labels"] = labels
    config = {
        "created": "1970-01-01T00:00:00Z",
        "architecture": "amd64",
        "os": "linux",
        "config": cfg,
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": history,
    }
    cd, cs = put_bytes(a.layout, json.dumps(config, sort_keys=True).encode())
    annotations = {**labels, **kv(a.annotation)}
    manifest = {"schemaVersion": 2, "mediaType": MT_MANIFEST,
                "config": {"mediaType": MT_CONFIG, "digest": cd, "size": cs}, "layers": layers}
    if annotations:
        manifest["annotations"] = annotations
    md, ms = put_bytes(a.layout, json.dumps(manifest, sort_keys=True).encode())
    index = load_index(a.layout)
    index["manifests"] = [m for m in index["manifests"] if m.get("annotations", {}).get(REF_NAME) != a.ref]
    index["manifests"].append({"mediaType": MT_MANIFEST, "digest": md, "size": ms,
                               "platform": {"architecture": "amd64", "os": "linux"},
                               "annotations": {**annotations, REF_NAME: a.ref}})
    save_index(a.layout, index)
    print(md)


def find_manifest(layout, ref):
    for m in load_index(layout)["manifests"]:
        if m.get("annotations", {}).get(REF_NAME) == ref:
            return m
    sys.exit(f"{ref}: not in {layout}/index.json")


class Registry:
    """Just enough of the distribution API for a local plain-HTTP registry."""

    def __init__(self, hostport):
        self.hostport = hostport

    def req(self, method, path, body=None, headers=None):
        c = http.client.HTTPConnection(self.hostport, timeout=600)
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, r.headers, data

    def has_blob(self, repo, digest):
        return self.req("HEAD", f"/v2/{repo}/blobs/{digest}")[0] == 200

    def push_blob(self, layout, repo, digest, mount_from):
        if self.has_blob(repo, digest):
            return "present"
        for other in mount_from:
            st, _, _ = self.req("POST", f"/v2/{repo}/blobs/uploads/?mount={digest}&from={other}")
            if st == 201:
                return "mounted"
        st, h, data = self.req("POST", f"/v2/{repo}/blobs/uploads/")
        if st != 202:
            sys.exit(f"upload start for {repo}: HTTP {st} {data[:200]!r}")
        loc = urllib.parse.urlsplit(h["Location"])
        q = (loc.query + "&" if loc.query else "") + "digest=" + urllib.parse.quote(digest)
        path = blob_path(layout, digest)
        with open(path, "rb") as f:
            st, _, data = self.req("PUT", f"{loc.path}?{q}", body=f, headers={
                "Content-Length": str(os.path.getsize(path)), "Content-Type": "application/octet-stream"})
        if st != 201:
            sys.exit(f"upload of {digest} to {repo}: HTTP {st} {data[:200]!r}")
        return "uploaded"


def cmd_push(a):
    m = find_manifest(a.layout, a.ref)
    hostport, _, rest = a.dest.partition("/")
    repo, _, tag = rest.rpartition(":")
    reg = Registry(hostport)
    with open(blob_path(a.layout, m["digest"]), "rb") as f:
        manifest_bytes = f.read()
    manifest = json.loads(manifest_bytes)
    st, h, _ = reg.req("HEAD", f"/v2/{repo}/manifests/{tag}", headers={"Accept": MT_MANIFEST})
    if st == 200 and h.get("Docker-Content-Digest") == m["digest"]:
        print(f"  {repo}:{tag} already at {m['digest'][:19]}", file=sys.stderr)
        return
    mount_from = [r for r in a.mount_from if r != repo]
    moved = {}
    for d in [manifest["config"]["digest"]] + [layer["digest"] for layer in manifest["layers"]]:
        how = reg.push_blob(a.layout, repo, d, mount_from)
        moved[how] = moved.get(how, 0) + 1
    st, h, data = reg.req("PUT", f"/v2/{repo}/manifests/{tag}", body=manifest_bytes,
                          headers={"Content-Type": MT_MANIFEST})
    if st != 201:
        sys.exit(f"manifest {repo}:{tag}: HTTP {st} {data[:300]!r}")
    if h.get("Docker-Content-Digest") != m["digest"]:
        sys.exit(f"manifest {repo}:{tag}: registry says {h.get('Docker-Content-Digest')}, layout says {m['digest']}")
    print(f"  pushed {repo}:{tag} {m['digest'][:19]} (blobs: {moved})", file=sys.stderr)


def cmd_table(a):
    rows = []
    for m in load_index(a.layout)["manifests"]:
        ann = m.get("annotations", {})
        if STANDIN_FOR in ann:
            rows.append((ann[STANDIN_FOR], ann.get(DESCRIPTION, "")))
    for r in a.extra:
        name, _, why = r.partition("=")
        rows.append((name, why))
    w = max([len(r[0]) for r in rows] + [5])
    print(f"{'image the module names':<{w}}  what the engine gets instead")
    for name, desc in sorted(rows):
        print(f"{name:<{w}}  {desc}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("layer")
    p.add_argument("layout")
    p.add_argument("src")
    p.add_argument("--whiteouts", action="store_true")
    p.set_defaults(fn=cmd_layer)
    p = sub.add_parser("image")
    p.add_argument("layout")
    p.add_argument("--ref", required=True)
    p.add_argument("--layer", action="append", required=True)
    for opt in ("env", "expose", "label", "annotation"):
        p.add_argument("--" + opt, action="append", default=[])
    for opt in ("entrypoint", "cmd", "workdir", "user"):
        p.add_argument("--" + opt)
    p.set_defaults(fn=cmd_image)
    p = sub.add_parser("push")
    p.add_argument("layout")
    p.add_argument("ref")
    p.add_argument("dest")
    p.add_argument("--mount-from", action="append", default=[])
    p.set_defaults(fn=cmd_push)
    p = sub.add_parser("table")
    p.add_argument("layout")
    p.add_argument("--extra", action="append", default=[], help="NAME=why for images with no stand-in")
    p.set_defaults(fn=cmd_table)
    a = ap.parse_args()
    a.fn(a)


if __name__ == "__main__":
    main()
