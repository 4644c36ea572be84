/*
 * OpenID4VCI 1.0 for the browser wallet: read a credential offer (by value or by reference), then get an access token
 * by one of two grants:
 * - the pre-authorized code flow: token request with the transaction code;
 * - the authorization code flow (RFC 6749 with PKCE S256, RFC 7636): the wallet sends the customer to the
 *   authorization endpoint with a code_challenge and a state, the customer consents on the issuer's page, the
 *   redirect brings code, state and iss back to the wallet page, and the wallet spends code + code_verifier at the
 *   token endpoint. The flow state (verifier, state) waits in sessionStorage (this tab only, kept over the redirect
 *   and a reload, never in the vault or on the server).
 * Then, per offered configuration, a fresh c_nonce from the nonce endpoint, a key proof (openid4vci-proof+jwt, ES256,
 * signed with the holder's P-256 key) and a credential request. Only this portal's issuer can be reached from the
 * page (its content security policy).
 */
import { WalletError, b64urlEncode, fetchJson, sameOrigin, sha256 } from "./encoding.js";
import { signEs256 } from "./jose.js";

export const PRE_AUTHORIZED_GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code";
export const AUTHORIZATION_CODE_GRANT = "authorization_code";
const FORMAT = "dc+sd-jwt";
const FLOW_KEY = "finlab-wallet:authorization-flow";
const FLOW_MAX_AGE_MS = 30 * 60 * 1000;

/** The offer from the page's query (?credential_offer=<json> or ?credential_offer_uri=<url>), or null. */
export async function offerFromQuery(params) {
  let offer;
  if (params.has("credential_offer")) {
    try {
      offer = JSON.parse(params.get("credential_offer"));
    } catch (error) {
      throw new WalletError("offer_invalid", "credential_offer is not JSON");
    }
  } else if (params.has("credential_offer_uri")) {
    const answer = await fetchJson(params.get("credential_offer_uri"), { headers: { Accept: "application/json" } });
    if (!answer.ok) throw new WalletError("offer_invalid", "credential_offer_uri answered " + answer.status);
    offer = answer.body;
  } else {
    return null;
  }
  if (!offer || typeof offer.credential_issuer !== "string" || !Array.isArray(offer.credential_configuration_ids)) {
    throw new WalletError("offer_invalid", "credential_issuer or credential_configuration_ids missing");
  }
  sameOrigin(offer.credential_issuer);
  offerGrant(offer);
  return offer;
}

/**
 * The grant the wallet uses for an offer: PRE_AUTHORIZED_GRANT or AUTHORIZATION_CODE_GRANT.
 * An offer with both gets the pre-authorized code: the customer already asked for this offer while signed in to the
 * issuer, so that consent is given; its PIN, shown apart from the link, binds it to the person who holds both; and
 * the credential comes in one token request on this page, without a round trip through the issuer's pages.
 */
export function offerGrant(offer) {
  const grants = offer.grants || {};
  if (grants[PRE_AUTHORIZED_GRANT] && typeof grants[PRE_AUTHORIZED_GRANT]["pre-authorized_code"] === "string") {
    return PRE_AUTHORIZED_GRANT;
  }
  if (grants[AUTHORIZATION_CODE_GRANT] && typeof grants[AUTHORIZATION_CODE_GRANT] === "object") {
    const issuerState = grants[AUTHORIZATION_CODE_GRANT].issuer_state;
    if (issuerState !== undefined && typeof issuerState !== "string") {
      throw new WalletError("offer_invalid", "issuer_state");
    }
    return AUTHORIZATION_CODE_GRANT;
  }
  throw new WalletError("offer_unsupported_grant");
}

/** The credential configurations the issuer's metadata lists that this wallet can hold: [{id, configuration}]. */
export async function issuerConfigurations(issuerUrl) {
  const issuer = sameOrigin(issuerUrl).replace(/\/$/, "");
  const metadata = await fetchJson(issuer + "/.well-known/openid-credential-issuer");
  if (!metadata.ok || !metadata.body.credential_configurations_supported) {
    throw new WalletError("issuer_unreachable", "issuer metadata");
  }
  const supported = metadata.body.credential_configurations_supported;
  return Object.keys(supported).filter(function (id) { return holdable(supported[id]); }).map(function (id) {
    return { id: id, configuration: supported[id] };
  });
}

function holdable(configuration) {
  const algorithms = ((configuration.proof_types_supported || {}).jwt || {}).proof_signing_alg_values_supported || [];
  return configuration.format === FORMAT && algorithms.indexOf("ES256") >= 0;
}

