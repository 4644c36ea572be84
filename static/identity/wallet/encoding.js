/*
 * Byte and text encodings the wallet's protocols need: base64url (JOSE, SD-JWT), standard base64 (x5c), UTF-8,
 * SHA-256, and a small error type whose `code` the page turns into a sentence in the user's language.
 */

export const encoder = new TextEncoder();
export const decoder = new TextDecoder();

/** A refusal or failure with a stable code (the page shows a translated sentence for it) and English detail. */
export class WalletError extends Error {
  constructor(code, detail) {
    super(detail || code);
    this.code = code;
  }
}

export function b64urlEncode(bytes) {
  bytes = new Uint8Array(bytes);
  let text = "";
  for (let i = 0; i < bytes.length; i += 1) text += String.fromCharCode(bytes[i]);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function b64urlDecode(text) {
  if (typeof text !== "string" || !/^[A-Za-z0-9_-]*$/.test(text)) throw new WalletError("malformed", "not base64url");
  return b64Decode(text.replace(/-/g, "+").replace(/_/g, "/"));
}

export function b64Decode(text) {
  const padded = text + "===".slice((text.length + 3) % 4);
  const binary = atob(padded);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export function b64urlJson(value) {
  return b64urlEncode(encoder.encode(JSON.stringify(value)));
}

export function jsonFromB64url(text) {
  try {
    return JSON.parse(decoder.decode(b64urlDecode(text)));
  } catch (error) {
    throw new WalletError("malformed", "not base64url JSON");
  }
}

export async function sha256(bytesOrText) {
  const bytes = typeof bytesOrText === "string" ? encoder.encode(bytesOrText) : bytesOrText;
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

export function concatBytes(...parts) {
  const total = parts.reduce((sum, part) => sum + part.length, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export function equalBytes(left, right) {
  if (left.length !== right.length) return false;
  for (let i = 0; i < left.length; i += 1) if (left[i] !== right[i]) return false;
  return true;
}

const BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

export function base58Decode(text) {
  const bytes = [0];
  for (const character of text) {
    let carry = BASE58.indexOf(character);
    if (carry < 0) throw new WalletError("malformed", "not base58");
    for (let j = 0; j < bytes.length; j += 1) {
      carry += bytes[j] * 58;
      bytes[j] = carry & 0xff;
      carry >>= 8;
    }
    while (carry) {
      bytes.push(carry & 0xff);
      carry >>= 8;
    }
  }
  for (let k = 0; k < text.length && text[k] === "1"; k += 1) bytes.push(0);
  return new Uint8Array(bytes.reverse());
}

/** Fetch JSON from this portal only: the portal's content security policy lets the page talk to its own origin. */
export async function fetchJson(url, options) {
  const response = await fetch(sameOrigin(url), Object.assign({ credentials: "same-origin" }, options || {}));
  let body = null;
  try {
    body = await response.json();
  } catch (error) {
    body = null;
  }
  return { status: response.status, ok: response.ok, body: body };
}

/** The URL, if it is on this page's origin; otherwise a WalletError("foreign_origin"). */
export function sameOrigin(url) {
  let parsed;
  try {
    parsed = new URL(url, window.location.href);
  } catch (error) {
    throw new WalletError("malformed", "not a URL: " + url);
  }
  if (parsed.origin !== window.location.origin) throw new WalletError("foreign_origin", parsed.origin);
  return parsed.href;
}
