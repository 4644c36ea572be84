/*
 * OpenID4VP 1.0 for the browser wallet.
 *
 * 1. The page is reached with the query a native wallet gets (client_id, request_uri[, request_uri_method]).
 * 2. The request object is fetched and checked before anything is shown: a JWS (typ oauth-authz-req+jwt, ES256)
 *    whose x5c chain ends at a CA the page trusts, whose leaf certificate names the host of the
 *    `x509_san_dns:<host>` client_id as a SAN dNSName, signed by that leaf; inside, the same client_id, response_type
 *    vp_token, response_mode direct_post or direct_post.jwt, a response_uri on that same host, a nonce and a DCQL
 *    query. Any difference is a refusal: the wallet shows it and sends nothing.
 * 3. After consent, one SD-JWT presentation per DCQL credential query, each with only the requested disclosures and
 *    a KB-JWT bound to the nonce and the client_id, is posted to response_uri: as form fields (direct_post) or as a
 *    JWE encrypted with ECDH-ES to the verifier's key from client_metadata.jwks (direct_post.jwt).
 */
import { WalletError, fetchJson, sameOrigin } from "./encoding.js";
import { jweEncryptEcdhEs, jwsDecode, signatureVerify } from "./jose.js";
import { chainVerify, certificateSubject, publicKeyImport } from "./x509.js";

const CLIENT_ID_PREFIX = "x509_san_dns:";
const RESPONSE_MODES = ["direct_post", "direct_post.jwt"];

/** {clientId, requestUri, requestUriMethod} from the page's query, or null when it carries no request. */
export function requestFromQuery(params) {
  if (!params.has("request_uri") && !params.has("client_id")) return null;
  const clientId = params.get("client_id") || "";
  const requestUri = params.get("request_uri") || "";
  if (!clientId || !requestUri) throw new WalletError("request_invalid", "client_id and request_uri are required");
  return { clientId: clientId, requestUri: requestUri, requestUriMethod: (params.get("request_uri_method") || "get").toLowerCase() };
}

/** The request object (a compact JWS) from request_uri, by GET or (request_uri_method=post) by POST. */
export async function requestObjectFetch(reference) {
  const options = { credentials: "same-origin", headers: { Accept: "application/oauth-authz-req+jwt" } };
  if (reference.requestUriMethod === "post") {
    options.method = "POST";
    options.body = new URLSearchParams();
  }
  const response = await fetch(sameOrigin(reference.requestUri), options);
  if (!response.ok) throw new WalletError("request_unavailable", "request_uri answered " + response.status);
  return (await response.text()).trim();
}

function hostOf(url) {
  try {
    return new URL(url).hostname;
  } catch (error) {
    throw new WalletError("request_invalid", "not a URL: " + url);
  }
}

/**
 * Check the request object (see the module comment) and return what the consent screen and the answer need:
 * {payload, host, verifier: {organisation, commonName, name}}.
 */