export async function issuerDescribe(offer) {
  const issuer = offer.credential_issuer.replace(/\/$/, "");
  const metadata = await fetchJson(issuer + "/.well-known/openid-credential-issuer");
  if (!metadata.ok || metadata.body.credential_issuer.replace(/\/$/, "") !== issuer) {
    throw new WalletError("issuer_unreachable", "issuer metadata");
  }
  const authorizationServer = ((metadata.body.authorization_servers || [])[0] || issuer).replace(/\/$/, "");
  const server = await fetchJson(sameOrigin(authorizationServer + "/.well-known/oauth-authorization-server"));
  if (!server.ok || !server.body.token_endpoint) throw new WalletError("issuer_unreachable", "authorization server metadata");
  if (server.body.issuer && server.body.issuer.replace(/\/$/, "") !== authorizationServer) {
    throw new WalletError("issuer_unreachable", "authorization server metadata of another issuer");
  }
  const configurations = offer.credential_configuration_ids.map(function (id) {
    const configuration = metadata.body.credential_configurations_supported[id];
    if (!configuration || !holdable(configuration)) throw new WalletError("offer_unsupported_format", id);
    return { id: id, configuration: configuration };
  });
  return {
    issuer: issuer,
    metadata: metadata.body,
    authorizationServer: server.body,
    tokenEndpoint: server.body.token_endpoint,
    configurations: configurations,
  };
}

/** The display entry for `language` ("de", "en"), else English, else the first. */
export function localized(entries, language) {
  if (!Array.isArray(entries) || entries.length === 0) return null;
  const byLocale = function (prefix) {
    return entries.find(function (entry) { return (entry.locale || "").toLowerCase().split("-")[0] === prefix; });
  };
  return byLocale(language) || byLocale("en") || entries[0];
}

/** What a person reads about a configuration: its name and each claim's label, in `language`. */
export function configurationDisplay(configuration, language) {
  const metadata = configuration.credential_metadata || {};
  const name = localized(metadata.display, language);
  const labels = {};
  (metadata.claims || []).forEach(function (claim) {
    const display = localized(claim.display, language);
    if (display && Array.isArray(claim.path)) labels[claim.path.join(".")] = display.name;
  });
  return { name: name ? name.name : "", labels: labels };
}

async function tokenRequest(tokenEndpoint, grant, txCode) {
  const form = new URLSearchParams({ grant_type: PRE_AUTHORIZED_GRANT, "pre-authorized_code": grant["pre-authorized_code"] });
  if (grant.tx_code) form.set("tx_code", txCode);
  const answer = await fetchJson(tokenEndpoint, { method: "POST", body: form });
  if (answer.ok) return answer.body.access_token;
  const error = answer.body && answer.body.error;
  const detail = (answer.body && answer.body.error_description) || "";
  if (error === "invalid_grant" && /transaction code is wrong/.test(detail)) throw new WalletError("tx_code_wrong", detail);
  if (error === "invalid_request" && /tx_code/.test(detail)) throw new WalletError("tx_code_wrong", detail);
  throw new WalletError("offer_spent", detail || String(error));
}

/** One credential per configuration of `described`, with the access token; `holder` is {privateKey, publicJwk}. */
async function credentialsReceive({ described, accessToken, holder }) {
  const received = [];
  for (const item of described.configurations) {
    const nonce = await fetchJson(described.metadata.nonce_endpoint, { method: "POST" });
    if (!nonce.ok || !nonce.body.c_nonce) throw new WalletError("issuer_unreachable", "nonce endpoint");
    const proof = await signEs256(
      { alg: "ES256", typ: "openid4vci-proof+jwt", jwk: holder.publicJwk },
      { aud: described.issuer, iat: Math.floor(Date.now() / 1000), nonce: nonce.body.c_nonce },
      holder.privateKey
    );
    const answer = await fetchJson(described.metadata.credential_endpoint, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: "Bearer " + accessToken },
      body: JSON.stringify({ credential_configuration_id: item.id, proofs: { jwt: [proof] } }),
    });
    if (!answer.ok || !answer.body.credentials || !answer.body.credentials.length) {
      throw new WalletError("issuer_refused", (answer.body && answer.body.error) || String(answer.status));
    }
    received.push({ configurationId: item.id, configuration: item.configuration, credential: answer.body.credentials[0].credential });
  }
  return received;
}

/**
 * Run the pre-authorized code flow for every configuration of the offer; `holder` is {privateKey, publicJwk}.
 * Returns [{configurationId, configuration, credential}] (credentials in issuance form, not yet checked).
 */
export async function offerAccept({ offer, described, txCode, holder }) {
  const grant = offer.grants[PRE_AUTHORIZED_GRANT];
  if (grant.tx_code && !txCode) throw new WalletError("tx_code_missing");
  const accessToken = await tokenRequest(described.tokenEndpoint, grant, txCode);
  return credentialsReceive({ described: described, accessToken: accessToken, holder: holder });
}

// --- the authorization code flow ----------------------------------------------------------------------------------
function randomToken() {
  return b64urlEncode(crypto.getRandomValues(new Uint8Array(32)));
}

/** A PKCE pair (RFC 7636): a 43-character verifier of 256 random bits and its S256 challenge. */
export async function pkcePair() {
  const verifier = randomToken();
  return { verifier: verifier, challenge: b64urlEncode(await sha256(verifier)) };
}

