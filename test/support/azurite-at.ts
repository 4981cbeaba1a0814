/**
 * Azurite on 127.0.0.1 at a fixed blob port, for a real engine to reach as a host service
 * (`--store-service tcp://127.0.0.1:10000`): the module binds its store as `blob-store:10000`, and a
 * host service keeps the host's port number, so the port is not free to choose here.
 */
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";
import { ROOT } from "./session.js";
import { tempDir } from "./temp.js";

export interface HostAzurite {
  port: number;
  output(): string;
  stop(): Promise<void>;
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

export async function startAzuriteAt(port: number): Promise<HostAzurite> {
  if (!(await portFree(port))) throw new Error(`127.0.0.1:${port} is taken: the engine's store service needs Azurite on exactly that port`);
  const args = [
    join(ROOT, "node_modules/azurite/dist/src/blob/main.js"),
    "--blobHost",
    "127.0.0.1",
    "--blobPort",
    String(port),
    "--location",
    tempDir("e2e-azurite-"),
    "--skipApiVersionCheck",
    "--loose",
    "--disableTelemetry",
  ];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  const stopOnExit = (): void => void child.kill("SIGTERM");
  process.on("exit", stopOnExit);
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString("utf8")));
  child.stderr.on("data", (d: Buffer) => (out += d.toString("utf8")));
  const started = Date.now();
  while (!/successfully listens on/.test(out)) {
    if (child.exitCode !== null || Date.now() - started > 60_000) throw new Error(`azurite did not start on 127.0.0.1:${port}:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port,
    output: () => out,
    async stop() {
      process.off("exit", stopOnExit);
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await exited;
      }
    },
  };
}
