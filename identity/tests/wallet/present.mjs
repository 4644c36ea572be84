// An independent OpenID4VP holder: the OpenWallet Foundation's @openid4vc/openid4vp client with @sd-jwt for the
// presentation and key-binding JWT, node:crypto for signatures and the ECDH-ES JWE of direct_post.jwt.
// Reads one JSON line on stdin:
//   {link, credential, holderPrivateJwk, caPem, tamper?: {...}}
// `link` is the openid4vp:// authorization request (client_id + request_uri). The wallet fetches the request object,
// verifies its ES256 signature with the x5c leaf, the leaf's chain to the portal CA and its SAN dNSName against the
// client_id (the library also checks the response_uri host), answers the DCQL query with exactly the claims asked,
// and posts direct_post.jwt (or direct_post when asked). `tamper` makes the deliberately wrong answers the verifier
// must refuse: {requestObject, nonce, audience, keyBinding: 'none'|'other-key', extraClaims: [..], disclosure,
// submitTwice, state}.
// Ends with one JSON line: {"ok":true, status, body, request} or {"ok":false, stage, error, status?, body?}.
import { createHash, createPrivateKey, createPublicKey, createECDH, randomBytes, sign, verify, X509Certificate,
  generateKeyPairSync, createCipheriv, diffieHellman, generateKeyPair } from 'node:crypto'
import { createInterface } from 'node:readline'
import { Openid4vpClient } from '@openid4vc/openid4vp'
import { setGlobalConfig } from '@openid4vc/oauth2'
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc'
import { digest as sdDigest } from '@sd-jwt/crypto-nodejs'

setGlobalConfig({ allowInsecureUrls: true }) // the test server is http://localhost

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]()
const readJson = async () => JSON.parse((await lines.next()).value)
const say = (value) => process.stdout.write(JSON.stringify(value) + '\n')
const b64url = (buffer) => Buffer.from(buffer).toString('base64url')
const fromB64url = (text) => Buffer.from(text, 'base64url')

let tamper = {}
let caPem = ''

// --- request object: signature by the x5c leaf, leaf issued by the portal CA, SAN names for the client id prefix
function certificateMetadata(certificate) {
  const leaf = new X509Certificate(Buffer.from(certificate, 'base64'))
  const names = (leaf.subjectAltName ?? '').split(', ')
  return {
    sanDnsNames: names.filter((name) => name.startsWith('DNS:')).map((name) => name.slice(4)),
    sanUriNames: names.filter((name) => name.startsWith('URI:')).map((name) => name.slice(4)),
  }
}

async function verifyJwt(signer, { compact }) {
  if (signer.method !== 'x5c' || signer.alg !== 'ES256') return { verified: false }
  const leaf = new X509Certificate(Buffer.from(signer.x5c[0], 'base64'))
  const ca = new X509Certificate(caPem)
  if (!leaf.checkIssued(ca) || !leaf.verify(ca.publicKey)) return { verified: false }
  const [header, payload, signature] = compact.split('.')
  const verified = verify('sha256', Buffer.from(`${header}.${payload}`),
    { key: leaf.publicKey, dsaEncoding: 'ieee-p1363' }, fromB64url(signature))
  return { verified, signerJwk: leaf.publicKey.export({ format: 'jwk' }) }
}

// A fetch that hands the wallet a request object whose payload was changed after signing (tamper.requestObject).
async function walletFetch(url, init) {
  const response = await fetch(url, init)
  if (!tamper.requestObject || !String(url).includes('/openid4vp/request/')) return response
  const [header, payload, signature] = (await response.text()).split('.')
  const changed = JSON.parse(fromB64url(payload))
  changed.response_uri = changed.response_uri.replace('/openid4vp/response/', '/openid4vp/response/../../elsewhere/')
  changed.dcql_query.credentials[0].claims.push({ path: ['negativeRecordBand'] })
  return new Response(`${header}.${b64url(JSON.stringify(changed))}.${signature}`,
    { status: 200, headers: { 'Content-Type': 'application/oauth-authz-req+jwt' } })
}

// --- direct_post.jwt: JWE with ECDH-ES (direct) on P-256 and A128GCM/A256GCM (RFC 7516, RFC 7518 4.6)
function concatKdf(sharedSecret, enc, apu, apv) {
  const keyLength = enc === 'A256GCM' ? 32 : 16
  const lengthPrefixed = (buffer) => Buffer.concat([uint32(buffer.length), buffer])
  const otherInfo = Buffer.concat([lengthPrefixed(Buffer.from(enc)), lengthPrefixed(apu), lengthPrefixed(apv),
    uint32(keyLength * 8)])
  const round = createHash('sha256').update(Buffer.concat([uint32(1), sharedSecret, otherInfo])).digest()
  return round.subarray(0, keyLength)
}
function uint32(value) { const buffer = Buffer.alloc(4); buffer.writeUInt32BE(value); return buffer }

