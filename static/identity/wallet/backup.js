/*
 * Encrypted wallet backups, to carry credentials and holder keys to another device.
 *
 * File (JSON): {format: "finlab-wallet-backup", version: 1, kdf: {name: "PBKDF2", hash: "SHA-256", iterations,
 * salt}, cipher: {name: "AES-GCM", iv}, ciphertext}. The key comes from the backup passphrase by PBKDF2-SHA-256
 * (600,000 iterations, 16-byte random salt); AES-256-GCM seals the vault JSON (credentials and the private JWKs of
 * the holder keys: the keys are thereby wrapped under the passphrase key). The header (format, version, kdf,
 * cipher) is the additional authenticated data, so a changed iteration count, salt or IV fails like a changed
 * ciphertext. A wrong passphrase and a tampered file are indistinguishable by design: both fail the GCM tag.
 */
import { WalletError, b64urlDecode, b64urlEncode, decoder, encoder } from "./encoding.js";

export const BACKUP_FORMAT = "finlab-wallet-backup";
const ITERATIONS = 600000;
const MINIMUM_ITERATIONS = 600000;

async function passphraseKey(passphrase, salt, iterations, usage) {
  const material = await crypto.subtle.importKey("raw", encoder.encode(passphrase), "PBKDF2", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    { name: "PBKDF2", hash: "SHA-256", salt: salt, iterations: iterations },
    material, { name: "AES-GCM", length: 256 }, false, [usage]
  );
}

function header(salt, iv, iterations) {
  return {
    format: BACKUP_FORMAT,
    version: 1,
    kdf: { name: "PBKDF2", hash: "SHA-256", iterations: iterations, salt: b64urlEncode(salt) },
    cipher: { name: "AES-GCM", iv: b64urlEncode(iv) },
  };
}

function additionalData(head) {
  return encoder.encode(JSON.stringify([head.format, head.version, head.kdf, head.cipher]));
}

/** The backup file's text for `vault` under `passphrase`. */
export async function backupEncrypt(vault, passphrase) {
  if (!passphrase || passphrase.length < 10) throw new WalletError("backup_passphrase_short");
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const head = header(salt, iv, ITERATIONS);
  const key = await passphraseKey(passphrase, salt, ITERATIONS, "encrypt");
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv: iv, additionalData: additionalData(head) }, key, encoder.encode(JSON.stringify(vault))
  );
  return JSON.stringify(Object.assign({}, head, { ciphertext: b64urlEncode(sealed) }), null, 1);
}

/** The vault inside a backup file's text; WalletError("backup_not_a_backup") or ("backup_cannot_open"). */
export async function backupDecrypt(text, passphrase) {
  let file;
  try {
    file = JSON.parse(text);
  } catch (error) {
    throw new WalletError("backup_not_a_backup");
  }
  const looksRight = file && file.format === BACKUP_FORMAT && file.version === 1 && file.kdf && file.cipher &&
    file.kdf.name === "PBKDF2" && file.kdf.hash === "SHA-256" && Number.isInteger(file.kdf.iterations) &&
    file.cipher.name === "AES-GCM" && typeof file.ciphertext === "string";
  if (!looksRight) throw new WalletError("backup_not_a_backup");
  // a file that asks for fewer iterations was not written by this wallet: refuse rather than derive a weak key
  if (file.kdf.iterations < MINIMUM_ITERATIONS || file.kdf.iterations > 10 * ITERATIONS) throw new WalletError("backup_cannot_open");
  try {
    const salt = b64urlDecode(file.kdf.salt);
    const iv = b64urlDecode(file.cipher.iv);
    const head = header(salt, iv, file.kdf.iterations);
    const key = await passphraseKey(passphrase, salt, file.kdf.iterations, "decrypt");
    const plaintext = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: iv, additionalData: additionalData(head) }, key, b64urlDecode(file.ciphertext)
    );
    return JSON.parse(decoder.decode(plaintext));
  } catch (error) {
    throw new WalletError("backup_cannot_open");
  }
}
