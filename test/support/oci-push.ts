/** An independent OCI push written here from the distribution spec: monolithic blob upload, manifest PUT. */
import { createHash, randomBytes } from "node:crypto";

export const MEDIA = {
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  ociLayer: "application/vnd.oci.image.layer.v1.tar",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  dockerLayer: "application/vnd.docker.image.rootfs.diff.tar",
} as const;

const sha256 = (b: Buffer | string) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

export interface Pusher {
  url: string;
  /** Authorization header value, if the registry needs one. */
  authorization?: string;
}

export async function pushBlob(p: Pusher, repo: string, data: Buffer): Promise<{ digest: string; size: number }> {
  const digest = sha256(data);
  const headers: Record<string, string> = p.authorization ? { authorization: p.authorization } : {};
  const start = await fetch(`${p.url}/v2/${repo}/blobs/uploads/`, { method: "POST", headers });
  if (start.status !== 202) throw new Error(`blob upload start: HTTP ${start.status} ${await start.text()}`);
  const location = new URL(start.headers.get("location")!, p.url);
  location.searchParams.set("digest", digest);
  const put = await fetch(location, {
    method: "PUT",
    headers: { ...headers, "content-type": "application/octet-stream" },
    body: new Uint8Array(data),
  });
  if (put.status !== 201) throw new Error(`blob upload: HTTP ${put.status} ${await put.text()}`);
  return { digest, size: data.length };
}

/** PUTs a manifest; returns the sha256 of its bytes and the digest the registry reported. */
export async function putManifest(
  p: Pusher,
  repo: string,
  ref: string,
  mediaType: string,
  body: Buffer,
): Promise<{ digest: string; reported: string | null }> {
  const headers: Record<string, string> = { "content-type": mediaType, ...(p.authorization ? { authorization: p.authorization } : {}) };
  const res = await fetch(`${p.url}/v2/${repo}/manifests/${ref}`, { method: "PUT", headers, body: new Uint8Array(body) });
  if (res.status !== 201) throw new Error(`manifest PUT ${repo}:${ref}: HTTP ${res.status} ${await res.text()}`);
  return { digest: sha256(body), reported: res.headers.get("docker-content-digest") };
}

/** A one-layer image (OCI or Docker media types); `seed` makes its content unique. */
export async function pushImage(
  p: Pusher,
  repo: string,
  tags: string[],
  opts: { seed?: string; docker?: boolean; platform?: { os: string; architecture: string } } = {},
): Promise<{ digest: string; reported: string | null; size: number; mediaType: string }> {
  const platform = opts.platform ?? { os: "linux", architecture: "amd64" };
  const layer = await pushBlob(p, repo, Buffer.from(`layer ${opts.seed ?? randomBytes(8).toString("hex")}`));
  const config = await pushBlob(
    p,
    repo,
    Buffer.from(JSON.stringify({ ...platform, rootfs: { type: "layers", diff_ids: [layer.digest] }, config: {} })),
  );
  const mediaType = opts.docker ? MEDIA.dockerManifest : MEDIA.ociManifest;
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType,
      config: { mediaType: opts.docker ? MEDIA.dockerConfig : MEDIA.ociConfig, digest: config.digest, size: config.size },
      layers: [{ mediaType: opts.docker ? MEDIA.dockerLayer : MEDIA.ociLayer, digest: layer.digest, size: layer.size }],
    }),
  );
  let result = { digest: "", reported: null as string | null };
  for (const tag of tags.length ? tags : [sha256(manifest)]) result = await putManifest(p, repo, tag, mediaType, manifest);
  return { ...result, size: manifest.length, mediaType };
}

/** A two-platform index (OCI image index, or Docker manifest list) under `tags`. */
export async function pushIndex(p: Pusher, repo: string, tags: string[], opts: { docker?: boolean } = {}) {
  const platforms = [
    { os: "linux", architecture: "amd64" },
    { os: "linux", architecture: "arm64" },
  ];
  const children = [];
  for (const platform of platforms) {
    const child = await pushImage(p, repo, [], {
      platform,
      seed: `${repo}-${platform.architecture}-${randomBytes(4).toString("hex")}`,
      ...(opts.docker ? { docker: true } : {}),
    });
    children.push({ mediaType: child.mediaType, digest: child.digest, size: child.size, platform });
  }
  const mediaType = opts.docker ? MEDIA.dockerList : MEDIA.ociIndex;
  const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType, manifests: children }));
  let result = { digest: "", reported: null as string | null };
  for (const tag of tags) result = await putManifest(p, repo, tag, mediaType, body);
  return { ...result, mediaType, children };
}

export function basicAuth(user: string, password: string): string {
  return "Basic " + Buffer.from(`${user}:${password}`).toString("base64");
}
