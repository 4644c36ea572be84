// Independent Data Integrity (eddsa-jcs-2022) check with Digital Bazaar's libraries and no network:
// stdin {"credential": {...}, "documents": {"<DID or status list URL>": {...}}}
// prints {"verified": true|false, "error": "..."}. Contexts come from the npm context packages; DID documents
// and status list credentials from "documents". Status bits are checked here too (Bitstring Status List v1.0).
import {gunzipSync} from 'node:zlib';
import {contexts as credentialsContexts} from '@digitalbazaar/credentials-context';
import dataIntegrityContext from '@digitalbazaar/data-integrity-context';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {createVerifyCryptosuite} from '@digitalbazaar/eddsa-jcs-2022-cryptosuite';
import * as vc from '@digitalbazaar/vc';
import {readJsonFromStdin} from './read_stdin.mjs';

const request = await readJsonFromStdin();
const documents = request.documents || {};
const staticContexts = new Map([...credentialsContexts, ...dataIntegrityContext.contexts]);

async function documentLoader(url) {
  if (staticContexts.has(url)) {
    return {contextUrl: null, documentUrl: url, document: staticContexts.get(url)};
  }
  const [base, fragment] = url.split('#');
  const document = documents[base];
  if (document === undefined) {
    throw new Error(`no local document for ${url}`);
  }
  if (fragment === undefined || !base.startsWith('did:')) {
    return {contextUrl: null, documentUrl: url, document};
  }
  const method = (document.verificationMethod || []).find(entry => entry.id === url);
  if (method === undefined) {
    throw new Error(`no verification method ${url}`);
  }
  return {contextUrl: null, documentUrl: url, document: {'@context': document['@context'], ...method}};
}

async function checkStatus({credential}) {
  const entries = [].concat(credential.credentialStatus || []);
  for (const entry of entries) {
    const list = documents[entry.statusListCredential];
    if (list === undefined) {
      return {verified: false, error: new Error(`no status list ${entry.statusListCredential}`)};
    }
    const bits = gunzipSync(Buffer.from(list.credentialSubject.encodedList.slice(1), 'base64url'));
    const index = Number(entry.statusListIndex);
    if (bits[Math.floor(index / 8)] & (0x80 >> (index % 8))) {
      return {verified: false, error: new Error(`${entry.statusPurpose} bit ${index} is set`)};
    }
  }
  return {verified: true};
}

const suite = new DataIntegrityProof({cryptosuite: createVerifyCryptosuite()});
const outcome = await vc.verifyCredential({credential: request.credential, suite, documentLoader, checkStatus});
const error = outcome.error || (outcome.statusResult && outcome.statusResult.error) ||
  (outcome.results || []).map(result => result.error).find(Boolean);
const message = error ? String(error.errors ? error.errors.map(item => item.message) : error.message || error) : '';
process.stdout.write(JSON.stringify({verified: outcome.verified === true, error: message}) + '\n');
