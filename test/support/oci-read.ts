/**
 * Reads an image back from a plain-HTTP registry through the OCI distribution API: the digest a tag
 * names, the image config (labels, env, user), and the files of its layers. Enough to check what a
 * push left in a registry, from outside the engine that pushed it.
 */
import { createHash } from "node:crypto";
import { httpsRequest } from "./https-request.js";
import { gunzipSync } from "node:zlib";
import { APP_DIR, MODEL_DIR } from "../../dagger/src/images.js";

const ACCEPT = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.docker.distribution.manifest.v2+json",
].join(", ");

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os: string; architecture: string };
}

export interface ImageManifest {
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
}

export interface ImageConfig {
  architecture?: string;
  os?: string;
  config?: { Labels?: Record<string, string>; Env?: string[]; User?: string; WorkingDir?: string; Entrypoint?: string[]; Cmd?: string[] };
}

export interface ReadImage {
  /** The digest the tag (or digest) named: the index's, when the registry holds an index. */
  digest: string;
  manifest: ImageManifest;
  config: ImageConfig;
}

interface Answer {
  status: number;
  ok: boolean;
  header(name: string): string | undefined;
  body: Buffer;
}

export class OciReader {
  constructor(
    /** host:port: plain HTTP, or HTTPS trusting only `tls.ca` (a PEM file) when given */
    readonly registry: string,
    private readonly tls?: { ca: string },
  ) {}

  private url(repo: string, kind: "manifests" | "blobs" | "tags", ref = ""): string {
    return `${this.tls ? "https" : "http"}://${this.registry}/v2/${repo}/${kind}/${ref}`;
  }

  /** One request: Node's fetch for plain HTTP, httpsRequest (which takes a CA) for HTTPS. */
  private async call(url: string, method = "GET", headers: Record<string, string> = {}): Promise<Answer> {
    if (this.tls) {
      const r = await httpsRequest(url, { ca: this.tls.ca, method, headers });
      const header = (name: string) => {
        const v = r.headers[name.toLowerCase()];
        return Array.isArray(v) ? v[0] : v;
      };
      return { status: r.status, ok: r.status >= 200 && r.status < 300, header, body: r.body };
    }
    const res = await fetch(url, { method, headers });
    return { status: res.status, ok: res.ok, header: (n) => res.headers.get(n) ?? undefined, body: Buffer.from(await res.arrayBuffer()) };
  }

  /** The digest a tag names (Docker-Content-Digest of its manifest), or undefined when there is no such tag. */
  async tagDigest(repo: string, tag: string): Promise<string | undefined> {
    const res = await this.call(this.url(repo, "manifests", tag), "HEAD", { accept: ACCEPT });
    if (res.status === 404) return undefined;
    if (!res.ok) throw new Error(`HEAD ${repo}:${tag}: HTTP ${res.status}`);
    return res.header("docker-content-digest");
  }

  async tags(repo: string): Promise<string[]> {
    const res = await this.call(this.url(repo, "tags", "list"));
    if (!res.ok) throw new Error(`GET ${repo} tags: HTTP ${res.status}`);
    return (JSON.parse(res.body.toString("utf8")) as { tags?: string[] }).tags ?? [];
  }

  async blob(repo: string, digest: string): Promise<Buffer> {
    const res = await this.call(this.url(repo, "blobs", digest));
    if (!res.ok) throw new Error(`GET blob ${repo}@${digest}: HTTP ${res.status}`);
    const data = res.body;
    const got = `sha256:${createHash("sha256").update(data).digest("hex")}`;
    if (got !== digest) throw new Error(`blob ${digest} of ${repo} hashes to ${got}`);
    return data;
  }

