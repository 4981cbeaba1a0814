#!/usr/bin/env python3
"""A small image tarball for trivy, in the layout Dagger's Container.asTarball() exports.

  make-test-image.py OUT.tar [--requirements app/requirements.txt]

The tar holds an OCI image layout (oci-layout; index.json with one entry, the image manifest, no
ref.name annotation; blobs/sha256/...) and a Docker-style manifest.json with empty RepoTags, as
Dagger writes it. Two layers, deterministic (mtime 0, owner 0), the first uncompressed and the
second gzipped, as asTarball wrote the app image on the engine (the base image's layers as pulled,
uncompressed from the harness's registry; the layers built on it gzipped):
  1. Debian bookworm: etc/os-release, etc/debian_version and a dpkg status file listing a few
     packages every bookworm image has, at bookworm versions (libc6, zlib1g, libssl3, ...);
  2. Python: usr/local/lib/python3.11/site-packages/NAME-VERSION.dist-info/METADATA (+ RECORD)
     for every `name==version` pin in the requirements file (the app image's pip packages).
No executables, no Python: it is something for trivy to read, not to run.
"""
import argparse
import gzip
import hashlib
import io
import json
import os
import re
import sys
import tarfile

MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
MT_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
MT_INDEX = "application/vnd.oci.image.index.v1+json"

SITE_PACKAGES = "usr/local/lib/python3.11/site-packages"

OS_RELEASE = """PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
SUPPORT_URL="https://www.debian.org/support"
BUG_REPORT_URL="https://bugs.debian.org/"
"""

# (package, source or None, version, source version or None): bookworm 12.15's versions.
DPKG_PACKAGES = [
    ("base-files", None, "12.4+deb12u15", None),
    ("libc6", "glibc", "2.36-9+deb12u14", None),
    ("libssl3", "openssl", "3.0.20-1~deb12u2", None),
    ("openssl", None, "3.0.20-1~deb12u2", None),
    ("zlib1g", "zlib", "1:1.2.13.dfsg-1", None),
    ("libzstd1", "libzstd", "1.5.4+dfsg2-5", None),
    ("tzdata", None, "2026b-0+deb12u1", None),
]


def dpkg_status():
    out = []
    for name, source, version, source_version in DPKG_PACKAGES:
        out.append(f"Package: {name}\nStatus: install ok installed\nPriority: optional\nSection: libs\n"
                   f"Installed-Size: 100\nMaintainer: Debian fixture <fixture@example.invalid>\nArchitecture: amd64\n")
        if source:
            out.append(f"Source: {source}" + (f" ({source_version})" if source_version else "") + "\n")
        out.append(f"Version: {version}\nDescription: {name} (fixture entry)\n\n")
    return "".join(out)


def pins(requirements):
    """name==version lines of a requirements file (comments and other specifiers skipped)."""
    found = []
    with open(requirements) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([A-Za-z0-9.+!_-]+)", line)
            if m:
                found.append((m.group(1), m.group(2)))
    if not found:
        sys.exit(f"make-test-image: no name==version pins in {requirements}")
    return found


def layer_tar(files):
    """files: {path: bytes}. An uncompressed tar (parent directories included), sorted, mtime 0."""
    dirs = set()
    for p in files:
        parts = p.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            dirs.add("/".join(parts[:i]))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(dirs | set(files)):
            info = tarfile.TarInfo(name)
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "root", "root"
            if name in files:
                info.size, info.mode = len(files[name]), 0o644
                tar.addfile(info, io.BytesIO(files[name]))
            else:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
    return buf.getvalue()


def sha256(b):
    return hashlib.sha256(b).hexdigest()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--requirements", default=os.path.join(here, "..", "..", "app", "requirements.txt"))
    a = ap.parse_args()

    debian = {
        "etc/os-release": OS_RELEASE.encode(),
        "etc/debian_version": b"12.15\n",
        "var/lib/dpkg/status": dpkg_status().encode(),
    }
    python = {}
    for name, version in pins(a.requirements):
        dist = re.sub(r"[-_.]+", "_", name).lower()
        meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: {name} (fixture METADATA)\n"
        base = f"{SITE_PACKAGES}/{dist}-{version}.dist-info"
        python[f"{base}/METADATA"] = meta.encode()
        python[f"{base}/RECORD"] = f"{dist}-{version}.dist-info/METADATA,,\n{dist}-{version}.dist-info/RECORD,,\n".encode()

    blobs = {}

    def put(b):
        d = sha256(b)
        blobs[d] = b
        return {"digest": "sha256:" + d, "size": len(b)}

    layers, diff_ids = [], []
    for files, gzipped in ((debian, False), (python, True)):
        raw = layer_tar(files)
        diff_ids.append("sha256:" + sha256(raw))
        if gzipped:
            layers.append({"mediaType": MT_LAYER_GZIP, **put(gzip.compress(raw, mtime=0))})
        else:
            layers.append({"mediaType": MT_LAYER_TAR, **put(raw)})
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], "WorkingDir": "/"},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created_by": "debian bookworm (fixture)"}, {"created_by": "pip install -r requirements.txt (fixture)"}],
    }
    cfg = put(json.dumps(config, separators=(",", ":")).encode())
    manifest = {"schemaVersion": 2, "mediaType": MT_MANIFEST,
                "config": {"mediaType": MT_CONFIG, **cfg}, "layers": layers}
    man = put(json.dumps(manifest, separators=(",", ":")).encode())
    index = {"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": [{"mediaType": MT_MANIFEST, **man}]}
    docker = [{"Config": "blobs/sha256/" + cfg["digest"][7:], "RepoTags": [],
               "Layers": ["blobs/sha256/" + layer["digest"][7:] for layer in layers]}]

    entries = [("oci-layout", json.dumps({"imageLayoutVersion": "1.0.0"}).encode()),
               ("index.json", json.dumps(index).encode()),
               ("manifest.json", json.dumps(docker).encode())]
    entries += [("blobs/sha256/" + d, b) for d, b in sorted(blobs.items())]
    with tarfile.open(a.out, "w", format=tarfile.PAX_FORMAT) as tar:
        for name in ("blobs", "blobs/sha256"):
            info = tarfile.TarInfo(name)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 0
            tar.addfile(info)
        for name, b in entries:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(b), 0o644, 0
            tar.addfile(info, io.BytesIO(b))
    print(man["digest"])


if __name__ == "__main__":
    main()