function flowRead() {
  let flow = null;
  try {
    flow = JSON.parse(window.sessionStorage.getItem(FLOW_KEY) || "null");
  } catch (error) {
    flow = null;
  }
  if (!flow || typeof flow.state !== "string" || typeof flow.verifier !== "string") return null;
  if (!(Date.now() - flow.startedAt < FLOW_MAX_AGE_MS)) return null;
  return flow;
}

/**
 * Start the authorization code flow for the configurations of `described`: keep state and verifier in
 * sessionStorage and return the authorization request URL to send the customer to. `issuerState` is the offer's
 * issuer_state, passed on unchanged; `clientId` and `redirectUri` are the wallet's registration with the issuer.
 */
export async function authorizationStart({ described, clientId, redirectUri, issuerState }) {
  const server = described.authorizationServer;
  if (!server.authorization_endpoint) throw new WalletError("offer_unsupported_grant", "no authorization endpoint");
  if ((server.code_challenge_methods_supported || []).indexOf("S256") < 0) {
    throw new WalletError("offer_unsupported_grant", "no PKCE S256");
  }
  const endpoint = sameOrigin(server.authorization_endpoint);
  const pkce = await pkcePair();
  const state = randomToken();
  const query = new URLSearchParams({
    response_type: "code",
    client_id: clientId,
    redirect_uri: sameOrigin(redirectUri),
    state: state,
    code_challenge: pkce.challenge,
    code_challenge_method: "S256",
  });
  // a configuration's scope when the authorization server lists it, else RFC 9396 authorization_details
  const scopes = described.configurations.map(function (item) { return item.configuration.scope; });
  const listed = server.scopes_supported || [];
  if (scopes.every(function (scope) { return scope && listed.indexOf(scope) >= 0; })) {
    query.set("scope", scopes.join(" "));
  } else {
    query.set("authorization_details", JSON.stringify(described.configurations.map(function (item) {
      return { type: "openid_credential", credential_configuration_id: item.id };
    })));
  }
  if (issuerState) query.set("issuer_state", issuerState);
  window.sessionStorage.setItem(FLOW_KEY, JSON.stringify({
    state: state,
    verifier: pkce.verifier,
    issuer: described.issuer,
    issRequired: server.authorization_response_iss_parameter_supported === true,
    configurationIds: described.configurations.map(function (item) { return item.id; }),
    clientId: clientId,
    redirectUri: redirectUri,
    startedAt: Date.now(),
  }));
  return endpoint + (endpoint.indexOf("?") < 0 ? "?" : "&") + query.toString();
}

/** True when the page's query is an authorization response (a redirect back from the authorization endpoint). */
export function isAuthorizationResponse(params) {
  return params.has("code") || params.has("error");
}

/**
 * Check an authorization response against the flow this tab started: the state must be the one sent (else
 * "authorization_state_mismatch", and a flow still under way stays usable), and iss the issuer asked (RFC 9207).
 * The flow is then used up. Returns {flow, code}; an error response throws authorization_denied or _refused.
 */
export function authorizationResponse(params) {
  const flow = flowRead();
  if (!flow || params.get("state") !== flow.state) {
    throw new WalletError("authorization_state_mismatch", "state does not match a flow of this wallet");
  }
  const iss = params.get("iss");
  if ((iss === null && flow.issRequired) || (iss !== null && iss.replace(/\/$/, "") !== flow.issuer)) {
    throw new WalletError("authorization_state_mismatch", "iss is not the issuer asked");
  }
  window.sessionStorage.removeItem(FLOW_KEY);
  if (params.has("error")) {
    const error = params.get("error");
    throw new WalletError(error === "access_denied" ? "authorization_denied" : "authorization_refused", error);
  }
  const code = params.get("code");
  if (!code) throw new WalletError("authorization_refused", "no code");
  return { flow: flow, code: code };
}

/** Spend the authorization code with its PKCE verifier at the token endpoint; the access token. */
export async function authorizationCodeExchange({ described, flow, code }) {
  const form = new URLSearchParams({
    grant_type: AUTHORIZATION_CODE_GRANT,
    code: code,
    code_verifier: flow.verifier,
    client_id: flow.clientId,
    redirect_uri: flow.redirectUri,
  });
  const answer = await fetchJson(described.tokenEndpoint, { method: "POST", body: form });
  if (answer.ok && answer.body && answer.body.access_token) return answer.body.access_token;
  const error = (answer.body && answer.body.error) || String(answer.status);
  const detail = (answer.body && answer.body.error_description) || error;
  if (error === "invalid_grant") throw new WalletError("authorization_expired", detail);
  throw new WalletError("authorization_refused", error);
}

/** The credentials of an authorization code flow, once the access token is in hand. */
export function authorizedAccept({ described, accessToken, holder }) {
  return credentialsReceive({ described: described, accessToken: accessToken, holder: holder });
}
