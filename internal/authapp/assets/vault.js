// The app's tokens, kept in IndexedDB with keys that never leave the
// browser: the device key is a non-extractable ECDSA P-256 key, and the
// TOTP key a non-extractable HMAC key. With a token PIN the TOTP secret is
// stored only encrypted (AES-GCM, the token as additional data) under a
// key derived from the PIN with PBKDF2-SHA256, and is opened into a
// non-extractable HMAC key each time the token is opened.

// PBKDF2_ITERATIONS follows OWASP's current guidance for PBKDF2-HMAC-SHA256.
export const PBKDF2_ITERATIONS = 600000;

const DB_NAME = "twofold-authenticator";
const STORE = "tokens";

let opened = null;

function db() {
  if (!opened) {
    opened = new Promise((resolve, reject) => {
      const req = indexedDB.open(DB_NAME, 1);
      req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: "id" });
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }
  return opened;
}

// tx runs fn on the token store in one transaction and resolves with what
// fn's last request gave once the transaction has committed.
async function tx(mode, fn) {
  const d = await db();
  return new Promise((resolve, reject) => {
    const t = d.transaction(STORE, mode);
    let result;
    const req = fn(t.objectStore(STORE));
    if (req) req.addEventListener("success", () => { result = req.result; });
    t.oncomplete = () => resolve(result);
    t.onerror = () => reject(t.error);
    t.onabort = () => reject(t.error);
  });
}

export function listTokens() {
  return tx("readonly", (s) => s.getAll());
}

export function getToken(id) {
  return tx("readonly", (s) => s.get(id));
}

export function putToken(t) {
  return tx("readwrite", (s) => s.put(t));
}

export function removeToken(id) {
  return tx("readwrite", (s) => s.delete(id));
}

// newDeviceKey makes the key that signs this device's requests. Only its
// public half is ever exported, to be registered with the server.
export async function newDeviceKey() {
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
  const raw = await crypto.subtle.exportKey("raw", pair.publicKey);
  return { privateKey: pair.privateKey, publicRaw: new Uint8Array(raw) };
}

const HASHES = { SHA1: "SHA-1", SHA256: "SHA-256", SHA512: "SHA-512" };

// hmacParams is WebCrypto's HMAC for a token's algorithm ("SHA1", …).
export function hmacParams(algorithm) {
  const hash = HASHES[String(algorithm).toUpperCase().replace("-", "")];
  if (!hash) throw new Error("unknown algorithm " + algorithm);
  return { name: "HMAC", hash };
}

// decodeBase32 reads an RFC 4648 base32 secret, with or without padding.
export function decodeBase32(s) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  const out = [];
  let acc = 0;
  let bits = 0;
  for (const c of s.replace(/=+$/, "").toUpperCase()) {
    const v = alphabet.indexOf(c);
    if (v < 0) throw new Error("not base32");
    acc = ((acc << 5) | v) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((acc >> bits) & 0xff);
    }
  }
  return Uint8Array.from(out);
}

// boundData binds a token's encrypted secret to the token, so that a
// secret moved onto another token's record does not open.
function boundData(t) {
  return new TextEncoder().encode("twofold-app-v1\n" + t.server + "\n" + t.serial);
}

async function pinKey(pin, salt, iterations) {
  const base = await crypto.subtle.importKey("raw", new TextEncoder().encode(pin), "PBKDF2", false, ["deriveKey"]);
  return crypto.subtle.deriveKey({ name: "PBKDF2", salt, iterations, hash: "SHA-256" }, base,
    { name: "AES-GCM", length: 256 }, false, ["wrapKey", "unwrapKey"]);
}

// sealSecret stores secret (bytes) on token t: without a PIN as a
// non-extractable HMAC key, with one encrypted under the PIN. The raw
// bytes are cleared afterwards.
export async function sealSecret(t, secret, pin, maxAttempts) {
  const params = hmacParams(t.totp.algorithm);
  try {
    if (!pin) {
      t.hmacKey = await crypto.subtle.importKey("raw", secret, params, false, ["sign"]);
      t.pin = null;
      return t;
    }
    // Extractable only for the one wrapKey below, in memory.
    const transient = await crypto.subtle.importKey("raw", secret, params, true, ["sign"]);
    const salt = crypto.getRandomValues(new Uint8Array(16));
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const kek = await pinKey(pin, salt, PBKDF2_ITERATIONS);
    const wrapped = await crypto.subtle.wrapKey("raw", transient, kek, { name: "AES-GCM", iv, additionalData: boundData(t) });
    t.hmacKey = null;
    t.pin = { salt, iv, wrapped, iterations: PBKDF2_ITERATIONS, attempts: 0, maxAttempts };
    return t;
  } finally {
    secret.fill(0);
  }
}

// PinError is a refused PIN: wiped tells that the token is gone, left how
// many more wrong PINs it takes otherwise.
export class PinError extends Error {
  constructor(wiped, left) {
    super(wiped ? "wiped" : "wrong PIN");
    this.wiped = wiped;
    this.left = left;
  }
}

// countAttempt adds one to the token's wrong-PIN count in one transaction,
// before the PIN is tried, so that closing the app mid-check does not
// undo it, and returns the token as stored.
function countAttempt(id) {
  return tx("readwrite", (s) => {
    const req = s.get(id);
    req.onsuccess = () => {
      const t = req.result;
      if (t && t.pin) {
        t.pin.attempts += 1;
        s.put(t);
      }
    };
    return req;
  });
}

// openToken returns the HMAC key of token id, asking pin of a token that
// has one. A wrong PIN throws PinError; the one that reaches the token's
// limit wipes the token. A right PIN resets the count.
export async function openToken(id, pin) {
  const t = await countAttempt(id);
  if (!t) throw new PinError(true, 0);
  if (!t.pin) return t.hmacKey;
  let key;
  try {
    const kek = await pinKey(pin, t.pin.salt, t.pin.iterations);
    key = await crypto.subtle.unwrapKey("raw", t.pin.wrapped, kek, { name: "AES-GCM", iv: t.pin.iv, additionalData: boundData(t) },
      hmacParams(t.totp.algorithm), false, ["sign"]);
  } catch {
    // The count was stored before the check (t.pin.attempts includes it).
    if (t.pin.attempts >= t.pin.maxAttempts) {
      await removeToken(id);
      throw new PinError(true, 0);
    }
    throw new PinError(false, t.pin.maxAttempts - t.pin.attempts);
  }
  t.pin.attempts = 0;
  await putToken(t);
  return key;
}
