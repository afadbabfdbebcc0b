import { parseDuration } from '@sluice/common';
import type { BaseConfig, ParseContext } from '../../runtime/object-def.js';

export interface CAresConfig extends BaseConfig {
  /** `ip:port` / `[v6]:port` strings for dns.Resolver#setServers; empty ⇒ system resolv.conf */
  servers: string[];
  eachTimeoutMs: number;
  eachTries: number;
  bindIpv4: string | undefined;
  bindIpv6: string | undefined;
  gracefulStopWaitMs: number;
  protectiveQueryTimeoutMs: number;
  positiveMinTtl: number;
  positiveMaxTtl: number;
  negativeTtl: number;
}

function splitServers(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  const items = Array.isArray(v) ? v.map(String) : String(v).split(/\s+/);
  return items.filter((s) => s.length > 0);
}

/** `1.2.3.4`, `1.2.3.4:5353`, `::1`, `[::1]:5353` → the form node's setServers takes. */
export function normalizeServer(s: string, ctx: ParseContext, index: number): string {
  const v4 = /^(\d{1,3}(?:\.\d{1,3}){3})(?::(\d{1,5}))?$/.exec(s);
  if (v4) return v4[2] ? `${v4[1]}:${v4[2]}` : v4[1]!;
  const v6b = /^\[([0-9a-fA-F:.]+)\](?::(\d{1,5}))?$/.exec(s);
  if (v6b) return v6b[2] ? `[${v6b[1]}]:${v6b[2]}` : v6b[1]!;
  if (/^[0-9a-fA-F:.]+$/.test(s) && s.includes(':')) return s;
  return ctx.fail(['server', String(index)], `invalid DNS server '${s}' (expected ip[:port])`);
}

export function parseCAresConfig(v: Record<string, unknown>, ctx: ParseContext): CAresConfig {
  const servers = splitServers(v.server).map((s, i) => normalizeServer(s, ctx, i));
  return Object.freeze({
    name: v.name as string,
    type: 'c_ares',
    raw: v,
    baseDir: ctx.baseDir,
    servers,
    eachTimeoutMs: (v.each_timeout as number | undefined) ?? 2000,
    eachTries: (v.each_tries as number | undefined) ?? 3,
    bindIpv4: v.bind_ipv4 as string | undefined,
    bindIpv6: v.bind_ipv6 as string | undefined,
    gracefulStopWaitMs: v.graceful_stop_wait === undefined ? 30_000 : parseDuration(v.graceful_stop_wait),
    protectiveQueryTimeoutMs: v.protective_query_timeout === undefined ? 60_000 : parseDuration(v.protective_query_timeout),
    positiveMinTtl: (v.positive_min_ttl as number | undefined) ?? 30,
    positiveMaxTtl: (v.positive_max_ttl as number | undefined) ?? 3600,
    negativeTtl: (v.negative_min_ttl as number | undefined) ?? 30,
  });
}
