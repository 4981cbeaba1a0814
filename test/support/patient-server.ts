/**
 * Every HTTP(S) server a test starts is patient: it never closes a connection because the client
 * was idle or slow. Node's defaults (keepAliveTimeout 5 s, headersTimeout 60 s, requestTimeout
 * 300 s) are crossed on a loaded machine: a client that keeps its socket alive (the Dagger SDK,
 * the Azure SDK, kubectl, fetch) waits longer than 5 s between two requests, the server closes the
 * socket just as the client reuses it, and the request dies with ECONNRESET ("socket hang up").
 * A test server has nothing to protect, so no deadline at all; tests stop it with
 * closeAllConnections() (see closePatient). Azurite gets the same through a preload
 * (azurite-patient.mjs).
 */
import type { Server as HttpServer } from "node:http";
import type { Server as HttpsServer } from "node:https";

type AnyHttpServer = HttpServer | HttpsServer;

/** Node's keep-alive timeout before this helper: the gap the idle-gap test must outlast. */
export const NODE_DEFAULT_KEEP_ALIVE_MS = 5_000;

/**
 * Turns off every idle and slow-client deadline of `server` (0 = none, per Node's http docs).
 * The server and its connections are unref'd: a server a test forgot to stop (a failed `before`
 * hook skips uvu's `after`) must not keep the test process alive once its tests are done. While a
 * request is in flight, its client (a socket or a child process) keeps the process alive.
 */
export function patient<S extends AnyHttpServer>(server: S): S {
  server.keepAliveTimeout = 0;
  server.headersTimeout = 0;
  server.requestTimeout = 0;
  server.setTimeout(0);
  server.unref();
  server.on("connection", (socket) => socket.unref());
  return server;
}

/** Stops a patient server: open keep-alive connections would otherwise hold close() forever. */
export async function closePatient(server: AnyHttpServer | undefined): Promise<void> {
  if (!server) return;
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
