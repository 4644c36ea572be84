// Runs the browser wallet's ES modules (static/identity/wallet/, copied next to this file by the test) under Node's
// WebCrypto: one JSON request on stdin, one JSON answer on stdout. A WalletError answers {error: code}.
import { jweEncryptEcdhEs } from "./jose.js";
import { chainVerify, certificateFromBase64 } from "./x509.js";
import { requestObjectVerify } from "./openid4vp.js";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const request = JSON.parse(Buffer.concat(chunks).toString("utf8"));

async function run() {
  const anchors = (request.anchors || []).map(certificateFromBase64);
  const now = request.now ? new Date(request.now) : new Date();
  if (request.operation === "jwe") return { token: await jweEncryptEcdhEs(request.plaintext, request.jwk, request.enc) };
  if (request.operation === "chain") {
    const leaf = await chainVerify(request.x5c, anchors, now);
    return { dnsNames: leaf.dnsNames, isCa: leaf.isCa };
  }
  if (request.operation === "request") {
    const checked = await requestObjectVerify(request.token, { clientId: request.clientId, anchors: anchors, now: now });
    return { host: checked.host, verifier: checked.verifier, nonce: checked.payload.nonce };
  }
  throw new Error("unknown operation " + request.operation);
}

try {
  process.stdout.write(JSON.stringify(await run()));
} catch (failure) {
  if (!failure.code) throw failure;
  process.stdout.write(JSON.stringify({ error: failure.code, detail: failure.message }));
}