export async function requestObjectVerify(token, { clientId, anchors, now }) {
  if (!clientId.startsWith(CLIENT_ID_PREFIX)) throw new WalletError("client_unsupported", clientId);
  const host = clientId.slice(CLIENT_ID_PREFIX.length);
  let jws;
  try {
    jws = jwsDecode(token);
  } catch (error) {
    throw new WalletError("request_tampered", "not a JWS");
  }
  const { header, payload } = jws;
  if (header.alg !== "ES256") throw new WalletError("request_tampered", "alg " + header.alg);
  if (header.typ !== undefined && header.typ !== "oauth-authz-req+jwt") throw new WalletError("request_tampered", "typ");
  const leaf = await chainVerify(header.x5c, anchors, now);
  if (leaf.dnsNames.indexOf(host) < 0) throw new WalletError("client_mismatch", "SAN dNSName " + leaf.dnsNames.join(","));
  if (!(await signatureVerify("ES256", await publicKeyImport(leaf), jws.signingInput, jws.signature))) {
    throw new WalletError("request_tampered", "signature");
  }
  if (payload.client_id !== clientId) throw new WalletError("client_mismatch", "client_id inside the request object");
  if (typeof payload.exp === "number" && payload.exp * 1000 < now.getTime()) throw new WalletError("request_expired");
  if (payload.response_type !== "vp_token") throw new WalletError("request_invalid", "response_type");
  if (RESPONSE_MODES.indexOf(payload.response_mode) < 0) throw new WalletError("request_invalid", "response_mode");
  if (typeof payload.response_uri !== "string" || hostOf(payload.response_uri) !== host) {
    throw new WalletError("client_mismatch", "response_uri host");
  }
  if (typeof payload.nonce !== "string" || !payload.nonce) throw new WalletError("request_invalid", "nonce");
  if (!payload.dcql_query) throw new WalletError("request_invalid", "dcql_query");
  if (payload.response_mode === "direct_post.jwt") encryptionChoice(payload); // refuse now, not after consent
  const subject = certificateSubject(leaf);
  const clientName = (payload.client_metadata && payload.client_metadata.client_name) || "";
  return { payload: payload, host: host, verifier: { organisation: subject.organisation, commonName: subject.commonName, name: clientName } };
}

/** The verifier's encryption key (client_metadata.jwks) and content encryption for direct_post.jwt. */
function encryptionChoice(payload) {
  const metadata = payload.client_metadata || {};
  const keys = (metadata.jwks && metadata.jwks.keys) || [];
  const key = keys.find(function (jwk) {
    return jwk.kty === "EC" && jwk.crv === "P-256" && (!jwk.use || jwk.use === "enc") && (!jwk.alg || jwk.alg === "ECDH-ES");
  });
  if (!key) throw new WalletError("request_invalid", "no P-256 ECDH-ES key in client_metadata.jwks");
  const offered = metadata.encrypted_response_enc_values_supported || ["A128GCM"];
  const enc = ["A128GCM", "A256GCM"].find(function (value) { return offered.indexOf(value) >= 0; });
  if (!enc) throw new WalletError("request_invalid", "no supported content encryption");
  return { key: key, enc: enc };
}

async function post(responseUri, form) {
  const answer = await fetchJson(responseUri, { method: "POST", body: form });
  if (!answer.ok) {
    throw new WalletError("response_refused", (answer.body && (answer.body.error_description || answer.body.error)) || String(answer.status));
  }
  return (answer.body && answer.body.redirect_uri) || null;
}

/**
 * Send the vp_token ({credential query id: [presentation]}) to the verifier. Returns the verifier's redirect_uri
 * (same-device flow) or null.
 */
export async function responseSend(payload, vpToken) {
  const fields = { vp_token: vpToken };
  if (payload.state) fields.state = payload.state;
  const form = new URLSearchParams();
  if (payload.response_mode === "direct_post.jwt") {
    const choice = encryptionChoice(payload);
    form.set("response", await jweEncryptEcdhEs(JSON.stringify(fields), choice.key, choice.enc));
  } else {
    form.set("vp_token", JSON.stringify(vpToken));
    if (payload.state) form.set("state", payload.state);
  }
  return post(payload.response_uri, form);
}

/**
 * Tell the verifier the customer refused (error access_denied, unencrypted as OpenID4VP allows for errors). A
 * verifier may acknowledge it with 200 (and a redirect_uri) or close the request with an error naming the refusal
 * (this portal answers 400 with reason wallet_declined): both mean it was received.
 */
export async function refusalSend(payload) {
  const form = new URLSearchParams({ error: "access_denied", error_description: "The holder refused." });
  if (payload.state) form.set("state", payload.state);
  const answer = await fetchJson(payload.response_uri, { method: "POST", body: form });
  if (answer.ok) return (answer.body && answer.body.redirect_uri) || null;
  if (answer.body && answer.body.reason === "wallet_declined") return null;
  throw new WalletError("response_refused", (answer.body && answer.body.error_description) || String(answer.status));
}
