/**
 * A small image tarball in the layout `Container.asTarball` exports: an OCI image layout
 * (`oci-layout`, `index.json`, `blobs/sha256/...`) and, optionally, a Docker-style
 * `manifest.json` beside it. One gzipped layer holding one file; `seed` makes it unique.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { tempDir } from "./temp.js";

export interface ImageTarball {
  path: string;
  /** The digest of the image manifest inside (what a registry reports for every tag). */
  manifestDigest: string;
}

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

export function imageTarball(seed: string, opts: { dockerManifest?: boolean } = {}): ImageTarball {
  const dir = tempDir("oci-layout-");
  const blobs = join(dir, "blobs", "sha256");
  mkdirSync(blobs, { recursive: true });
  const put = (b: Buffer) => {
    const d = sha(b);
    writeFileSync(join(blobs, d), b);
    return { digest: `sha256:${d}`, size: b.length, hex: d };
  };

  const fileDir = tempDir("oci-layer-");
  writeFileSync(join(fileDir, "seed.txt"), seed);
  const layerTar = execFileSync("tar", ["--create", "--owner=0", "--group=0", "--mtime=@0", "-C", fileDir, "seed.txt"]);
  const layer = put(gzipSync(layerTar));
  const config = put(
    Buffer.from(
      JSON.stringify({
        architecture: "amd64",
        os: "linux",
        config: { Labels: { seed } },
        rootfs: { type: "layers", diff_ids: [`sha256:${sha(layerTar)}`] },
      }),
    ),
  );
  const manifest = put(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: config.digest, size: config.size },
        layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: layer.digest, size: layer.size }],
      }),
    ),
  );
  writeFileSync(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  writeFileSync(
    join(dir, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      // As Dagger writes it for one platform: the manifest itself, no platform, no ref.name.
      manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", digest: manifest.digest, size: manifest.size }],
    }),
  );
  const entries = ["oci-layout", "index.json", "blobs"];
  if (opts.dockerManifest) {
    writeFileSync(
      join(dir, "manifest.json"),
      JSON.stringify([{ Config: `blobs/sha256/${config.hex}`, RepoTags: null, Layers: [`blobs/sha256/${layer.hex}`] }]),
    );
    entries.push("manifest.json");
  }
  const path = join(tempDir("oci-tar-"), "image.tar");
  execFileSync("tar", ["--create", "--file", path, "-C", dir, ...entries]);
  return { path, manifestDigest: manifest.digest };
}
