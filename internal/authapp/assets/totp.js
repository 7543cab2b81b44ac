// TOTP (RFC 6238) with a WebCrypto HMAC key, which never leaves the
// browser: the app only ever asks it to sign a time step.

// step is the time step of now (milliseconds) for a period in seconds.
export function step(now, period) {
  return Math.floor(now / 1000 / period);
}

// secondsLeft is how long the code of now stays the current one.
export function secondsLeft(now, period) {
  return period - (Math.floor(now / 1000) % period);
}

// code is the token's one-time code for time step s (RFC 4226's dynamic
// truncation of the HMAC of the 8-byte big-endian step).
export async function code(key, digits, s) {
  const msg = new DataView(new ArrayBuffer(8));
  msg.setUint32(0, Math.floor(s / 2 ** 32));
  msg.setUint32(4, s >>> 0);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, msg.buffer));
  const off = mac[mac.length - 1] & 0x0f;
  const bin = ((mac[off] & 0x7f) << 24) | (mac[off + 1] << 16) | (mac[off + 2] << 8) | mac[off + 3];
  return String(bin % 10 ** digits).padStart(digits, "0");
}
