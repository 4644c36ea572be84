/*
 * The wallet page's protocol parts: a credential offer (OpenID4VCI), the authorization response that ends the
 * authorization code flow (?code=&state=&iss=, or ?error=) or a presentation request (OpenID4VP) that arrived in the
 * page's query; "Add a credential" (the authorization code flow started here); and the encrypted backup. The vault
 * itself (passphrase, IndexedDB, keys) belongs to ../wallet.js (window.FinLabWallet); this module asks it for keys
 * and entries once the customer has opened it.
 * Sentences come from the page (#wallet-messages, in the user's language); trusted CAs from #wallet-trust-anchors.
 */
import { WalletError } from "./encoding.js";
import {
  AUTHORIZATION_CODE_GRANT, PRE_AUTHORIZED_GRANT, offerFromQuery, offerGrant, issuerDescribe, issuerConfigurations,
  offerAccept, configurationDisplay, authorizationStart, isAuthorizationResponse, authorizationResponse,
  authorizationCodeExchange, authorizedAccept,
} from "./openid4vci.js";
import { requestFromQuery, requestObjectFetch, requestObjectVerify, responseSend, refusalSend } from "./openid4vp.js";
import { sdJwtCheckReceived, sdJwtClaims, sdJwtParse, sdJwtPresent } from "./sdjwt.js";
import { dcqlMatch } from "./dcql.js";
import { privateKeyImport, publicJwk } from "./jose.js";
import { certificateFromBase64 } from "./x509.js";
import { backupEncrypt, backupDecrypt } from "./backup.js";

const wallet = () => window.FinLabWallet;
const byId = (id) => document.getElementById(id);
const messages = JSON.parse(byId("wallet-messages").textContent);
const anchors = JSON.parse(byId("wallet-trust-anchors").textContent).map(certificateFromBase64);
const language = byId("wallet").dataset.language || "en";
// the wallet's registration as a public client of the portal's authorization server (rendered by the page)
const client = {
  issuer: byId("wallet").dataset.credentialIssuer,
  clientId: byId("wallet").dataset.clientId,
  redirectUri: byId("wallet").dataset.redirectUri,
};

function say(element, sentence) {
  element.textContent = sentence || "";
  element.hidden = !sentence;
}

/** The sentence for a failure: the wallet's own code if it has one, a general one otherwise (detail to console). */
function sentence(failure) {
  if (failure instanceof WalletError && messages[failure.code]) {
    if (failure.code === "response_refused") return messages.response_refused + " " + failure.message;
    return messages[failure.code];
  }
  console.error(failure); // eslint-disable-line no-console
  return messages.failed;
}

/** Run `action` when the wallet is open (now, or when the customer opens it). */
function whenUnlocked(action) {
  const run = function () {
    document.querySelectorAll("[data-wallet-needs-unlock]").forEach(function (hint) { hint.hidden = true; });
    action();
  };
  if (wallet() && wallet().isUnlocked()) run();
  else document.addEventListener("finlab-wallet:unlocked", run, { once: true });
}

function claimList(element, rows) {
  element.textContent = "";
  rows.forEach(function (row) {
    const term = document.createElement("dt");
    term.textContent = row.label;
    const value = document.createElement("dd");
    value.textContent = row.value;
    element.append(term, value);
  });
  element.hidden = rows.length === 0;
}

/** Drop the offer or request from the address bar: a reload must not try a spent code or answer twice. */
function forgetQuery() {
  window.history.replaceState(null, "", window.location.pathname);
}

// --- credential offers -------------------------------------------------------------------------------------------
async function holderForIssuance() {
  const key = await wallet().holderKey();
  return { keyId: key.keyId, privateKey: await privateKeyImport(key.privateJwk), publicJwk: publicJwk(key.privateJwk) };
}

async function storeReceived(received, described, holder) {
  const display = configurationDisplay(received.configuration, language);
  const parsed = await sdJwtCheckReceived(received.credential, { anchors: anchors, holderJwk: holder.publicJwk, now: new Date() });
  const entry = {
    id: parsed.payload.jti || "urn:uuid:" + crypto.randomUUID(),
    format: "dc+sd-jwt",
    type: received.configurationId,
    vct: parsed.payload.vct,
    issuer: described.issuer,
    credential: received.credential,
    keyId: holder.keyId,
    display: display,
    receivedAt: new Date().toISOString(),
  };
  await wallet().credentialAdd(entry);
  return entry;
}

