/**
 * crypt(5) password hashes as g3proxy accepts them: `$1$` (MD5-crypt, Poul-Henning Kamp's scheme) and
 * `$5$` / `$6$` (SHA-256 / SHA-512 crypt, Ulrich Drepper's scheme), written on node:crypto.
 *
 * These are deliberately slow (1000 to 5000+ hash rounds): callers cache successful verifications rather
 * than calling this per request.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

const ITOA64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** crypt's base-64: 24 bits at a time, least significant 6 bits first. */
function to64(out: string[], b2: number, b1: number, b0: number, n: number): void {
  let w = (b2 << 16) | (b1 << 8) | b0;
  for (let i = 0; i < n; i++) {
    out.push(ITOA64[w & 0x3f]!);
    w >>>= 6;
  }
}

const MD5_MAGIC = Buffer.from('$1$');

export function md5Crypt(password: Buffer, saltText: string): string {
  const salt = Buffer.from(saltText.slice(0, 8), 'latin1');
  const alt = createHash('md5').update(password).update(salt).update(password).digest();
  const ctx = createHash('md5').update(password).update(MD5_MAGIC).update(salt);
  for (let left = password.length; left > 0; left -= 16) ctx.update(alt.subarray(0, Math.min(16, left)));
  // one byte per bit of the length: NUL for a set bit, the first password byte for a clear one (the quirk)
  const zero = Buffer.alloc(1);
  const first = password.subarray(0, 1);
  for (let i = password.length; i > 0; i >>>= 1) ctx.update(i & 1 ? zero : first);
  let fin = ctx.digest();
  for (let i = 0; i < 1000; i++) {
    const c = createHash('md5');
    c.update(i & 1 ? password : fin);
    if (i % 3) c.update(salt);
    if (i % 7) c.update(password);
    c.update(i & 1 ? fin : password);
    fin = c.digest();
  }
  const out: string[] = [];
  to64(out, fin[0]!, fin[6]!, fin[12]!, 4);
  to64(out, fin[1]!, fin[7]!, fin[13]!, 4);
  to64(out, fin[2]!, fin[8]!, fin[14]!, 4);
  to64(out, fin[3]!, fin[9]!, fin[15]!, 4);
  to64(out, fin[4]!, fin[10]!, fin[5]!, 4);
  to64(out, 0, 0, fin[11]!, 2);
  return `$1$${salt.toString('latin1')}$${out.join('')}`;
}

// Byte order of the final encoding (triples b2, b1, b0), from the SHA-crypt specification.
const SHA256_ORDER = [
  [0, 10, 20], [21, 1, 11], [12, 22, 2], [3, 13, 23], [24, 4, 14],
  [15, 25, 5], [6, 16, 26], [27, 7, 17], [18, 28, 8], [9, 19, 29],
];
const SHA512_ORDER = [
  [0, 21, 42], [22, 43, 1], [44, 2, 23], [3, 24, 45], [25, 46, 4], [47, 5, 26], [6, 27, 48],
  [28, 49, 7], [50, 8, 29], [9, 30, 51], [31, 52, 10], [53, 11, 32], [12, 33, 54], [34, 55, 13],
  [56, 14, 35], [15, 36, 57], [37, 58, 16], [59, 17, 38], [18, 39, 60], [40, 61, 19], [62, 20, 41],
];

const ROUNDS_DEFAULT = 5000;
const ROUNDS_MIN = 1000;
const ROUNDS_MAX = 999_999_999;

/** `bytes` repeated/truncated to `len` bytes. */
function stretch(bytes: Buffer, len: number): Buffer {
  const out = Buffer.alloc(len);
  for (let off = 0; off < len; off += bytes.length) bytes.copy(out, off, 0, Math.min(bytes.length, len - off));
  return out;
}

/** SHA-crypt (`$5$` with sha256, `$6$` with sha512). `spec` is what follows the id: `[rounds=N$]salt[$...]`. */
export function shaCrypt(alg: 'sha256' | 'sha512', password: Buffer, spec: string): string {
  const id = alg === 'sha256' ? '5' : '6';
  const size = alg === 'sha256' ? 32 : 64;
  let rest = spec;
  let rounds = ROUNDS_DEFAULT;
  let roundsCustom = false;
  const m = /^rounds=([0-9]+)\$/.exec(rest);
  if (m) {
    rounds = Math.min(ROUNDS_MAX, Math.max(ROUNDS_MIN, Number(m[1])));
    roundsCustom = true;
    rest = rest.slice(m[0].length);
  }
  const dollar = rest.indexOf('$');
  const salt = Buffer.from((dollar < 0 ? rest : rest.slice(0, dollar)).slice(0, 16), 'latin1');
  const h = () => createHash(alg);
  const b = h().update(password).update(salt).update(password).digest();
  const a = h().update(password).update(salt);
  a.update(stretch(b, password.length));
  for (let n = password.length; n > 0; n >>>= 1) a.update(n & 1 ? b : password);
  const aDigest = a.digest();
  const dp = h();
  for (let i = 0; i < password.length; i++) dp.update(password);
  const p = stretch(dp.digest(), password.length);
  const ds = h();
  for (let i = 0; i < 16 + aDigest[0]!; i++) ds.update(salt);
  const s = stretch(ds.digest(), salt.length);
  let c = aDigest;
  for (let i = 0; i < rounds; i++) {
    const r = h();
    r.update(i & 1 ? p : c);
    if (i % 3) r.update(s);
    if (i % 7) r.update(p);
    r.update(i & 1 ? c : p);
    c = r.digest();
  }
  const out: string[] = [];
  for (const [x, y, z] of size === 32 ? SHA256_ORDER : SHA512_ORDER) to64(out, c[x!]!, c[y!]!, c[z!]!, 4);
  if (size === 32) to64(out, 0, c[31]!, c[30]!, 3);
  else to64(out, 0, 0, c[63]!, 2);
  const roundsText = roundsCustom ? `rounds=${rounds}$` : '';
  return `$${id}$${roundsText}${salt.toString('latin1')}$${out.join('')}`;
}

/** Whether `hash` is a crypt string this module can check. */
export function isSupportedCrypt(hash: string): boolean {
  return /^\$(1|5|6)\$/.test(hash) && hash.lastIndexOf('$') > 2;
}

/** Hash `password` with the parameters (scheme, rounds, salt) of `hash`. */
export function cryptWithSettings(password: Buffer, hash: string): string {
  if (hash.startsWith('$1$')) return md5Crypt(password, hash.slice(3, hash.indexOf('$', 3) < 0 ? undefined : hash.indexOf('$', 3)));
  if (hash.startsWith('$5$')) return shaCrypt('sha256', password, hash.slice(3));
  if (hash.startsWith('$6$')) return shaCrypt('sha512', password, hash.slice(3));
  throw new Error('unsupported crypt scheme (use $1$, $5$ or $6$)');
}

export function verifyCrypt(password: Buffer, hash: string): boolean {
  const computed = Buffer.from(cryptWithSettings(password, hash), 'latin1');
  const expected = Buffer.from(hash, 'latin1');
  return computed.length === expected.length && timingSafeEqual(computed, expected);
}
