/**
 * User password tokens, as g3proxy reads them (g3proxy/src/config/auth/token):
 * - `null` (or the anonymous/unmanaged user): any password is accepted;
 * - missing: the user exists but can never log in;
 * - a crypt string `$1$`, `$5$`, `$6$`, or `{type: xcrypt_hash, value: "$6$..."}`;
 * - `{salt, md5?, sha1?, blake3|b3?}` (optional `type: fast_hash`): every digest given must equal
 *   H(password ‖ salt bytes), and at least one must be given.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { blake3 } from '@noble/hashes/blake3.js';
import { isSupportedCrypt, verifyCrypt } from './crypt.js';

export type PasswordToken =
  | { readonly kind: 'skip' }
  | { readonly kind: 'forbidden' }
  | { readonly kind: 'crypt'; readonly hash: string }
  | { readonly kind: 'fast'; readonly salt: Buffer; readonly md5?: Buffer; readonly sha1?: Buffer; readonly blake3?: Buffer };

export const SKIP_TOKEN: PasswordToken = Object.freeze({ kind: 'skip' });
export const FORBIDDEN_TOKEN: PasswordToken = Object.freeze({ kind: 'forbidden' });

class TokenError extends Error {}

function hexBytes(v: unknown, what: string, len?: number): Buffer {
  if (typeof v !== 'string' || !/^[0-9a-fA-F]*$/.test(v) || v.length % 2 !== 0) throw new TokenError(`${what} must be a hex string`);
  const b = Buffer.from(v, 'hex');
  if (len !== undefined && b.length !== len) throw new TokenError(`${what} must be ${len * 2} hex characters`);
  return b;
}

function cryptToken(v: unknown): PasswordToken {
  if (typeof v !== 'string' || !isSupportedCrypt(v)) throw new TokenError('crypt hash must be a string starting with $1$, $5$ or $6$');
  return Object.freeze({ kind: 'crypt', hash: v });
}

/** Parse a `token` value; `undefined` is a missing token (the user cannot log in). */
export function parseToken(v: unknown): PasswordToken {
  if (v === undefined) return FORBIDDEN_TOKEN;
  if (v === null) return SKIP_TOKEN;
  if (typeof v === 'string') return cryptToken(v);
  if (typeof v !== 'object' || Array.isArray(v)) throw new TokenError('token must be null, a crypt string, or a map');
  const m = v as Record<string, unknown>;
  const type = typeof m.type === 'string' ? m.type.toLowerCase().replace(/-/g, '_') : undefined;
  if (type === 'xcrypt_hash' || type === 'xcrypt') {
    for (const k of Object.keys(m)) if (k !== 'type' && k !== 'value') throw new TokenError(`invalid key ${k} in xcrypt_hash token`);
    return cryptToken(m.value);
  }
  if (type !== undefined && type !== 'fast_hash') throw new TokenError(`unknown token type '${String(m.type)}' (xcrypt_hash, fast_hash)`);
  let salt: Buffer | undefined;
  let md5: Buffer | undefined;
  let sha1: Buffer | undefined;
  let b3: Buffer | undefined;
  for (const [k, x] of Object.entries(m)) {
    switch (k) {
      case 'type': break;
      case 'salt': salt = hexBytes(x, 'salt', 8); break;
      case 'md5': md5 = hexBytes(x, 'md5', 16); break;
      case 'sha1': sha1 = hexBytes(x, 'sha1', 20); break;
      case 'blake3': case 'b3': b3 = hexBytes(x, 'blake3', 32); break;
      default: throw new TokenError(`invalid key ${k} in fast_hash token`);
    }
  }
  if (!salt) throw new TokenError('fast_hash token needs a salt');
  if (!md5 && !sha1 && !b3) throw new TokenError('fast_hash token needs at least one of md5, sha1, blake3');
  return Object.freeze({ kind: 'fast', salt, md5, sha1, blake3: b3 });
}

function same(a: Uint8Array, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Check `password` against `token`. Slow for crypt tokens: callers cache what succeeded. */
export function verifyToken(token: PasswordToken, password: Buffer): boolean {
  switch (token.kind) {
    case 'skip': return true;
    case 'forbidden': return false;
    case 'crypt': return verifyCrypt(password, token.hash);
    case 'fast': {
      const input = Buffer.concat([password, token.salt]);
      if (token.md5 && !same(createHash('md5').update(input).digest(), token.md5)) return false;
      if (token.sha1 && !same(createHash('sha1').update(input).digest(), token.sha1)) return false;
      if (token.blake3 && !same(blake3(input), token.blake3)) return false;
      return true;
    }
  }
}

/** Whether verifying this token costs enough that a cached success is worth keeping. */
export function tokenIsSlow(token: PasswordToken): boolean {
  return token.kind === 'crypt';
}