  /** The image a tag or digest names; an index is followed to its linux/amd64 (or only) manifest. */
  async image(repo: string, ref: string): Promise<ReadImage> {
    const res = await this.call(this.url(repo, "manifests", ref), "GET", { accept: ACCEPT });
    if (!res.ok) throw new Error(`GET manifest ${repo}:${ref}: HTTP ${res.status}`);
    const body = res.body;
    const digest = res.header("docker-content-digest") ?? `sha256:${createHash("sha256").update(body).digest("hex")}`;
    let doc = JSON.parse(body.toString("utf8")) as ImageManifest & { manifests?: Descriptor[] };
    if (doc.manifests) {
      const pick =
        doc.manifests.find((m) => m.platform?.os === "linux" && m.platform.architecture === "amd64") ??
        (doc.manifests.length === 1 ? doc.manifests[0] : undefined);
      if (!pick) throw new Error(`${repo}:${ref} is an index without a linux/amd64 manifest`);
      doc = JSON.parse((await this.blobOrManifest(repo, pick.digest)).toString("utf8")) as ImageManifest;
    }
    const config = JSON.parse((await this.blob(repo, doc.config.digest)).toString("utf8")) as ImageConfig;
    return { digest, manifest: doc, config };
  }

  private async blobOrManifest(repo: string, digest: string): Promise<Buffer> {
    const res = await this.call(this.url(repo, "manifests", digest), "GET", { accept: ACCEPT });
    if (!res.ok) throw new Error(`GET manifest ${repo}@${digest}: HTTP ${res.status}`);
    return res.body;
  }

  /** The entry paths (no leading slash) of one layer. */
  async layerPaths(repo: string, layer: Descriptor): Promise<string[]> {
    return tarEntries(layerTar(await this.blob(repo, layer.digest), layer.mediaType)).map((e) => e.path);
  }

  /** Every regular file of every layer, path (no leading slash) -> contents; later layers win. */
  async files(repo: string, manifest: ImageManifest, keep: (path: string) => boolean = () => true): Promise<Map<string, Buffer>> {
    const out = new Map<string, Buffer>();
    for (const layer of manifest.layers) {
      for (const e of tarEntries(layerTar(await this.blob(repo, layer.digest), layer.mediaType)))
        if (e.type === "file" && keep(e.path)) out.set(e.path, e.data);
    }
    return out;
  }
}

/** A layer blob as a tar: gunzipped when its media type or its first bytes say gzip. */
export function layerTar(raw: Buffer, mediaType = ""): Buffer {
  return mediaType.includes("gzip") || (raw[0] === 0x1f && raw[1] === 0x8b) ? gunzipSync(raw) : raw;
}

/**
 * What a layer holds, from its entry paths: "model" or "app" when every entry lies under MODEL_DIR
 * or APP_DIR (build/image.ts copies each as one whole new path with fixed mtimes), else "other".
 */
export function copiedLayerKind(paths: string[]): "model" | "app" | "other" {
  const bare = paths.map((p) => p.replace(/\/$/, ""));
  const under = (dir: string): boolean => bare.length > 0 && bare.every((p) => p === dir || p.startsWith(`${dir}/`));
  return under(MODEL_DIR.slice(1)) ? "model" : under(APP_DIR.slice(1)) ? "app" : "other";
}

interface TarEntry {
  path: string;
  type: "file" | "dir" | "link" | "other";
  data: Buffer;
}

/** A minimal tar reader (ustar, with PAX `path` and GNU long-name records), for layer listings. */
export function tarEntries(tar: Buffer): TarEntry[] {
  const entries: TarEntry[] = [];
  let off = 0;
  let longName: string | undefined;
  const str = (b: Buffer): string => b.toString("utf8").replace(/\0.*$/s, "");
  while (off + 512 <= tar.length) {
    const h = tar.subarray(off, off + 512);
    if (h.every((b) => b === 0)) break;
    const size = parseInt(str(h.subarray(124, 136)).trim() || "0", 8);
    const flag = String.fromCharCode(h[156] ?? 48);
    const prefix = str(h.subarray(345, 500));
    const name = str(h.subarray(0, 100));
    const data = tar.subarray(off + 512, off + 512 + size);
    off += 512 + Math.ceil(size / 512) * 512;
    if (flag === "x") {
      const m = /\d+ path=([^\n]*)\n/.exec(data.toString("utf8"));
      if (m) longName = m[1];
      continue;
    }
    if (flag === "L") {
      longName = str(data);
      continue;
    }
    if (flag === "g") continue;
    const path = (longName ?? (prefix ? `${prefix}/${name}` : name)).replace(/^\.?\//, "");
    longName = undefined;
    const type = flag === "0" || flag === "\0" ? "file" : flag === "5" ? "dir" : flag === "1" || flag === "2" ? "link" : "other";
    entries.push({ path, type, data: Buffer.from(data) });
  }
  return entries;
}
