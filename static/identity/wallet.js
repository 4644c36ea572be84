/*
 * FinLab browser wallet. The customer's credentials and wallet key live here, never on the portal's servers.
 *
 * Storage: one IndexedDB record per portal user ("finlab-wallet" / "vaults" / "user-<id>") holding
 * {salt, iv, ciphertext}: AES-256-GCM over the JSON vault, under a key derived from the passphrase with PBKDF2
 * (SHA-256, 600,000 iterations, 16-byte random salt). The wallet key is an Ed25519 key made with WebCrypto; its
 * public half is the wallet's did:key. Presentations use SD-JWT VC with a key-binding JWT (RFC 9901).
 * Credentials received over OpenID4VCI (format dc+sd-jwt) are bound to P-256 holder keys, kept as private JWKs in
 * vault.keys under their RFC 7638 thumbprint; each such entry names its key (keyId). The protocol pages
 * (static/identity/wallet/*.js, ES modules) use the functions below; they never see the passphrase.
 *
 * Public API for other pages (for example the credit check): window.FinLabWallet
 *   unlock(passphrase) -> Promise<void>
 *   isUnlocked() -> boolean
 *   holderDid() -> string
 *   list() -> [{id, type, format, receivedAt, disclosable: [names]}]
 *   disclosableClaims(credentialId) -> {name: value}    (what a presentation could reveal, for the consent screen)
 *   present({credentialId, disclose, challenge, domain}) -> Promise<string>   (SD-JWT + KB-JWT)
 *   holderKey() -> Promise<{keyId, privateJwk}>       (the P-256 key for new OpenID4VCI credentials, made once)
 *   privateJwk(keyId) -> JWK                           (the key an entry names, for a key-binding JWT)
 *   entries() -> [entry]                               (stored entries, credentials included)
 *   credentialAdd(entry) -> Promise<void>              (store and show a received credential)
 *   snapshot() -> vault                                (for an encrypted backup)
 *   restore(vault) -> Promise<void>                    (import a backup; nothing changes if it throws)
 * "finlab-wallet:unlocked" is dispatched on document when the wallet opens.
 */
