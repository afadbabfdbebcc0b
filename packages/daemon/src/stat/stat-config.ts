/**
 * g3's `stat:` value (main file, read at start only; lib/g3-statsd-client): `target_udp` (an address or
 * `{address, bind_ip}`; default 127.0.0.1:8125), `target_unix` (a path or `{path}`), or `target: {udp|unix}`;
 * `prefix` (default `g3proxy`), `emit_interval` (default 200ms; `emit_duration` is its older name),
 * `cache_size` (256KiB) and `max_segment_size` (1400 for UDP, 4096 for Unix). Without `stat:` nothing is sent.
 */
import { parseDuration, parseEnvSockaddr, parseIpAddr, parseSize } from '@sluice/common';
import { normalizedMap } from '../runtime/plain-map.js';

export type StatTarget = { kind: 'udp'; host: string; port: number; bindIp?: string } | { kind: 'unix'; path: string };

export interface StatConfig {
  target: StatTarget;
  prefix: string;
  emitIntervalMs: number;
  cacheSize: number;
  maxSegmentSize: number | undefined;
}

const asMap = normalizedMap;

function udp(v: unknown, where: string): StatTarget {
  if (typeof v === 'string') {
    const a = parseEnvSockaddr(v);
    return { kind: 'udp', host: a.host, port: a.port };
  }
  const m = asMap(v, where);
  let host = '127.0.0.1';
  let port = 8125;
  let bindIp: string | undefined;
  for (const [k, x] of Object.entries(m)) {
    if (k === 'address' || k === 'addr') ({ host, port } = parseEnvSockaddr(x));
    else if (k === 'bind_ip' || k === 'bind') bindIp = parseIpAddr(x);
    else throw new Error(`${where}/${k}: invalid key`);
  }
  return { kind: 'udp', host, port, bindIp };
}

function unix(v: unknown, where: string): StatTarget {
  const path = typeof v === 'string' ? v : asMap(v, where).path;
  if (typeof path !== 'string' || path === '') throw new Error(`${where}: expected a socket path`);
  return { kind: 'unix', path };
}

/** `undefined`/`null` ⇒ no StatsD. Throws Error with a key path. */
export function parseStatConfig(v: unknown): StatConfig | null {
  if (v === undefined || v === null) return null;
  const cfg: StatConfig = {
    target: { kind: 'udp', host: '127.0.0.1', port: 8125 },
    prefix: 'g3proxy',
    emitIntervalMs: 200,
    cacheSize: 256 * 1024,
    maxSegmentSize: undefined,
  };
  for (const [k, x] of Object.entries(asMap(v, 'stat'))) {
    const at = `stat/${k}`;
    switch (k) {
      case 'target_udp': case 'backend_udp': cfg.target = udp(x, at); break;
      case 'target_unix': case 'backend_unix': cfg.target = unix(x, at); break;
      case 'target': case 'backend':
        for (const [tk, tx] of Object.entries(asMap(x, at))) {
          if (tk === 'udp') cfg.target = udp(tx, `${at}/udp`);
          else if (tk === 'unix') cfg.target = unix(tx, `${at}/unix`);
          else throw new Error(`${at}/${tk}: invalid key`);
        }
        break;
      case 'prefix':
        if (typeof x !== 'string' || !/^[A-Za-z0-9_.\-/]+$/.test(x)) throw new Error(`${at}: expected a metric name prefix`);
        cfg.prefix = x;
        break;
      case 'emit_interval': case 'emit_duration': cfg.emitIntervalMs = Math.max(1, parseDuration(x)); break;
      case 'cache_size': cfg.cacheSize = parseSize(x); break;
      case 'max_segment_size': cfg.maxSegmentSize = parseSize(x); break;
      default: throw new Error(`${at}: invalid key`);
    }
  }
  return cfg;
}
