/*
 * Just enough X.509 (RFC 5280) to trust a signer: read a DER certificate (names, validity, public key, basic
 * constraints, subject alternative names) and check a chain of ECDSA P-256 / SHA-256 signatures up to a trust
 * anchor the page was given. Anything this reader does not understand is refused, never guessed.
 */
import { WalletError, b64Decode, equalBytes, decoder } from "./encoding.js";

const OID_EC_PUBLIC_KEY = "1.2.840.10045.2.1";
const OID_ECDSA_SHA256 = "1.2.840.10045.4.3.2";
const OID_BASIC_CONSTRAINTS = "2.5.29.19";
const OID_SUBJECT_ALT_NAME = "2.5.29.17";
const OID_COMMON_NAME = "2.5.4.3";
const OID_ORGANISATION = "2.5.4.10";

function bad(detail) {
  return new WalletError("certificate_invalid", detail);
}

/** One DER element at `offset`: its tag, where its content starts and ends, and where the whole element starts. */
function element(bytes, offset) {
  if (offset + 2 > bytes.length) throw bad("truncated DER");
  const tag = bytes[offset];
  let length = bytes[offset + 1];
  let cursor = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count < 1 || count > 3) throw bad("unsupported DER length");
    length = 0;
    for (let i = 0; i < count; i += 1) length = length * 256 + bytes[cursor + i];
    cursor += count;
  }
  if (cursor + length > bytes.length) throw bad("truncated DER");
  return { tag: tag, start: offset, contentStart: cursor, end: cursor + length };
}

function children(bytes, parent) {
  const list = [];
  let offset = parent.contentStart;
  while (offset < parent.end) {
    const child = element(bytes, offset);
    list.push(child);
    offset = child.end;
  }
  return list;
}

function raw(bytes, node) {
  return bytes.slice(node.start, node.end);
}

function content(bytes, node) {
  return bytes.slice(node.contentStart, node.end);
}

function oid(bytes, node) {
  if (node.tag !== 0x06) throw bad("expected an OID");
  const value = content(bytes, node);
  const parts = [Math.floor(value[0] / 40), value[0] % 40];
  let accumulator = 0;
  for (let i = 1; i < value.length; i += 1) {
    accumulator = accumulator * 128 + (value[i] & 0x7f);
    if (!(value[i] & 0x80)) {
      parts.push(accumulator);
      accumulator = 0;
    }
  }
  return parts.join(".");
}

function time(bytes, node) {
  const text = decoder.decode(content(bytes, node));
  let match;
  if (node.tag === 0x17 && (match = /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(text))) {
    const year = Number(match[1]) >= 50 ? 1900 + Number(match[1]) : 2000 + Number(match[1]);
    return new Date(Date.UTC(year, match[2] - 1, match[3], match[4], match[5], match[6]));
  }
  if (node.tag === 0x18 && (match = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(text))) {
    return new Date(Date.UTC(match[1], match[2] - 1, match[3], match[4], match[5], match[6]));
  }
  throw bad("unsupported time " + text);
}

/** Attribute values of a Name by OID (first of each). */
function nameAttributes(bytes, nameNode) {
  const values = {};
  for (const set of children(bytes, nameNode)) {
    for (const attribute of children(bytes, set)) {
      const [type, value] = children(bytes, attribute);
      const key = oid(bytes, type);
      if (!(key in values)) values[key] = decoder.decode(content(bytes, value));
    }
  }
  return values;
}

/** An ECDSA signature in DER (SEQUENCE of two INTEGERs) as the 64-byte r || s that WebCrypto verifies. */
function ecdsaDerToRaw(bytes) {
  const sequence = element(bytes, 0);
  const [r, s] = children(bytes, sequence);
  const out = new Uint8Array(64);
  [r, s].forEach(function (integer, index) {
    let value = content(bytes, integer);
    while (value.length > 32 && value[0] === 0) value = value.slice(1);
    if (value.length > 32) throw bad("ECDSA integer too long");
    out.set(value, index * 32 + (32 - value.length));
  });
  return out;
}