(function () {
  "use strict";

  const DB_NAME = "finlab-wallet";
  const STORE = "vaults";
  const PBKDF2_ITERATIONS = 600000;
  const BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();

  let state = null; // {aesKey, salt, vault, privateKey}

  // --- encodings -------------------------------------------------------------------------------------------
  function b64urlEncode(bytes) {
    let text = "";
    bytes = new Uint8Array(bytes);
    for (let i = 0; i < bytes.length; i += 1) text += String.fromCharCode(bytes[i]);
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function b64urlDecode(text) {
    const padded = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
    const binary = atob(padded);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
    return bytes;
  }

  function base58btc(bytes) {
    const digits = [0];
    for (const byte of bytes) {
      let carry = byte;
      for (let j = 0; j < digits.length; j += 1) {
        carry += digits[j] << 8;
        digits[j] = carry % 58;
        carry = (carry / 58) | 0;
      }
      while (carry) {
        digits.push(carry % 58);
        carry = (carry / 58) | 0;
      }
    }
    let text = "";
    for (let k = 0; k < bytes.length && bytes[k] === 0; k += 1) text += "1";
    for (let q = digits.length - 1; q >= 0; q -= 1) text += BASE58[digits[q]];
    return text;
  }

  async function sha256(text) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
  }

  // --- storage ---------------------------------------------------------------------------------------------
  function openDatabase() {
    return new Promise(function (resolve, reject) {
      const request = indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = function () { request.result.createObjectStore(STORE); };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  async function storeRequest(mode, operation) {
    const database = await openDatabase();
    return new Promise(function (resolve, reject) {
      const request = operation(database.transaction(STORE, mode).objectStore(STORE));
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  function vaultKeyName() {
    return "user-" + document.getElementById("wallet").dataset.scope;
  }

  async function deriveKey(passphrase, salt) {
    const material = await crypto.subtle.importKey("raw", encoder.encode(passphrase), "PBKDF2", false, ["deriveKey"]);
    return crypto.subtle.deriveKey(
      { name: "PBKDF2", hash: "SHA-256", salt: salt, iterations: PBKDF2_ITERATIONS },
      material, { name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]
    );
  }

  async function saveVault() {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const plaintext = encoder.encode(JSON.stringify(state.vault));
    const ciphertext = await crypto.subtle.encrypt({ name: "AES-GCM", iv: iv }, state.aesKey, plaintext);
    const record = { salt: state.salt, iv: iv, ciphertext: new Uint8Array(ciphertext), version: 1 };
    await storeRequest("readwrite", function (store) { return store.put(record, vaultKeyName()); });
  }

  async function newVault() {
    const keyPair = await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]);
    const publicRaw = new Uint8Array(await crypto.subtle.exportKey("raw", keyPair.publicKey));
    const multicodec = new Uint8Array(2 + publicRaw.length);
    multicodec.set([0xed, 0x01]);
    multicodec.set(publicRaw, 2);
    const privateJwk = await crypto.subtle.exportKey("jwk", keyPair.privateKey);
    return { holderDid: "did:key:z" + base58btc(multicodec), holderKey: privateJwk, credentials: [], keys: {} };
  }

  async function unlock(passphrase) {
    if (!passphrase || passphrase.length < 10) throw new Error(text("ShortPassphrase", "Use a passphrase of at least 10 characters."));
    const record = await storeRequest("readonly", function (store) { return store.get(vaultKeyName()); });
    const salt = record ? record.salt : crypto.getRandomValues(new Uint8Array(16));
    const aesKey = await deriveKey(passphrase, salt);
    let vault;
    if (record) {
      try {
        const plaintext = await crypto.subtle.decrypt({ name: "AES-GCM", iv: record.iv }, aesKey, record.ciphertext);
        vault = JSON.parse(decoder.decode(plaintext));
      } catch (error) {
        throw new Error(text("WrongPassphrase", "This passphrase does not open the wallet."));
      }
    } else {
      vault = await newVault();
    }
    vault.keys = vault.keys || {}; // vaults made before OpenID4VCI have no P-256 keys yet
    const privateKey = await crypto.subtle.importKey("jwk", vault.holderKey, { name: "Ed25519" }, false, ["sign"]);
    state = { aesKey: aesKey, salt: salt, vault: vault, privateKey: privateKey };
    if (!record) await saveVault();
    document.dispatchEvent(new CustomEvent("finlab-wallet:unlocked"));
  }

  function lock() {
    state = null;
  }

  function requireUnlocked() {
    if (!state) throw new Error(text("Locked", "Open the wallet first."));
    return state;
  }

  // --- credentials -----------------------------------------------------------------------------------------
  function sdJwtDisclosures(credential) {
    return credential.split("~").slice(1, -1).map(function (part) {
      const decoded = JSON.parse(decoder.decode(b64urlDecode(part)));
      return { encoded: part, name: decoded[1], value: decoded[2] };
    });
  }

  function isSdJwt(entry) {
    return entry.format === "sd-jwt" || entry.format === "dc+sd-jwt";
  }

  function credentialType(entry) {
    if (entry.format === "sd-jwt") {
      const payload = JSON.parse(decoder.decode(b64urlDecode(entry.credential.split("~")[0].split(".")[1])));
      return payload.vct;
    }
    if (entry.format === "vc-jwt") {
      const payload = JSON.parse(decoder.decode(b64urlDecode(entry.credential.split(".")[1])));
      return payload.vc.type[1];
    }
    return entry.credential.type[1];
  }

  function find(credentialId) {
    const entry = requireUnlocked().vault.credentials.find(function (item) { return item.id === credentialId; });
    if (!entry) throw new Error("No such credential in the wallet.");
    return entry;
  }

  function list() {
    return requireUnlocked().vault.credentials.map(function (entry) {
      const disclosable = isSdJwt(entry) ? sdJwtDisclosures(entry.credential).map(function (d) { return d.name; }) : [];
      return {
        id: entry.id, type: entry.type, format: entry.format, receivedAt: entry.receivedAt, disclosable: disclosable,
        name: (entry.display && entry.display.name) || text(entry.type, entry.type),
      };
    });
  }

  function disclosableClaims(credentialId) {
    const entry = find(credentialId);
    if (!isSdJwt(entry)) throw new Error("Only SD-JWT credentials disclose claim by claim.");
    const claims = {};
    sdJwtDisclosures(entry.credential).forEach(function (d) { claims[d.name] = d.value; });
    return claims;
  }

  async function signJwt(header, payload) {
    const input = b64urlEncode(encoder.encode(JSON.stringify(header))) + "." +
      b64urlEncode(encoder.encode(JSON.stringify(payload)));
    const signature = await crypto.subtle.sign({ name: "Ed25519" }, requireUnlocked().privateKey, encoder.encode(input));
    return input + "." + b64urlEncode(signature);
  }

  async function present(request) {
    const entry = find(request.credentialId);
    if (entry.format !== "sd-jwt") throw new Error("Presentations with selective disclosure need an SD-JWT credential.");
    if (!request.challenge || !request.domain) throw new Error("A presentation needs the verifier's challenge and domain.");
    const wanted = new Set(request.disclose || []);
    const disclosures = sdJwtDisclosures(entry.credential);
    const missing = Array.from(wanted).filter(function (name) { return !disclosures.some(function (d) { return d.name === name; }); });
    if (missing.length) throw new Error("The credential has no claim named " + missing.join(", ") + ".");
    const kept = disclosures.filter(function (d) { return wanted.has(d.name); }).map(function (d) { return d.encoded; });
    const presented = [entry.credential.split("~")[0]].concat(kept).map(function (part) { return part + "~"; }).join("");
    const keyBinding = {
      iat: Math.floor(Date.now() / 1000),
      aud: request.domain,
      nonce: request.challenge,
      sd_hash: b64urlEncode(await sha256(presented)),
    };
    return presented + (await signJwt({ alg: "EdDSA", typ: "kb+jwt" }, keyBinding));
  }

  async function requestCredential(kind, format) {
    const root = document.getElementById("wallet");
    const token = root.querySelector("input[name=csrfmiddlewaretoken]").value;
    const response = await fetch(root.dataset.requestUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": token },
      body: JSON.stringify({ kind: kind, holderDid: requireUnlocked().vault.holderDid, format: format }),
    });
    const body = await response.json();
    if (response.status !== 201) throw new Error(body.detail || text("IssuerRefused", "The issuer refused the request."));
    const entry = {
      id: body.credentialId, format: body.format, credential: body.verifiableCredential,
      anchor: body.anchor, receivedAt: new Date().toISOString(),
    };
    entry.type = credentialType(entry);
    state.vault.credentials.push(entry);
    await saveVault();
    return entry;
  }

  // --- holder keys, entries and backups for the protocol pages ------------------------------------------------
  async function jwkThumbprint(jwk) {
    const members = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
    return b64urlEncode(await sha256(members));
  }

  async function holderKey() {
    const vault = requireUnlocked().vault;
    const existing = Object.keys(vault.keys)[0];
    if (existing) return { keyId: existing, privateJwk: vault.keys[existing] };
    const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
    const privateJwk = await crypto.subtle.exportKey("jwk", pair.privateKey);
    const keyId = await jwkThumbprint(privateJwk);
    vault.keys[keyId] = privateJwk;
    await saveVault();
    return { keyId: keyId, privateJwk: privateJwk };
  }

  function privateJwk(keyId) {
    const jwk = requireUnlocked().vault.keys[keyId];
    if (!jwk) throw new Error("The wallet has no key " + keyId + ".");
    return jwk;
  }

  function entries() {
    return requireUnlocked().vault.credentials.slice();
  }

  async function credentialAdd(entry) {
    const vault = requireUnlocked().vault;
    if (entry.keyId && !vault.keys[entry.keyId]) throw new Error("The credential names a key the wallet does not hold.");
    vault.credentials.push(entry);
    await saveVault();
    if (document.getElementById("wallet-credentials")) render();
  }

  function snapshot() {
    return JSON.parse(JSON.stringify(requireUnlocked().vault));
  }

  function isVault(value) {
    return value && typeof value.holderDid === "string" && value.holderKey && typeof value.holderKey === "object" &&
      Array.isArray(value.credentials) && (value.keys === undefined || typeof value.keys === "object") &&
      value.credentials.every(function (entry) { return entry && typeof entry.id === "string" && entry.format; });
  }

  // A backup replaces an empty wallet entirely (its DID, keys and credentials). Into a wallet that already holds
  // credentials it adds the keys and the credentials not there yet, unless some of them are bound to another
  // wallet DID (the older did:key credentials), which the two wallets cannot share: then nothing changes.
  async function restore(imported) {
    const current = requireUnlocked();
    if (!isVault(imported)) throw new Error(text("BackupInvalid", "This file is not a FinLab wallet backup."));
    imported.keys = imported.keys || {};
    let next;
    if (!current.vault.credentials.length) {
      next = imported;
    } else {
      const bound = imported.credentials.some(function (entry) { return !entry.keyId; });
      if (bound && imported.holderDid !== current.vault.holderDid) {
        throw new Error(text("BackupConflict", "This wallet already holds credentials of another wallet. Import the backup into an empty wallet."));
      }
      next = JSON.parse(JSON.stringify(current.vault));
      Object.assign(next.keys, imported.keys);
      const known = new Set(next.credentials.map(function (entry) { return entry.id; }));
      imported.credentials.forEach(function (entry) { if (!known.has(entry.id)) next.credentials.push(entry); });
    }
    const privateKey = await crypto.subtle.importKey("jwk", next.holderKey, { name: "Ed25519" }, false, ["sign"]);
    state = { aesKey: current.aesKey, salt: current.salt, vault: next, privateKey: privateKey };
    await saveVault();
    if (document.getElementById("wallet-credentials")) openView();
  }

  function download(credentialId) {
    const entry = find(credentialId);
    const isText = typeof entry.credential === "string";
    const extension = { "sd-jwt": "sd-jwt", "dc+sd-jwt": "sd-jwt", "vc-jwt": "jwt", "data-integrity": "json" }[entry.format];
    const content = isText ? entry.credential : JSON.stringify(entry.credential, null, 2);
    const blob = new Blob([content], { type: isText ? "text/plain" : "application/vc+ld+json" });
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = entry.type + "-" + entry.id.slice(-12) + "." + extension;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(function () { URL.revokeObjectURL(link.href); }, 1000);
  }

  // --- page ------------------------------------------------------------------------------------------------
  function show(element, text) {
    element.textContent = text;
    element.hidden = !text;
  }

  // Words and formats of the page's language come from data attributes of #wallet (data-text-*, data-language,
  // data-time-zone); pages without them (or an unknown key) get the English text given here.
  function text(key, fallback) {
    const root = document.getElementById("wallet");
    return (root && root.dataset["text" + key]) || fallback;
  }

  // A moment in the user's zone and language with the zone named: "6 Dec 2026, 14:05 CET" / "06.12.2026, 14:05 MEZ".
  function formatMoment(iso) {
    const root = document.getElementById("wallet");
    const language = (root && root.dataset.language) || "en";
    const zone = root && root.dataset.timeZone;
    const formatter = new Intl.DateTimeFormat(language === "de" ? "de-DE" : "en-GB", {
      year: "numeric", month: language === "de" ? "2-digit" : "short", day: "2-digit",
      hour: "2-digit", minute: "2-digit", hour12: false, timeZone: zone || undefined, timeZoneName: "short",
    });
    return formatter.format(new Date(iso));
  }

  // An amount claim ({amountMinor, currency}) in the page's language: "650,00 €" / "€650.00".
  function formatMoney(amount) {
    const root = document.getElementById("wallet");
    const language = (root && root.dataset.language) === "de" ? "de-DE" : "en-GB";
    try {
      const formatter = new Intl.NumberFormat(language, { style: "currency", currency: amount.currency });
      return formatter.format(amount.amountMinor / Math.pow(10, formatter.resolvedOptions().maximumFractionDigits));
    } catch (error) {
      return amount.amountMinor + " " + amount.currency; // an unknown currency code
    }
  }

  // A claim value for people: lists joined, nothing as a dash, objects (like an amount) as compact JSON.
  function claimText(value) {
    if (Array.isArray(value)) return value.length ? value.map(claimText).join(", ") : "—";
    if (value === null || value === undefined || value === "") return "—";
    if (typeof value === "boolean") return value ? text("Yes", "yes") : text("No", "no");
    if (typeof value === "object" && Number.isInteger(value.amountMinor) && typeof value.currency === "string") {
      return formatMoney(value);
    }
    if (typeof value === "object") return JSON.stringify(value);
    return String(value);
  }

  // The claims of a received credential with the issuer's display names (kept at receipt, in the page's language).
  function claimDetails(entry) {
    const details = document.createElement("details");
    const summary = document.createElement("summary");
    summary.textContent = text("Claims", "Claims");
    details.appendChild(summary);
    const list = document.createElement("dl");
    list.className = "claims";
    const labels = (entry.display && entry.display.labels) || {};
    sdJwtDisclosures(entry.credential).forEach(function (disclosure) {
      const term = document.createElement("dt");
      term.textContent = labels[disclosure.name] || disclosure.name;
      const value = document.createElement("dd");
      value.textContent = claimText(disclosure.value);
      list.append(term, value);
    });
    details.appendChild(list);
    return details;
  }

  function render() {
    const body = document.getElementById("wallet-credentials");
    body.textContent = "";
    const entries = list();
    if (!entries.length) {
      const row = body.insertRow();
      const cell = row.insertCell();
      cell.colSpan = 4;
      cell.textContent = text("Empty", "No credential yet.");
      return;
    }
    entries.forEach(function (entry) {
      const row = body.insertRow();
      row.dataset.credentialId = entry.id;
      const nameCell = row.insertCell();
      nameCell.textContent = entry.name;
      if (entry.format === "dc+sd-jwt") nameCell.appendChild(claimDetails(find(entry.id)));
      row.insertCell().textContent = entry.format;
      row.insertCell().textContent = formatMoment(entry.receivedAt);
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = text("Download", "Download");
      button.addEventListener("click", function () { download(entry.id); });
      row.insertCell().appendChild(button);
    });
  }

  function openView() {
    document.getElementById("wallet-lock").hidden = true;
    document.getElementById("wallet-open").hidden = false;
    document.getElementById("wallet-did").textContent = state.vault.holderDid;
    render();
  }

  function bind() {
    const root = document.getElementById("wallet");
    if (!root) return;
    const passphrase = document.getElementById("wallet-passphrase");
    const lockError = document.getElementById("wallet-lock-error");
    const error = document.getElementById("wallet-error");
    const status = document.getElementById("wallet-status");
    document.getElementById("wallet-unlock").addEventListener("click", async function () {
      show(lockError, "");
      try {
        await unlock(passphrase.value);
        passphrase.value = "";
        openView();
      } catch (failure) {
        show(lockError, failure.message);
      }
    });
    root.querySelectorAll("[data-request-kind]").forEach(function (button) {
      button.addEventListener("click", async function () {
        show(error, "");
        show(status, "");
        button.disabled = true;
        try {
          const entry = await requestCredential(button.dataset.requestKind, document.getElementById("wallet-format").value);
          render();
          show(status, text("Stored", "Stored in your wallet:") + " " + text(entry.type, entry.type));
        } catch (failure) {
          show(error, failure.message);
        } finally {
          button.disabled = false;
        }
      });
    });
    document.getElementById("wallet-lock-button").addEventListener("click", function () {
      lock();
      document.getElementById("wallet-open").hidden = true;
      document.getElementById("wallet-lock").hidden = false;
    });
  }

  window.FinLabWallet = {
    unlock: unlock,
    lock: lock,
    isUnlocked: function () { return state !== null; },
    holderDid: function () { return requireUnlocked().vault.holderDid; },
    list: list,
    disclosableClaims: disclosableClaims,
    present: present,
    download: download,
    holderKey: holderKey,
    privateJwk: privateJwk,
    entries: entries,
    credentialAdd: credentialAdd,
    snapshot: snapshot,
    restore: restore,
    claimText: claimText,
  };
  document.addEventListener("DOMContentLoaded", bind);
})();
