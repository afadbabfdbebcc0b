/**
 * Tiny stand-ins for the g3 value parsers (the real ones live in @sluice/common), used by this package's
 * tests to exercise the `g3value` keyword: reasons as messages, and `path` naming a sub-key.
 */
import { isIP } from 'node:net';
import type { ValueParser } from './validator.js';

function fail(why: string, path?: string[]): never {
  const e: Error & { path?: string[] } = new Error(why);
  if (path !== undefined) e.path = path;
  throw e;
}

const ipNetwork: ValueParser = (v) => {
  if (typeof v !== 'string') fail(`expected an IP network string, got ${typeof v}`);
  const [ip, prefix, extra] = v.split('/');
  const family = isIP(ip ?? '');
  const max = family === 4 ? 32 : 128;
  const prefixOk = prefix === undefined || (/^[0-9]{1,3}$/.test(prefix) && Number(prefix) <= max);
  if (family === 0 || !prefixOk || extra !== undefined) fail(`invalid IP network '${v}'`);
  return v;
};

const duration: ValueParser = (v) => {
  if (typeof v === 'number' && v >= 0) return v;
  if (typeof v === 'string' && /^\s*([0-9]+\s*(ns|us|ms|s|m|h|d)?\s*)+$/.test(v)) return v;
  return fail(`invalid duration '${String(v)}'`);
};

const size = (v: unknown): boolean => typeof v === 'number' || (typeof v === 'string' && /^[0-9]+\s*([kmgtpe]i?b?|b)?$/i.test(v));

const speedLimit: ValueParser = (v) => {
  if (size(v)) return v;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail('expected a size or a map');
  for (const [k, x] of Object.entries(v)) {
    if (k === 'shift' || k === 'shift_millis') {
      if (typeof x !== 'number') fail(`invalid shift '${String(x)}'`, [k]);
    } else if (k === 'upload' || k === 'download' || k === 'north' || k === 'south') {
      if (!size(x)) fail(`invalid size '${String(x)}'`, [k]);
    } else {
      fail(`unknown key '${k}'`, [k]);
    }
  }
  return v;
};

const sockaddr: ValueParser = (v) => {
  if (typeof v !== 'string') return fail('expected a socket address string');
  const m = /^(?:\[([^\]]+)\]|([^:]+)):([0-9]{1,5})$/.exec(v);
  const host = m?.[1] ?? m?.[2];
  if (m === null || host === undefined || isIP(host) === 0 || Number(m[3]) > 65535) fail(`invalid socket address '${v}'`);
  return v;
};

export const testParsers: Record<string, ValueParser> = {
  ip_network: ipNetwork,
  duration,
  speed_limit: speedLimit,
  sockaddr,
};