function showStored(stored) {
  say(byId("wallet-offer-status"), messages.stored + " " + stored.map(function (entry) { return entry.display.name; }).join(", "));
  const claims = sdJwtClaims(stored[0].credential);
  claimList(byId("wallet-offer-claims"), Object.keys(claims).map(function (name) {
    return { label: stored[0].display.labels[name] || name, value: wallet().claimText(claims[name]) };
  }));
}

function offerSummary(described) {
  const names = described.configurations.map(function (item) { return configurationDisplay(item.configuration, language).name; });
  const issuerName = ((described.metadata.display || [])[0] || {}).name || new URL(described.issuer).host;
  byId("wallet-offer-summary").textContent = issuerName + ": " + names.join(", ");
}

function unlockHintsHide(section) {
  section.querySelectorAll("[data-wallet-needs-unlock]").forEach(function (hint) { hint.hidden = true; });
}

/** Send the customer to the issuer's authorization endpoint (the flow goes on in authorizationReturn). */
async function authorizationGo(described, issuerState) {
  const url = await authorizationStart({
    described: described, clientId: client.clientId, redirectUri: client.redirectUri, issuerState: issuerState,
  });
  forgetQuery();
  window.location.assign(url);
}

async function offerBegin(params) {
  const card = byId("wallet-offer");
  const error = byId("wallet-offer-error");
  const button = byId("wallet-offer-accept");
  card.hidden = false;
  let offer;
  let described;
  let grantType;
  try {
    offer = await offerFromQuery(params);
    grantType = offerGrant(offer);
    described = await issuerDescribe(offer);
  } catch (failure) {
    say(error, sentence(failure));
    return;
  }
  offerSummary(described);
  if (grantType === AUTHORIZATION_CODE_GRANT) {
    // the key is needed only when the credential comes back, after the customer confirmed at the issuer
    byId("wallet-offer-authorization").hidden = false;
    unlockHintsHide(card);
    button.disabled = false;
    button.addEventListener("click", async function () {
      say(error, "");
      button.disabled = true;
      try {
        await authorizationGo(described, offer.grants[AUTHORIZATION_CODE_GRANT].issuer_state);
      } catch (failure) {
        say(error, sentence(failure));
        button.disabled = false;
      }
    });
    return;
  }
  const grant = offer.grants[PRE_AUTHORIZED_GRANT];
  const pin = byId("wallet-offer-pin");
  if (grant.tx_code) {
    byId("wallet-offer-pin-field").hidden = false;
    if (grant.tx_code.input_mode !== "text") pin.inputMode = "numeric";
    if (grant.tx_code.length) pin.maxLength = grant.tx_code.length;
  }
  whenUnlocked(function () { button.disabled = false; });
  button.addEventListener("click", async function () {
    say(error, "");
    button.disabled = true;
    try {
      const holder = await holderForIssuance();
      const received = await offerAccept({ offer: offer, described: described, txCode: pin.value.trim(), holder: holder });
      const stored = [];
      for (const item of received) stored.push(await storeReceived(item, described, holder));
      forgetQuery();
      byId("wallet-offer-pin-field").hidden = true;
      showStored(stored);
    } catch (failure) {
      say(error, sentence(failure));
      // a wrong PIN may be tried again; every other failure spent or refused the offer
      button.disabled = !(failure instanceof WalletError && failure.code.startsWith("tx_code"));
    }
  });
}

/**
 * Back from the authorization endpoint with ?code=&state=&iss= (or ?error=): check the state, spend the code at
 * once (it lives a minute), then receive and store the credential when the wallet is open.
 */
