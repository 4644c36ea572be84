/*
 * SD-JWT VC (RFC 9901, dc+sd-jwt): read an issued credential, check the issuer's signature (x5c chained to a
 * trusted CA, or an Ed25519 did:key), and build a presentation with chosen disclosures and a key-binding JWT.
 */
import { WalletError, b64urlEncode, base58Decode, jsonFromB64url, sha256 } from "./encoding.js";
import { jwsDecode, publicKeyFromJwk, signEs256, signatureVerify } from "./jose.js";
import { chainVerify, publicKeyImport } from "./x509.js";

/** {issuerJwt, header, payload, disclosures: [{encoded, name, value}]} of an SD-JWT in issuance form. */
export function sdJwtParse(credential) {
  if (typeof credential !== "string" || !credential.endsWith("~")) throw new WalletError("malformed", "not an SD-JWT");
  const parts = credential.split("~");
  const issuerJwt = parts[0];
  const decoded = jwsDecode(issuerJwt);
  const disclosures = parts.slice(1, -1).map(function (encoded) {
    const value = jsonFromB64url(encoded);
    if (!Array.isArray(value) || value.length !== 3) throw new WalletError("malformed", "only object-property disclosures");
    return { encoded: encoded, name: value[1], value: value[2] };
  });
  return { issuerJwt: issuerJwt, header: decoded.header, payload: decoded.payload, disclosures: disclosures, jws: decoded };
}

async function didKeyPublicKey(kid) {
  const did = kid.split("#")[0];
  if (!did.startsWith("did:key:z")) throw new WalletError("untrusted_issuer", "issuer key not resolvable: " + kid);
  const bytes = base58Decode(did.slice("did:key:z".length));
  if (bytes[0] !== 0xed || bytes[1] !== 0x01 || bytes.length !== 34) throw new WalletError("untrusted_issuer", "not Ed25519");
  return crypto.subtle.importKey("raw", bytes.slice(2), { name: "Ed25519" }, false, ["verify"]);
}

/**
 * Check a newly received SD-JWT: the issuer's signature (ES256 over an x5c chain ending at a trusted CA, or EdDSA
 * by the did:key named in kid), every disclosure's digest listed in _sd, and cnf.jwk = the holder's key.
 */
export async function sdJwtCheckReceived(credential, { anchors, holderJwk, now }) {
  const parsed = sdJwtParse(credential);
  const { header, payload, jws } = parsed;
  let publicKey;
  if (header.x5c) {
    publicKey = await publicKeyImport(await chainVerify(header.x5c, anchors, now));
  } else if (typeof header.kid === "string") {
    publicKey = await didKeyPublicKey(header.kid);
  } else {
    throw new WalletError("untrusted_issuer", "no issuer key");
  }
  if (!(await signatureVerify(header.alg, publicKey, jws.signingInput, jws.signature))) {
    throw new WalletError("credential_invalid", "issuer signature");
  }
  const digests = new Set(payload._sd || []);
  for (const disclosure of parsed.disclosures) {
    if (!digests.has(b64urlEncode(await sha256(disclosure.encoded)))) throw new WalletError("credential_invalid", "disclosure");
  }
  const bound = payload.cnf && payload.cnf.jwk;
  if (!bound || bound.x !== holderJwk.x || bound.y !== holderJwk.y) throw new WalletError("credential_invalid", "cnf");
  return parsed;
}

/** Claim names and values a presentation could reveal (the disclosures), plus the always-visible vct and iss. */
export function sdJwtClaims(credential) {
  const parsed = sdJwtParse(credential);
  const claims = {};
  parsed.disclosures.forEach(function (disclosure) { claims[disclosure.name] = disclosure.value; });
  return claims;
}

/**
 * The presentation: issuer JWT, the disclosures named in `claimNames` only, and a KB-JWT (typ kb+jwt, ES256) with
 * iat, aud (the verifier's client_id), nonce and sd_hash over everything before it.
 */
export async function sdJwtPresent(credential, { claimNames, audience, nonce, privateKey }) {
  const parsed = sdJwtParse(credential);
  const wanted = new Set(claimNames);
  const kept = parsed.disclosures.filter(function (d) { return wanted.has(d.name); }).map(function (d) { return d.encoded; });
  const presented = [parsed.issuerJwt].concat(kept).map(function (part) { return part + "~"; }).join("");
  const keyBinding = {
    iat: Math.floor(Date.now() / 1000),
    aud: audience,
    nonce: nonce,
    sd_hash: b64urlEncode(await sha256(presented)),
  };
  return presented + (await signEs256({ alg: "ES256", typ: "kb+jwt" }, keyBinding, privateKey));
}

export { publicKeyFromJwk };
