/** Self-signed TLS material for the HTTPS servers tests start on 127.0.0.1 (openssl from the machine). */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "./temp.js";

export interface TlsFiles {
  cert: string;
  key: string;
}

/** A certificate and key for `ip` (default 127.0.0.1) and localhost, in a temp dir removed when the tests exit. */
export function selfSignedCert(ip = "127.0.0.1"): TlsFiles & { dir: string } {
  const dir = tempDir("tls-");
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  const gen = spawnSync(
    "openssl",
    ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-keyout", key, "-out", cert, "-subj", `/CN=${ip}`].concat([
      "-addext",
      `subjectAltName=IP:${ip},DNS:localhost`,
    ]),
    { encoding: "utf8" },
  );
  if (gen.status !== 0) throw new Error(`openssl is needed for a test's HTTPS server (Debian package openssl): ${gen.stderr ?? gen.error}`);
  return { dir, cert, key };
}

/**
 * A server certificate for `ip`, signed by the CA in `caDir` (ca.crt, ca.key: the engine harness's
 * test CA, which the engine trusts), in a temp dir removed when the tests exit.
 */
export function certSignedBy(caDir: string, ip: string): TlsFiles & { dir: string; ca: string } {
  const dir = tempDir("tls-");
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  const csr = join(dir, "req.csr");
  const ext = join(dir, "ext.cnf");
  const ca = join(caDir, "ca.crt");
  writeFileSync(ext, `subjectAltName=IP:${ip}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n`);
  const steps: string[][] = [
    ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", csr, "-subj", `/CN=${ip}`],
    [
      "x509",
      "-req",
      "-in",
      csr,
      "-CA",
      ca,
      "-CAkey",
      join(caDir, "ca.key"),
      "-set_serial",
      `0x${randomBytes(8).toString("hex")}`,
      "-days",
      "1",
      "-extfile",
      ext,
      "-out",
      cert,
    ],
  ];
  for (const args of steps) {
    const r = spawnSync("openssl", args, { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`openssl ${args[0]} failed (a certificate for ${ip} from ${caDir}): ${r.stderr ?? r.error}`);
  }
  return { dir, cert, key, ca };
}