async function authorizationReturn(params) {
  const card = byId("wallet-offer");
  const error = byId("wallet-offer-error");
  card.hidden = false;
  byId("wallet-offer-accept").parentElement.hidden = true; // nothing to press: the customer allowed at the issuer
  let described;
  let accessToken;
  try {
    const answer = authorizationResponse(params);
    forgetQuery(); // the code is spent below: a reload must not try it again
    described = await issuerDescribe({
      credential_issuer: answer.flow.issuer, credential_configuration_ids: answer.flow.configurationIds,
    });
    offerSummary(described);
    accessToken = await authorizationCodeExchange({ described: described, flow: answer.flow, code: answer.code });
  } catch (failure) {
    forgetQuery();
    unlockHintsHide(card);
    say(error, sentence(failure));
    return;
  }
  say(byId("wallet-offer-status"), messages.authorized);
  whenUnlocked(async function () {
    try {
      const holder = await holderForIssuance();
      const received = await authorizedAccept({ described: described, accessToken: accessToken, holder: holder });
      const stored = [];
      for (const item of received) stored.push(await storeReceived(item, described, holder));
      showStored(stored);
    } catch (failure) {
      say(byId("wallet-offer-status"), "");
      say(error, sentence(failure));
    }
  });
}

/** "Add a credential": issuance started from the wallet, for a configuration the issuer's metadata lists. */
async function addBind() {
  const card = byId("wallet-add");
  const select = byId("wallet-add-configuration");
  const button = byId("wallet-add-start");
  const error = byId("wallet-add-error");
  document.addEventListener("finlab-wallet:unlocked", function () { card.hidden = false; });
  byId("wallet-lock-button").addEventListener("click", function () { card.hidden = true; });
  try {
    (await issuerConfigurations(client.issuer)).forEach(function (item) {
      const option = document.createElement("option");
      option.value = item.id;
      option.textContent = configurationDisplay(item.configuration, language).name || item.id;
      select.appendChild(option);
    });
  } catch (failure) {
    say(error, sentence(failure));
    return;
  }
  button.disabled = select.options.length === 0;
  button.addEventListener("click", async function () {
    say(error, "");
    button.disabled = true;
    try {
      const described = await issuerDescribe({
        credential_issuer: client.issuer, credential_configuration_ids: [select.value],
      });
      await authorizationGo(described, undefined);
    } catch (failure) {
      say(error, sentence(failure));
      button.disabled = false;
    }
  });
}

// --- presentation requests ---------------------------------------------------------------------------------------
function claimsOf(entry) {
  return sdJwtClaims(entry.credential);
}

function consentRows(matches) {
  const rows = [];
  matches.forEach(function (match) {
    const claims = claimsOf(match.entry);
    const labels = (match.entry.display && match.entry.display.labels) || {};
    match.claims.forEach(function (claim) {
      const name = claim.path[0];
      rows.push({ label: labels[name] || name, value: wallet().claimText(claims[name]) });
    });
  });
  return rows;
}

async function presentationsBuild(matches, payload) {
  const vpToken = {};
  for (const match of matches) {
    const privateKey = await privateKeyImport(wallet().privateJwk(match.entry.keyId));
    const claimNames = match.claims.map(function (claim) { return claim.path[0]; });
    const presentation = await sdJwtPresent(match.entry.credential, {
      claimNames: claimNames, audience: payload.client_id, nonce: payload.nonce, privateKey: privateKey,
    });
    vpToken[match.query.id] = [presentation];
  }
  return vpToken;
}

function verifierText(checked) {
  // The certificate's organisation is checked against the portal CA; the request's client_name is only what the
  // request says of itself, so it is shown only when the certificate names no organisation.
  const who = checked.verifier.organisation || checked.verifier.commonName || checked.verifier.name;
  return messages.asked_by + ": " + who + " (" + messages.checked_domain + " " + checked.host + ")";
}

