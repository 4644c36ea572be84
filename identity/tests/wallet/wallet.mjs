// An independent OpenID4VCI holder: the OpenWallet Foundation's @openid4vc libraries with node:crypto keys.
// Reads one JSON line on stdin: {flow, offer, txCode?, clientId?, redirectUri?, caPem, proofOverride?}.
// For the authorization code flow it writes {"step":"authorize","url":...} and reads {"redirect": url} back.
// Ends with one JSON line: {"ok":true, credential, holderJwk, holderPrivateJwk, verified} (the private JWK lets
// present.mjs, a second process of the same test wallet, sign key-binding JWTs) or {"ok":false, error, status, body}.
import { createHash, generateKeyPairSync, randomBytes, sign, X509Certificate, createPublicKey, verify } from 'node:crypto'
import { createInterface } from 'node:readline'
import { Openid4vciClient } from '@openid4vc/openid4vci'
import { clientAuthenticationNone, setGlobalConfig } from '@openid4vc/oauth2'
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc'
import { digest as sdDigest } from '@sd-jwt/crypto-nodejs'

setGlobalConfig({ allowInsecureUrls: true }) // the test server is http://localhost

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]()
const readJson = async () => JSON.parse((await lines.next()).value)
const say = (value) => process.stdout.write(JSON.stringify(value) + '\n')
const b64url = (buffer) => Buffer.from(buffer).toString('base64url')

const holder = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const holderJwk = holder.publicKey.export({ format: 'jwk' })
const other = generateKeyPairSync('ec', { namedCurve: 'P-256' })

function signEs256(privateKey, header, payload) {
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`
  const signature = sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' })
  return `${input}.${b64url(signature)}`
}

const callbacks = {
  hash: (data, alg) => new Uint8Array(createHash(alg.replace('-', '')).update(data).digest()),
  generateRandom: (length) => new Uint8Array(randomBytes(length)),
  clientAuthentication: () => {},
  signJwt: async (signer, { header, payload }) => {
    if (signer.method !== 'jwk') throw new Error(`unsupported signer ${signer.method}`)
    return { jwt: signEs256(holder.privateKey, header, payload), signerJwk: signer.publicJwk }
  },
}

async function main() {
  const request = await readJson()
  callbacks.clientAuthentication = clientAuthenticationNone({ clientId: request.clientId ?? 'finlab-test-wallet' })
  const client = new Openid4vciClient({ callbacks })
  const offer = await client.resolveCredentialOffer(request.offer)
  const issuerMetadata = await client.resolveIssuerMetadata(offer.credential_issuer)
  const configurationId = offer.credential_configuration_ids[0]
  let accessTokenResponse
  if (request.flow === 'pre-authorized') {
    ;({ accessTokenResponse } = await client.retrievePreAuthorizedCodeAccessTokenFromOffer({
      credentialOffer: offer, issuerMetadata, txCode: request.txCode,
    }))
  } else {
    const { authorizationRequestUrl, pkce } = await client.createAuthorizationRequestUrlFromOffer({
      credentialOffer: offer, issuerMetadata, clientId: request.clientId, redirectUri: request.redirectUri,
      scope: issuerMetadata.credentialIssuer.credential_configurations_supported[configurationId].scope,
    })
    say({ step: 'authorize', url: authorizationRequestUrl })
    const { redirect } = await readJson()
    const response = client.parseAndVerifyAuthorizationResponseRedirectUrl({
      url: redirect, authorizationServerMetadata: issuerMetadata.authorizationServers[0],
    })
    if (!response.code) throw new Error(`authorization refused: ${response.error}`)
    ;({ accessTokenResponse } = await client.retrieveAuthorizationCodeAccessTokenFromOffer({
      credentialOffer: offer, issuerMetadata, authorizationCode: response.code,
      pkceCodeVerifier: request.pkceVerifierOverride ?? pkce.codeVerifier, redirectUri: request.redirectUri,
    }))
  }
  const { c_nonce: nonce } = await client.requestNonce({ issuerMetadata })
  const { jwt } = await client.createCredentialRequestJwtProof({
    issuerMetadata, credentialConfigurationId: configurationId, nonce,
    signer: { method: 'jwk', alg: 'ES256', publicJwk: holderJwk },
  })
  const credentialResponse = await client.retrieveCredentials({
    issuerMetadata, credentialConfigurationId: configurationId, accessToken: accessTokenResponse.access_token,
    proofs: { jwt: [jwt] },
  })
  const credential = credentialResponse.credentialResponse.credentials[0].credential
  say({ ok: true, credential, holderJwk, holderPrivateJwk: holder.privateKey.export({ format: 'jwk' }), verified: await verifyIssuer(credential, request.caPem), proofJwt: jwt,
        accessToken: accessTokenResponse.access_token, otherKeyProof: signWithOtherKey(jwt) })
}

// A copy of the wallet's proof with another key's signature but the wallet's jwk in the header.
function signWithOtherKey(jwt) {
  const [header, payload] = jwt.split('.').slice(0, 2).map((part) => JSON.parse(Buffer.from(part, 'base64url')))
  return signEs256(other.privateKey, header, payload)
}

// The issuer's signature checked with @sd-jwt/sd-jwt-vc, the x5c leaf checked to chain to the portal CA.
async function verifyIssuer(credential, caPem) {
  const header = JSON.parse(Buffer.from(credential.split('.')[0], 'base64url'))
  if (!header.x5c) {
    // a demo issuer's credential names its key by a DID URL (kid); the portal's verifier resolves it when presented
    return { header, claims: JSON.parse(Buffer.from(credential.split('.')[1], 'base64url')), leafSubject: null }
  }
  const leaf = new X509Certificate(Buffer.from(header.x5c[0], 'base64'))
  const ca = new X509Certificate(caPem)
  if (!leaf.verify(ca.publicKey) || !leaf.checkIssued(ca)) throw new Error('x5c leaf is not issued by the portal CA')
  const verifier = async (data, signature) =>
    verify('sha256', Buffer.from(data), { key: leaf.publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(signature, 'base64url'))
  const instance = new SDJwtVcInstance({ verifier, hasher: sdDigest, loadTypeMetadataFormat: false })
  const result = await instance.verify(credential)
  return { header: result.header, claims: result.payload, leafSubject: leaf.subject }
}

main().catch((error) => {
  say({ ok: false, error: String(error?.message ?? error), status: error?.response?.status,
        body: error?.errorResponse ?? error?.response?.body ?? null })
  process.exitCode = 1
}).finally(() => process.stdin.destroy())
