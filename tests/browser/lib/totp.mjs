// RFC 6238 TOTP (SHA-1, 6 digits, 30 s steps), written here from the RFC so that the codes
// the tests type are not computed by the code under test.
import { createHmac } from 'node:crypto';

const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export function base32Decode(text) {
  const clean = text.replace(/=+$/, '').replace(/\s+/g, '').toUpperCase();
  let bits = 0;
  let value = 0;
  const out = [];
  for (const c of clean) {
    const index = alphabet.indexOf(c);
    if (index < 0) throw new Error(`not base32: ${c}`);
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

// The code of time step `step` (RFC 4226's HOTP of the step counter).
export function codeAt(secretBase32, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const digest = createHmac('sha1', base32Decode(secretBase32)).update(counter).digest();
  const offset = digest[digest.length - 1] & 0x0f;
  const value = digest.readUInt32BE(offset) & 0x7fffffff;
  return String(value % 1_000_000).padStart(6, '0');
}

export function currentStep(now = Date.now()) {
  return Math.floor(now / 1000 / 30);
}

// The current step, after waiting out the last seconds of a step, so that the server still
// sees the same step when the code arrives.
export async function safeStep() {
  while ((Date.now() / 1000) % 30 > 22) await new Promise((r) => setTimeout(r, 200));
  return currentStep();
}
