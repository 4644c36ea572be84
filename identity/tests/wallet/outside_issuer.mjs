// An outside issuer for the acceptance tests: a PID provider and a credit bureau that share nothing with the portal.
//
// It makes its own P-256 root CA and, under it, one issuer certificate per role (with @peculiar/x509, since
// node:crypto cannot make certificates), then issues dc+sd-jwt credentials with the OpenWallet Foundation's
// @sd-jwt libraries, signed ES256 with the issuer certificate in the x5c header (leaf only, as HAIP asks: the
// verifier holds the root) and bound to the holder key it is given (cnf.jwk). Every subject claim is selectively
// disclosable.
//
// Reads one JSON line on stdin:
//   {"holder_jwk": {...}, "pid": {claims}, "bureau": {claims}, "validity_days": 30,
//    "pid_issuer": "https://pid.outside.test", "bureau_issuer": "https://bureau.outside.test"}
// Writes one JSON line: {"root_ca_pem": "...", "credentials": {"pid": "<sd-jwt>~", "bureau": "<sd-jwt>~"},
//   "issuers": {"pid": "...", "bureau": "..."}}

import { webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";
import { SDJwtVcInstance } from "@sd-jwt/sd-jwt-vc";
import { digest, generateSalt, ES256 } from "@sd-jwt/crypto-nodejs";

x509.cryptoProvider.set(webcrypto);

export const PID_VCT = "urn:eudi:pid:1";
export const CREDIT_HISTORY_VCT = "urn:finlab:credit-history:1";
const EC_P256 = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
const DAY_MS = 24 * 60 * 60 * 1000;

function serial() {
  // a positive 64-bit serial number in hex
  const bytes = webcrypto.getRandomValues(new Uint8Array(8));
  bytes[0] &= 0x7f;
  return Buffer.from(bytes).toString("hex");
}

async function rootCa(name, validityDays) {
  const keys = await webcrypto.subtle.generateKey(EC_P256, true, ["sign", "verify"]);
  const notBefore = new Date(Date.now() - 60_000);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name,
    notBefore,
    notAfter: new Date(notBefore.getTime() + (validityDays + 30) * DAY_MS),
    signingAlgorithm: EC_P256,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { keys, certificate };
}

async function issuerCertificate(ca, issuerUrl, commonName, validityDays) {
  const keys = await webcrypto.subtle.generateKey(EC_P256, true, ["sign", "verify"]);
  const notBefore = new Date(Date.now() - 60_000);
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${commonName}, O=Outside Test Issuers`,
    issuer: ca.certificate.subject,
    notBefore,
    notAfter: new Date(notBefore.getTime() + validityDays * DAY_MS),
    signingAlgorithm: EC_P256,
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.SubjectAlternativeNameExtension([
        { type: "url", value: issuerUrl },
        { type: "dns", value: new URL(issuerUrl).hostname },
      ]),
      await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey),
    ],
  });
  return { keys, certificate };
}

async function issue({ issuer, issuerUrl, vct, claims, holderJwk, validityDays }) {
  const privateJwk = await webcrypto.subtle.exportKey("jwk", issuer.keys.privateKey);
  const instance = new SDJwtVcInstance({
    signer: await ES256.getSigner(privateJwk),
    signAlg: "ES256",
    hasher: digest,
    hashAlg: "sha-256",
    saltGenerator: generateSalt,
  });
  const now = Math.floor(Date.now() / 1000);
  const payload = {
    iss: issuerUrl,
    vct,
    iat: now,
    nbf: now,
    exp: now + validityDays * 24 * 60 * 60,
    cnf: { jwk: holderJwk },
    ...claims,
  };
  const x5c = [Buffer.from(issuer.certificate.rawData).toString("base64")];
  return instance.issue(payload, { _sd: Object.keys(claims) }, { header: { typ: "dc+sd-jwt", x5c } });
}

async function readRequest() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

async function main() {
  const request = await readRequest();
  const validityDays = request.validity_days ?? 30;
  const pidUrl = request.pid_issuer ?? "https://pid.outside.test";
  const bureauUrl = request.bureau_issuer ?? "https://bureau.outside.test";
  const ca = await rootCa("CN=Outside Test Root CA, O=Outside Test Issuers", validityDays);
  const pidIssuer = await issuerCertificate(ca, pidUrl, "Outside PID Provider", validityDays);
  const bureauIssuer = await issuerCertificate(ca, bureauUrl, "Outside Credit Bureau", validityDays);
  const common = { holderJwk: request.holder_jwk, validityDays };
  const credentials = {
    pid: await issue({ issuer: pidIssuer, issuerUrl: pidUrl, vct: PID_VCT, claims: request.pid, ...common }),
    bureau: await issue({
      issuer: bureauIssuer,
      issuerUrl: bureauUrl,
      vct: CREDIT_HISTORY_VCT,
      claims: request.bureau,
      ...common,
    }),
  };
  process.stdout.write(
    JSON.stringify({
      root_ca_pem: ca.certificate.toString("pem"),
      credentials,
      issuers: { pid: pidUrl, bureau: bureauUrl },
    }) + "\n",
  );
}

main().catch((error) => {
  process.stdout.write(JSON.stringify({ error: String(error?.stack ?? error) }) + "\n");
  process.exitCode = 1;
});
