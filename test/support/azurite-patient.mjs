// Preloaded (node --import) into the Azurite the tests start, to make its server as patient as
// every other stand-in server (patient-server.ts). Azurite 3.37 cannot be told itself: its option
// parser takes --blobKeepAliveTimeout but the server reads flags.keepAliveTimeout
// (dist/src/blob/BlobEnvironment.js), so it always closes idle connections after Node's 5 s.
// The deadlines are turned off at listen(), after Azurite has configured its server.
import http from "node:http";
import https from "node:https";

for (const Server of [http.Server, https.Server]) {
  const listen = Server.prototype.listen;
  Server.prototype.listen = function patientListen(...args) {
    this.keepAliveTimeout = 0;
    this.headersTimeout = 0;
    this.requestTimeout = 0;
    this.setTimeout(0);
    return listen.apply(this, args);
  };
}
