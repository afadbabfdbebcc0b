/**
 * Rate limit quotas (request_rate_limit, connection_rate_limit, log_rate_limit) and random ratios.
 */
import { ValueError, describe } from './errors.js';
import { parseDuration } from './humanize.js';
import { asNonZeroU32, forEachKey, isMap, own } from './primitives.js';

/**
 * A GCRA-style quota as g3proxy builds it (lib/g3-types/src/limit/rate/quota.rs): one token is added every
 * `replenishIntervalMs`, and at most `maxBurst` tokens are held. `"30/s"` therefore means a token every
 * 33.33 ms with a burst of 30 — smooth, not 30 tokens dropped in at each second boundary.
 */
export interface RateLimitQuota {
  readonly replenishIntervalMs: number;
  /** Always 1 for g3proxy-shaped quotas; kept explicit so a limiter need not assume it. */
  readonly tokensPerInterval: number;
  readonly maxBurst: number;
}

const PERIOD_NANOS: Readonly<Record<string, number>> = { s: 1e9, m: 60e9, h: 3600e9 };

/** `count` tokens per `periodNanos`: interval = period / count, rounded down to whole nanoseconds as g3proxy does. */
function quotaFor(periodNanos: number, count: number): RateLimitQuota {
  const intervalNanos = Math.floor(periodNanos / count);
  if (intervalNanos === 0) throw new ValueError(`rate ${count} is too large for its period`);
  return Object.freeze({ replenishIntervalMs: intervalNanos / 1e6, tokensPerInterval: 1, maxBurst: count });
}

function parseRateString(s: string): RateLimitQuota {
  const slash = s.indexOf('/');
  if (slash < 0) {
    if (!/^[0-9]+$/.test(s)) throw new ValueError(`invalid rate '${s}' (use N, N/s, N/m or N/h with N a positive integer)`);
    return quotaFor(1e9, asNonZeroU32(s));
  }
  const countText = s.slice(0, slash).trim();
  const unit = s.slice(slash + 1);
  if (!/^[0-9]+$/.test(countText)) throw new ValueError(`invalid rate '${s}': '${countText}' is not a positive integer`);
  const period = own(PERIOD_NANOS, unit);
  if (period === undefined) throw new ValueError(`invalid rate unit '/${unit}' in '${s}' (use /s, /m or /h)`);
  return quotaFor(period, asNonZeroU32(countText));
}

/**
 * A rate limit quota: integer (per second), string `N`, `N/s`, `N/m`, `N/h`, or a map with `rate` (one of
 * those) or `replenish_interval` (a duration: one token per interval, burst 1 unless set) and optional
 * `max_burst`. When both `rate` and `replenish_interval` are given the later key wins, as in g3proxy.
 */
export function parseRateLimitQuota(v: unknown): RateLimitQuota {
  if (typeof v === 'number') return quotaFor(1e9, asNonZeroU32(v));
  if (typeof v === 'string') return parseRateString(v);
  if (!isMap(v)) throw new ValueError(`rate limit must be a number, a string like '100/s', or a map, got ${describe(v)}`);
  let base: RateLimitQuota | undefined;
  let maxBurst: number | undefined;
  forEachKey(v, 'rate limit quota', {
    rate: (x) => {
      if (typeof x !== 'number' && typeof x !== 'string') {
        throw new ValueError(`rate must be a number or a string like '100/s', got ${describe(x)}`);
      }
      base = parseRateLimitQuota(x);
    },
    replenish_interval: (x) => {
      const ms = parseDuration(x);
      const nanos = Math.floor(ms * 1e6);
      if (nanos <= 0) throw new ValueError('replenish_interval must be greater than zero');
      base = { replenishIntervalMs: nanos / 1e6, tokensPerInterval: 1, maxBurst: 1 };
    },
    max_burst: (x) => {
      maxBurst = asNonZeroU32(x);
    },
  });
  if (!base) throw new ValueError('rate limit map needs either rate or replenish_interval');
  return Object.freeze({ ...base, maxBurst: maxBurst ?? base.maxBurst });
}

/**
 * A probability in [0, 1]: a float, `"n/d"`, `"n%"`, a float string, a boolean (false = 0, true = 1), or
 * the integers 0 and 1.
 */
export function parseRandomRatio(v: unknown): number {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number') {
    if (Number.isInteger(v) && v !== 0 && v !== 1) {
      throw new ValueError(`integer ratio must be 0 or 1, got ${v} (write a fraction like '1/${v}' or a percentage like '${v}%')`);
    }
    return checkRatio(v, String(v));
  }
  if (typeof v !== 'string') throw new ValueError(`ratio must be a number, 'n/d', 'n%' or a boolean, got ${describe(v)}`);
  const slash = v.indexOf('/');
  if (slash >= 0) {
    const n = ratioPart(v.slice(0, slash).trim(), v);
    const d = ratioPart(v.slice(slash + 1).trim(), v);
    if (d === 0) throw new ValueError(`ratio '${v}' divides by zero`);
    if (n > d) throw new ValueError(`ratio '${v}' is greater than 1`);
    return n / d;
  }
  if (v.endsWith('%')) {
    const n = ratioPart(v.slice(0, -1).trim(), v);
    if (n > 100) throw new ValueError(`ratio '${v}' is more than 100%`);
    return n / 100;
  }
  const t = v.trim();
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) {
    throw new ValueError(`invalid ratio '${v}' (use a number between 0 and 1, 'n/d' or 'n%')`);
  }
  return checkRatio(Number(t), v);
}

function ratioPart(text: string, whole: string): number {
  if (!/^[0-9]+$/.test(text)) throw new ValueError(`invalid ratio '${whole}': '${text}' is not a whole number`);
  const n = Number(text);
  if (n > 0xffff_ffff) throw new ValueError(`invalid ratio '${whole}': ${text} is too large`);
  return n;
}

function checkRatio(f: number, text: string): number {
  if (!(f >= 0 && f <= 1)) throw new ValueError(`ratio ${text} is out of range (must be between 0 and 1)`);
  return f;
}
