/*
 * DCQL (OpenID4VP 1.0 section 6): which stored credentials answer a query, and which claims each must disclose.
 * Supported: credential queries of format dc+sd-jwt with meta.vct_values, claims by path (the first path element
 * names a selectively disclosable claim; deeper elements must exist in its value), claim_sets (the first that the
 * credential satisfies), and credential_sets (each required set needs one option whose queries all match).
 */
import { WalletError } from "./encoding.js";

const FORMAT = "dc+sd-jwt";

function valueAt(value, path) {
  let current = value;
  for (const step of path) {
    if (current === null || typeof current !== "object" || !(step in current)) return undefined;
    current = current[step];
  }
  return current;
}

/** Claims ({id, path, values}) of the query that the credential's claims satisfy, or null. */
function claimsMatched(query, claims) {
  const all = query.claims || [];
  const satisfied = function (claim) {
    if (!Array.isArray(claim.path) || claim.path.length === 0 || typeof claim.path[0] !== "string") return false;
    const value = valueAt(claims, claim.path);
    if (value === undefined) return false;
    return !Array.isArray(claim.values) || claim.values.some(function (allowed) { return allowed === value; });
  };
  if (!query.claim_sets) return all.every(satisfied) ? all : null;
  for (const set of query.claim_sets) {
    const chosen = set.map(function (id) { return all.find(function (claim) { return claim.id === id; }); });
    if (chosen.every(function (claim) { return claim && satisfied(claim); })) return chosen;
  }
  return null;
}

/** The first stored credential that answers one credential query: {query, entry, claims}. */
function answer(query, entries, claimsOf) {
  if (query.format !== FORMAT) return null;
  const vcts = (query.meta && query.meta.vct_values) || null;
  for (const entry of entries) {
    if (entry.format !== FORMAT) continue;
    if (vcts && vcts.indexOf(entry.vct) < 0) continue;
    const claims = claimsMatched(query, claimsOf(entry));
    if (claims) return { query: query, entry: entry, claims: claims };
  }
  return null;
}

/**
 * Match a DCQL query against the wallet's entries ({format, vct, credential}); `claimsOf(entry)` gives the claims a
 * presentation could reveal. Returns [{query, entry, claims}] to present, or throws WalletError("dcql_unsatisfied").
 */
export function dcqlMatch(dcql, entries, claimsOf) {
  if (!dcql || !Array.isArray(dcql.credentials) || dcql.credentials.length === 0) {
    throw new WalletError("request_invalid", "no dcql_query.credentials");
  }
  const answers = {};
  dcql.credentials.forEach(function (query) { answers[query.id] = answer(query, entries, claimsOf); });
  let needed;
  if (!dcql.credential_sets) {
    needed = dcql.credentials.map(function (query) { return query.id; });
  } else {
    needed = [];
    for (const set of dcql.credential_sets) {
      const option = set.options.find(function (ids) { return ids.every(function (id) { return answers[id]; }); });
      if (option) needed.push(...option);
      else if (set.required !== false) throw new WalletError("dcql_unsatisfied", "no option of a required set");
    }
  }
  const chosen = needed.map(function (id) { return answers[id]; });
  if (chosen.some(function (item) { return !item; })) throw new WalletError("dcql_unsatisfied", "a credential is missing");
  return chosen;
}
