/*
 * JOSE with WebCrypto: ES256 JWS (sign, verify), EdDSA verification (for did:key issuers), public JWKs and their
 * RFC 7638 thumbprints, and JWE with ECDH-ES (direct key agreement, RFC 7518 section 4.6) + AES-GCM for
 * OpenID4VP's direct_post.jwt. WebCrypto's ECDSA signatures are already the JOSE form (r || s, 64 bytes).
 */
import {
  WalletError, b64urlEncode, b64urlDecode, b64urlJson, jsonFromB64url, encoder, sha256, concatBytes,
} from "./encoding.js";

const ES256 = { name: "ECDSA", hash: "SHA-256" };
const P256 = { name: "ECDSA", namedCurve: "P-256" };

/** A new P-256 signing key pair for the holder; extractable so that the wallet can keep it in its vault. */
export function holderKeyGenerate() {
  return crypto.subtle.generateKey(P256, true, ["sign", "verify"]);
}

export function privateKeyImport(jwk) {
  return crypto.subtle.importKey("jwk", jwk, P256, false, ["sign"]);
}

/** The public members of an EC or OKP JWK (what goes into a key proof, cnf or epk). */
export function publicJwk(jwk) {
  if (jwk.kty === "EC") return { kty: "EC", crv: jwk.crv, x: jwk.x, y: jwk.y };
  if (jwk.kty === "OKP") return { kty: "OKP", crv: jwk.crv, x: jwk.x };
  throw new WalletError("unsupported_key", "key type " + jwk.kty);
}

/** RFC 7638 thumbprint: SHA-256 over the required members in lexicographic order. */
export async function jwkThumbprint(jwk) {
  const members = jwk.kty === "EC" ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y } : { crv: jwk.crv, kty: jwk.kty, x: jwk.x };
  return b64urlEncode(await sha256(JSON.stringify(members)));
}

export async function signEs256(header, payload, privateKey) {
  const input = b64urlJson(header) + "." + b64urlJson(payload);
  const signature = await crypto.subtle.sign(ES256, privateKey, encoder.encode(input));
  return input + "." + b64urlEncode(signature);
}

/** The parts of a compact JWS; no check made. */
export function jwsDecode(token) {
  if (typeof token !== "string") throw new WalletError("malformed", "a JWS is a string");
  const parts = token.split(".");
  if (parts.length !== 3) throw new WalletError("malformed", "a compact JWS has three parts");
  return {
    header: jsonFromB64url(parts[0]),
    payload: jsonFromB64url(parts[1]),
    signingInput: encoder.encode(parts[0] + "." + parts[1]),
    signature: b64urlDecode(parts[2]),
  };
}

/** True if `signature` (JOSE form) over `signingInput` verifies with the public key for `algorithm`. */
export async function signatureVerify(algorithm, publicKey, signingInput, signature) {
  if (algorithm === "ES256") return crypto.subtle.verify(ES256, publicKey, signature, signingInput);
  if (algorithm === "EdDSA") return crypto.subtle.verify({ name: "Ed25519" }, publicKey, signature, signingInput);
  throw new WalletError("unsupported_algorithm", String(algorithm));
}

export function publicKeyFromJwk(jwk) {
  if (jwk.kty === "EC" && jwk.crv === "P-256") return crypto.subtle.importKey("jwk", publicJwk(jwk), P256, false, ["verify"]);
  if (jwk.kty === "OKP" && jwk.crv === "Ed25519") return crypto.subtle.importKey("jwk", publicJwk(jwk), { name: "Ed25519" }, false, ["verify"]);
  throw new WalletError("unsupported_key", "key type " + jwk.kty + "/" + jwk.crv);
}

// --- JWE: ECDH-ES + A128GCM / A256GCM ----------------------------------------------------------------------------
const KEY_BITS = { A128GCM: 128, A256GCM: 256 };

function lengthPrefixed(bytes) {
  const out = new Uint8Array(4 + bytes.length);
  new DataView(out.buffer).setUint32(0, bytes.length);
  out.set(bytes, 4);
  return out;
}

function uint32(value) {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value);
  return out;
}

/** Concat KDF (NIST SP 800-56A, RFC 7518 section 4.6.2) with SHA-256; for direct key agreement the algorithm id
 *  is the `enc` value. */
async function concatKdf(sharedSecret, keyBits, algorithmId, partyUInfo, partyVInfo) {
  const otherInfo = concatBytes(
    lengthPrefixed(encoder.encode(algorithmId)), lengthPrefixed(partyUInfo), lengthPrefixed(partyVInfo), uint32(keyBits)
  );
  const rounds = Math.ceil(keyBits / 256);
  const blocks = [];
  for (let counter = 1; counter <= rounds; counter += 1) {
    blocks.push(await sha256(concatBytes(uint32(counter), sharedSecret, otherInfo)));
  }
  return concatBytes(...blocks).slice(0, keyBits / 8);
}

/**
 * Encrypt `plaintext` (a string) to the recipient's P-256 public JWK: a fresh ephemeral key, ECDH, Concat KDF,
 * AES-GCM with the protected header as additional data. Returns the compact serialization
 * (header . empty encrypted key . iv . ciphertext . tag).
 */
export async function jweEncryptEcdhEs(plaintext, recipientJwk, enc) {
  if (!KEY_BITS[enc]) throw new WalletError("unsupported_encryption", String(enc));
  if (recipientJwk.kty !== "EC" || recipientJwk.crv !== "P-256") throw new WalletError("unsupported_key", "encryption key");
  const ecdh = { name: "ECDH", namedCurve: "P-256" };
  const recipient = await crypto.subtle.importKey("jwk", publicJwk(recipientJwk), ecdh, false, []);
  const ephemeral = await crypto.subtle.generateKey(ecdh, true, ["deriveBits"]);
  const sharedSecret = new Uint8Array(
    await crypto.subtle.deriveBits({ name: "ECDH", public: recipient }, ephemeral.privateKey, 256)
  );
  const header = { alg: "ECDH-ES", enc: enc, epk: publicJwk(await crypto.subtle.exportKey("jwk", ephemeral.publicKey)) };
  if (recipientJwk.kid) header.kid = recipientJwk.kid;
  const keyBytes = await concatKdf(sharedSecret, KEY_BITS[enc], enc, new Uint8Array(0), new Uint8Array(0));
  const contentKey = await crypto.subtle.importKey("raw", keyBytes, "AES-GCM", false, ["encrypt"]);
  const protectedHeader = b64urlJson(header);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = new Uint8Array(await crypto.subtle.encrypt(
    { name: "AES-GCM", iv: iv, additionalData: encoder.encode(protectedHeader), tagLength: 128 },
    contentKey, encoder.encode(plaintext)
  ));
  const ciphertext = sealed.slice(0, sealed.length - 16);
  const tag = sealed.slice(sealed.length - 16);
  return [protectedHeader, "", b64urlEncode(iv), b64urlEncode(ciphertext), b64urlEncode(tag)].join(".");
}