async function requestBegin(params) {
  const card = byId("wallet-request");
  const refused = byId("wallet-request-refused");
  const error = byId("wallet-request-error");
  const share = byId("wallet-request-share");
  const refuse = byId("wallet-request-refuse");
  card.hidden = false;
  let checked;
  try {
    const reference = requestFromQuery(params);
    const token = await requestObjectFetch(reference);
    checked = await requestObjectVerify(token, { clientId: reference.clientId, anchors: anchors, now: new Date() });
  } catch (failure) {
    say(refused, sentence(failure)); // refused before anything was shown or sent
    document.querySelectorAll("#wallet-request [data-wallet-needs-unlock]").forEach(function (hint) { hint.hidden = true; });
    return;
  }
  say(byId("wallet-request-verifier"), verifierText(checked));
  byId("wallet-request-details").hidden = false;
  const finish = function (text) {
    forgetQuery();
    share.disabled = true;
    refuse.disabled = true;
    say(byId("wallet-request-status"), text);
  };
  let matches = null;
  const match = function () {
    say(error, "");
    refuse.disabled = false;
    const usable = wallet().entries().filter(function (entry) { return entry.format === "dc+sd-jwt" && entry.keyId; });
    usable.forEach(function (entry) { entry.vct = entry.vct || sdJwtParse(entry.credential).payload.vct; });
    try {
      matches = dcqlMatch(checked.payload.dcql_query, usable, claimsOf);
    } catch (failure) {
      say(error, sentence(failure));
      return;
    }
    claimList(byId("wallet-request-claims"), consentRows(matches));
    share.disabled = false;
  };
  whenUnlocked(match);
  document.addEventListener("finlab-wallet:restored", match); // a backup imported here may hold what is asked
  share.addEventListener("click", async function () {
    say(error, "");
    share.disabled = true;
    refuse.disabled = true;
    try {
      const redirect = await responseSend(checked.payload, await presentationsBuild(matches, checked.payload));
      finish(messages.sent);
      if (redirect && /^https?:/.test(new URL(redirect, window.location.href).protocol)) window.location.assign(redirect);
    } catch (failure) {
      say(error, sentence(failure));
      refuse.disabled = false;
    }
  });
  refuse.addEventListener("click", async function () {
    say(error, "");
    refuse.disabled = true;
    share.disabled = true;
    try {
      const redirect = await refusalSend(checked.payload);
      finish(messages.refusal_sent);
      if (redirect && /^https?:/.test(new URL(redirect, window.location.href).protocol)) window.location.assign(redirect);
    } catch (failure) {
      say(error, sentence(failure));
    }
  });
}

// --- backups -----------------------------------------------------------------------------------------------------
function backupBind() {
  const card = byId("wallet-backup");
  const error = byId("wallet-backup-error");
  const status = byId("wallet-backup-status");
  document.addEventListener("finlab-wallet:unlocked", function () { card.hidden = false; });
  byId("wallet-lock-button").addEventListener("click", function () { card.hidden = true; });
  byId("wallet-backup-export").addEventListener("click", async function () {
    say(error, "");
    say(status, "");
    try {
      const passphrase = byId("wallet-backup-passphrase");
      const text = await backupEncrypt(wallet().snapshot(), passphrase.value);
      passphrase.value = "";
      const link = document.createElement("a");
      link.href = URL.createObjectURL(new Blob([text], { type: "application/json" }));
      link.download = "finlab-wallet-backup-" + new Date().toISOString().slice(0, 10) + ".json";
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(function () { URL.revokeObjectURL(link.href); }, 1000);
      say(status, messages.backup_exported);
    } catch (failure) {
      say(error, sentence(failure));
    }
  });
  byId("wallet-backup-import").addEventListener("click", async function () {
    say(error, "");
    say(status, "");
    const file = byId("wallet-backup-file").files[0];
    if (!file) {
      say(error, messages.backup_choose_file);
      return;
    }
    try {
      const passphrase = byId("wallet-backup-import-passphrase");
      const vault = await backupDecrypt(await file.text(), passphrase.value);
      await wallet().restore(vault);
      passphrase.value = "";
      say(status, messages.backup_imported);
      document.dispatchEvent(new CustomEvent("finlab-wallet:restored"));
    } catch (failure) {
      say(error, failure instanceof WalletError ? sentence(failure) : failure.message);
    }
  });
}

// --- start -------------------------------------------------------------------------------------------------------
const params = new URLSearchParams(window.location.search);
backupBind();
addBind();
if (isAuthorizationResponse(params)) authorizationReturn(params);
else if (params.has("credential_offer") || params.has("credential_offer_uri")) offerBegin(params);
else if (params.has("request_uri") || params.has("client_id")) requestBegin(params);