/** The parts of a DER certificate this wallet uses. */
export function certificateParse(der) {
  const root = element(der, 0);
  if (root.end !== der.length) throw bad("trailing bytes");
  const [tbs, signatureAlgorithm, signatureValue] = children(der, root);
  const fields = children(der, tbs);
  let index = fields[0].tag === 0xa0 ? 1 : 0; // explicit version
  index += 1; // serial number
  index += 1; // signature algorithm (repeated below, compared)
  const issuer = fields[index++];
  const validity = children(der, fields[index++]);
  const subject = fields[index++];
  const publicKeyInfo = fields[index++];
  const extensions = fields.slice(index).find(function (node) { return node.tag === 0xa3; });
  const keyAlgorithm = oid(der, children(der, children(der, publicKeyInfo)[0])[0]);
  const parsed = {
    der: der,
    tbs: raw(der, tbs),
    signatureAlgorithm: oid(der, children(der, signatureAlgorithm)[0]),
    signature: content(der, signatureValue).slice(1), // BIT STRING: first byte counts unused bits
    issuerName: raw(der, issuer),
    subjectName: raw(der, subject),
    subject: nameAttributes(der, subject),
    notBefore: time(der, validity[0]),
    notAfter: time(der, validity[1]),
    publicKeyInfo: raw(der, publicKeyInfo),
    keyAlgorithm: keyAlgorithm,
    isCa: false,
    dnsNames: [],
    uris: [],
  };
  if (extensions) {
    for (const extension of children(der, children(der, extensions)[0])) {
      const parts = children(der, extension);
      const extensionId = oid(der, parts[0]);
      const value = content(der, parts[parts.length - 1]); // OCTET STRING holding the DER value
      if (extensionId === OID_BASIC_CONSTRAINTS) {
        const constraints = children(value, element(value, 0));
        parsed.isCa = constraints.length > 0 && constraints[0].tag === 0x01 && value[constraints[0].contentStart] !== 0;
      } else if (extensionId === OID_SUBJECT_ALT_NAME) {
        for (const name of children(value, element(value, 0))) {
          if (name.tag === 0x82) parsed.dnsNames.push(decoder.decode(content(value, name)));
          if (name.tag === 0x86) parsed.uris.push(decoder.decode(content(value, name)));
        }
      }
    }
  }
  return parsed;
}

export function certificateFromBase64(text) {
  try {
    return certificateParse(b64Decode(text));
  } catch (error) {
    if (error instanceof WalletError) throw error;
    throw bad("not a certificate");
  }
}

/** Organisation and common name of a certificate's subject, for people to read. */
export function certificateSubject(certificate) {
  return { organisation: certificate.subject[OID_ORGANISATION] || "", commonName: certificate.subject[OID_COMMON_NAME] || "" };
}

export function publicKeyImport(certificate) {
  if (certificate.keyAlgorithm !== OID_EC_PUBLIC_KEY) throw bad("not an EC key");
  return crypto.subtle.importKey("spki", certificate.publicKeyInfo, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
}

async function signedBy(certificate, issuer) {
  if (!equalBytes(certificate.issuerName, issuer.subjectName)) return false;
  if (certificate.signatureAlgorithm !== OID_ECDSA_SHA256) throw bad("unsupported signature algorithm");
  const key = await publicKeyImport(issuer);
  return crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, ecdsaDerToRaw(certificate.signature), certificate.tbs);
}

function currentlyValid(certificate, now) {
  return certificate.notBefore <= now && now <= certificate.notAfter;
}

/**
 * Check an x5c chain (leaf first, base64 DER) against trust anchors (parsed certificates): every certificate valid
 * now, each signed by the next, the last one either an anchor itself or signed by one; every issuer a CA.
 * Returns the parsed leaf; throws WalletError("untrusted_certificate") otherwise.
 */
export async function chainVerify(x5c, anchors, now) {
  if (!Array.isArray(x5c) || x5c.length === 0) throw new WalletError("untrusted_certificate", "no x5c");
  const chain = x5c.map(certificateFromBase64);
  for (const certificate of chain) {
    if (!currentlyValid(certificate, now)) throw new WalletError("untrusted_certificate", "certificate outside its validity");
  }
  for (let i = 0; i + 1 < chain.length; i += 1) {
    if (!chain[i + 1].isCa || !(await signedBy(chain[i], chain[i + 1]))) {
      throw new WalletError("untrusted_certificate", "broken chain at " + i);
    }
  }
  const last = chain[chain.length - 1];
  for (const anchor of anchors) {
    if (!currentlyValid(anchor, now)) continue;
    if (equalBytes(anchor.der, last.der)) return chain[0];
    if (anchor.isCa && (await signedBy(last, anchor))) return chain[0];
  }
  throw new WalletError("untrusted_certificate", "the chain does not end at a trusted CA");
}
