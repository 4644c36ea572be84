// Independent VC-JWT check with IOTA Identity: stdin {"jwt": "...", "issuerDocument": {...DID document...}}
// prints {"verified": true, "credential": {...}} or {"verified": false, "error": "..."}.
// With "skipUnsupportedStatus": true, status types IOTA Identity does not implement (BitstringStatusListEntry) are
// left to the caller instead of failing the validation; the portal's own verifier checks those lists.
import {createRequire} from 'node:module';
import {readJsonFromStdin} from './read_stdin.mjs';

const require = createRequire(import.meta.url);
const identity = require('@iota/identity-wasm/node');

const request = await readJsonFromStdin();
let result;
try {
  const validator = new identity.JwtCredentialValidator(new identity.EdDSAJwsVerifier());
  const decoded = validator.validate(
    new identity.Jwt(request.jwt),
    identity.CoreDocument.fromJSON(request.issuerDocument),
    new identity.JwtCredentialValidationOptions(
      request.skipUnsupportedStatus ? {status: identity.StatusCheck.SkipUnsupported} : {},
    ),
    identity.FailFast.FirstError,
  );
  result = {verified: true, credential: decoded.credential().toJSON()};
} catch (error) {
  result = {verified: false, error: String(error && error.message ? error.message : error)};
}
process.stdout.write(JSON.stringify(result) + '\n');
