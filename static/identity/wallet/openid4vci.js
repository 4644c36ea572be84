/*
 * OpenID4VCI 1.0 for the browser wallet: read a credential offer (by value or by reference), then the
 * pre-authorized code flow: token request with the transaction code, a fresh c_nonce from the nonce endpoint, a key
 * proof (openid4vci-proof+jwt, ES256, signed with the holder's P-256 key), and one credential request per offered
 * configuration. Only this portal's issuer can be reached from the page (its content security policy).
 */
import { WalletError, fetchJson, sameOrigin } from "./encoding.js";
import { signEs256 } from "./jose.js";

export const PRE_AUTHORIZED_GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code";
const FORMAT = "dc+sd-jwt";

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
  if (!offer.grants || !offer.grants[PRE_AUTHORIZED_GRANT]) throw new WalletError("offer_unsupported_grant");
  return offer;
}

/** Issuer metadata and the token endpoint (the issuer's authorization server metadata). */
export async function issuerDescribe(offer) {
  const issuer = offer.credential_issuer.replace(/\/$/, "");
  const metadata = await fetchJson(issuer + "/.well-known/openid-credential-issuer");
  if (!metadata.ok || metadata.body.credential_issuer.replace(/\/$/, "") !== issuer) {
    throw new WalletError("issuer_unreachable", "issuer metadata");
  }
  const authorizationServer = ((metadata.body.authorization_servers || [])[0] || issuer).replace(/\/$/, "");
  const server = await fetchJson(authorizationServer + "/.well-known/oauth-authorization-server");
  if (!server.ok || !server.body.token_endpoint) throw new WalletError("issuer_unreachable", "authorization server metadata");
  const configurations = offer.credential_configuration_ids.map(function (id) {
    const configuration = metadata.body.credential_configurations_supported[id];
    if (!configuration || configuration.format !== FORMAT) throw new WalletError("offer_unsupported_format", id);
    const algorithms = ((configuration.proof_types_supported || {}).jwt || {}).proof_signing_alg_values_supported || [];
    if (algorithms.indexOf("ES256") < 0) throw new WalletError("offer_unsupported_format", id + " without ES256 proofs");
    return { id: id, configuration: configuration };
  });
  return { issuer: issuer, metadata: metadata.body, tokenEndpoint: server.body.token_endpoint, configurations: configurations };
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

/**
 * Run the pre-authorized code flow for every configuration of the offer; `holder` is {privateKey, publicJwk}.
 * Returns [{configurationId, configuration, credential}] (credentials in issuance form, not yet checked).
 */
export async function offerAccept({ offer, described, txCode, holder }) {
  const grant = offer.grants[PRE_AUTHORIZED_GRANT];
  if (grant.tx_code && !txCode) throw new WalletError("tx_code_missing");
  const accessToken = await tokenRequest(described.tokenEndpoint, grant, txCode);
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
