/** Self-signed TLS material for the HTTPS servers tests start on 127.0.0.1 (openssl from the machine). */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { tempDir } from "./temp.js";

export interface TlsFiles {
  cert: string;
  key: string;
}

/** A certificate and key for 127.0.0.1 and localhost, in a temp dir removed when the tests exit. */
export function selfSignedCert(): TlsFiles & { dir: string } {
  const dir = tempDir("tls-");
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  const gen = spawnSync(
    "openssl",
    ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-keyout", key, "-out", cert, "-subj", "/CN=127.0.0.1"].concat([
      "-addext",
      "subjectAltName=IP:127.0.0.1,DNS:localhost",
    ]),
    { encoding: "utf8" },
  );
  if (gen.status !== 0) throw new Error(`openssl is needed for a test's HTTPS server (Debian package openssl): ${gen.stderr ?? gen.error}`);
  return { dir, cert, key };
}