async function encryptJwe(encryptor, data) {
  const recipient = createPublicKey({ key: encryptor.publicJwk, format: 'jwk' })
  const ephemeral = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const epk = ephemeral.publicKey.export({ format: 'jwk' })
  const header = { alg: 'ECDH-ES', enc: encryptor.enc, epk: { kty: epk.kty, crv: epk.crv, x: epk.x, y: epk.y } }
  if (encryptor.publicJwk.kid) header.kid = encryptor.publicJwk.kid
  if (encryptor.apu) header.apu = encryptor.apu
  if (encryptor.apv) header.apv = encryptor.apv
  const shared = diffieHellman({ privateKey: ephemeral.privateKey, publicKey: recipient })
  const key = concatKdf(shared, encryptor.enc, fromB64url(encryptor.apu ?? ''), fromB64url(encryptor.apv ?? ''))
  const protectedHeader = b64url(JSON.stringify(header))
  const iv = randomBytes(12)
  const cipher = createCipheriv(encryptor.enc === 'A256GCM' ? 'aes-256-gcm' : 'aes-128-gcm', key, iv)
  cipher.setAAD(Buffer.from(protectedHeader))
  const ciphertext = Buffer.concat([cipher.update(data, 'utf8'), cipher.final()])
  const jwe = [protectedHeader, '', b64url(iv), b64url(ciphertext), b64url(cipher.getAuthTag())].join('.')
  return { encryptionJwk: encryptor.publicJwk, jwe }
}

// --- the presentation: @sd-jwt discloses the DCQL claims and signs the KB-JWT with the holder key
function es256Signer(privateKey) {
  return async (data) => b64url(sign('sha256', Buffer.from(data), { key: privateKey, dsaEncoding: 'ieee-p1363' }))
}

async function presentation(credential, holderKey, claims, { nonce, audience }) {
  const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
  const instance = new SDJwtVcInstance({
    hasher: sdDigest, hashAlg: 'sha-256', loadTypeMetadataFormat: false,
    kbSigner: es256Signer(tamper.keyBinding === 'other-key' ? other : holderKey), kbSignAlg: 'ES256',
  })
  const frame = Object.fromEntries([...claims, ...(tamper.extraClaims ?? [])].map((name) => [name, true]))
  const kb = tamper.keyBinding === 'none' ? undefined
    : { payload: { iat: Math.floor(Date.now() / 1000), aud: tamper.audience ?? audience, nonce: tamper.nonce ?? nonce } }
  let presented = await instance.present(credential, frame, kb ? { kb } : {})
  if (tamper.disclosure) presented = tamperedDisclosure(presented)
  return presented
}

// The first disclosure's value changed (a score band of A): its digest is no longer in the issuer's _sd.
function tamperedDisclosure(presented) {
  const parts = presented.split('~')
  const [salt, name] = JSON.parse(fromB64url(parts[1]))
  parts[1] = b64url(JSON.stringify([salt, name, name === 'scoreBand' ? 'A' : { amountMinor: 9999999, currency: 'EUR' }]))
  return parts.join('~')
}

async function main() {
  const input = await readJson()
  tamper = input.tamper ?? {}
  caPem = input.caPem
  const holderKey = createPrivateKey({ key: input.holderPrivateJwk, format: 'jwk' })
  const callbacks = {
    hash: (data, alg) => new Uint8Array(createHash(alg.replace('-', '')).update(data).digest()),
    verifyJwt, encryptJwe, getX509CertificateMetadata: certificateMetadata, fetch: walletFetch,
  }
  const client = new Openid4vpClient({ callbacks })
  let resolved
  try {
    const parsed = client.parseOpenid4vpAuthorizationRequest({ authorizationRequest: input.link })
    resolved = await client.resolveOpenId4vpAuthorizationRequest({ authorizationRequestPayload: parsed.params })
  } catch (error) {
    say({ ok: false, stage: 'request', error: String(error?.message ?? error), body: error?.errorResponse ?? null })
    return
  }
  const request = resolved.authorizationRequestPayload
  if (resolved.client.prefix !== 'x509_san_dns') throw new Error(`unexpected client id prefix ${resolved.client.prefix}`)
  const query = resolved.dcql.query.credentials[0]
  const claims = query.claims.map((claim) => claim.path[0])
  const vp = await presentation(input.credential, holderKey, claims, { nonce: request.nonce, audience: request.client_id })
  const vpToken = { [query.id]: [vp] }
  const isEncrypted = request.response_mode === 'direct_post.jwt'
  const created = await client.createOpenid4vpAuthorizationResponse({
    authorizationRequestPayload: tamper.state ? { ...request, state: tamper.state } : request,
    authorizationResponsePayload: { vp_token: vpToken },
    jarm: isEncrypted ? {
      encryption: { nonce: b64url(randomBytes(16)) },
      serverMetadata: {
        authorization_signing_alg_values_supported: ['ES256'],
        authorization_encryption_alg_values_supported: ['ECDH-ES'],
        authorization_encryption_enc_values_supported: ['A128GCM', 'A256GCM'],
      },
    } : undefined,
  })
  const submit = () => client.submitOpenid4vpAuthorizationResponse({
    authorizationRequestPayload: request,
    authorizationResponsePayload: created.authorizationResponsePayload,
    jarm: created.jarm ? { responseJwt: created.jarm.responseJwt } : undefined,
  })
  let { response } = await submit()
  if (tamper.submitTwice && response.ok) ({ response } = await submit())
  const text = await response.text()
  let body
  try { body = JSON.parse(text) } catch { body = text }
  say({ ok: response.ok, stage: 'response', status: response.status, body,
        request: { client_id: request.client_id, response_mode: request.response_mode, claims, vct: query.meta.vct_values,
                   encrypted: isEncrypted } })
}

main().catch((error) => {
  say({ ok: false, stage: 'wallet', error: String(error?.stack ?? error), body: error?.errorResponse ?? null })
  process.exitCode = 1
}).finally(() => process.stdin.destroy())
