// The push protocol of package push, as the web app speaks it: the
// activation string (T1…), the links that carry it, and the signature on
// every request after activation. The Go side (internal/push) is the
// reference; the tests run this code against it.

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const MAX_ACTIVATION = 2048;

// ActivationError names what is wrong with an activation, as a catalogue
// key the app shows.
export class ActivationError extends Error {
  constructor(key) {
    super(key);
    this.key = key;
  }
}

function symbolValue(c) {
  const i = CROCKFORD.indexOf(c);
  if (i >= 0) return i;
  if (c === "O") return 0;
  if (c === "I" || c === "L") return 1;
  return -1;
}

function hasPrefix(values) {
  return values.length >= 2 && values[0] === symbolValue("T") && values[1] === 1;
}

function luhnValid(values) {
  let sum = 0;
  let factor = 1;
  for (let i = values.length - 1; i >= 0; i--) {
    const a = values[i] * factor;
    sum += Math.floor(a / 32) + (a % 32);
    factor = 3 - factor;
  }
  return sum % 32 === 0;
}

// fromSymbols reverses the 5-bit grouping, refusing padding bits that are
// not zero, as the server's does.
function fromSymbols(values) {
  const out = [];
  let acc = 0;
  let bits = 0;
  for (const v of values) {
    acc = ((acc << 5) | v) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((acc >> bits) & 0xff);
    }
  }
  if (bits >= 5 || (acc & ((1 << bits) - 1)) !== 0) return null;
  return Uint8Array.from(out);
}

function validCode(code) {
  if (code === "") return false;
  for (let i = 0; i < code.length; i++) {
    const c = code.charCodeAt(i);
    if (c <= 0x20 || c > 0x7e) return false;
  }
  return true;
}

function checkBaseURL(raw) {
  let u;
  try {
    u = new URL(raw);
  } catch {
    throw new ActivationError("error.activation_url");
  }
  const ok = u.host !== "" && u.username === "" && u.password === "" && !raw.includes("?") && !raw.includes("#") &&
    (u.protocol === "https:" || (u.protocol === "http:" && (u.hostname === "localhost" || u.hostname === "127.0.0.1")));
  if (!ok) throw new ActivationError("error.activation_url");
}

// parseActivation reads an activation string as a person may have typed
// or pasted it: any case, with or without spaces and hyphens, O for 0, I
// or L for 1. It returns {url, code}.
export function parseActivation(s) {
  if (s.length > MAX_ACTIVATION) throw new ActivationError("error.activation_length");
  const values = [];
  for (let i = 0; i < s.length; i++) {
    let c = s[i];
    if (c === " " || c === "-" || c === "\t") continue;
    if (c >= "a" && c <= "z") c = c.toUpperCase();
    const v = symbolValue(c);
    if (v < 0) throw new ActivationError(hasPrefix(values) ? "error.activation_char" : "error.activation_prefix");
    values.push(v);
  }
  if (!hasPrefix(values)) throw new ActivationError("error.activation_prefix");
  const rest = values.slice(2);
  if (rest.length < 2) throw new ActivationError("error.activation_length");
  if (!luhnValid(rest)) throw new ActivationError("error.activation_check");
  const payload = fromSymbols(rest.slice(0, -1));
  if (payload === null || payload.length < 1) throw new ActivationError("error.activation_length");
  const n = payload[0];
  if (n === 0 || 1 + n >= payload.length) throw new ActivationError("error.activation_length");
  const code = String.fromCharCode(...payload.slice(1, 1 + n));
  let url;
  try {
    url = new TextDecoder("utf-8", { fatal: true }).decode(payload.slice(1 + n));
  } catch {
    throw new ActivationError("error.activation_url");
  }
  if (!validCode(code)) throw new ActivationError("error.activation_code");
  checkBaseURL(url);
  return { url, code };
}

// parseActivationLink accepts an activation string or a link that carries
// one: "<base URL>/app/#a=<string>" (which must point at the server the
// string names) or "twofold-authenticator://activate?a=<string>".
export function parseActivationLink(s) {
  s = s.trim();
  if (!s.includes("://")) return parseActivation(s);
  if (s.length > 2 * MAX_ACTIVATION) throw new ActivationError("error.activation_length");
  let u;
  try {
    u = new URL(s);
  } catch {
    throw new ActivationError("error.activation_link");
  }
  if (u.protocol === "twofold-authenticator:") {
    const q = new URLSearchParams(u.search);
    if (u.host !== "activate" || (u.pathname !== "" && u.pathname !== "/") || u.hash !== "" || q.getAll("a").length !== 1) {
      throw new ActivationError("error.activation_link");
    }
    return parseActivation(q.get("a"));
  }
  if (u.protocol === "https:" || u.protocol === "http:") {
    const q = new URLSearchParams(u.hash.slice(1));
    if (!u.pathname.endsWith("/app/") || u.search !== "" || q.getAll("a").length !== 1) {
      throw new ActivationError("error.activation_link");
    }
    const a = parseActivation(q.get("a"));
    const base = u.pathname.slice(0, -"/app/".length);
    if (a.url.replace(/\/$/, "") !== u.protocol + "//" + u.host + base) throw new ActivationError("error.activation_link");
    return a;
  }
  throw new ActivationError("error.activation_link");
}

// base64url without padding, as the protocol writes keys and signatures.
export function base64url(bytes) {
  let s = "";
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function hex(bytes) {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
}

// sign returns the Twofold-Signature header for a request: the device key
// (ECDSA P-256, which WebCrypto signs as r || s) over the protocol's
// signed bytes — method, request URI, time and the body's SHA-256.
export async function sign(key, serial, method, uri, body, now) {
  const ts = Math.floor(now / 1000);
  const digest = await crypto.subtle.digest("SHA-256", body);
  const text = "twofold-push-v1\n" + method + "\n" + uri + "\n" + ts + "\n" + hex(digest);
  const sig = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key, new TextEncoder().encode(text));
  return "serial=" + serial + ", ts=" + ts + ", sig=" + base64url(sig);
}
