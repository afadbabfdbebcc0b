/**
 * g3's `log:` value (main file, read at start only): a driver name, or a map with `default` and per-logger
 * overrides `task`, `escape`, `resolve`, `audit` (a `syslog:`/`fluentd:`/`journal:` key at the top sets the
 * default too). Each value is a driver name (`discard`, `stdout`, `journal`, `syslog`, `fluentd`) or a map
 * with one driver key and the async options `async_channel_size` (4096), `async_thread_number` (accepted;
 * sluice has one event loop) and `io_error_sampling_offset` (0..16).
 */
import { hostname } from 'node:os';
import { parseDuration, parseEnvSockaddr, parseIpAddr, parseTcpKeepalive } from '@sluice/common';
import { parseTlsClient } from '../tls/tls-config.js';
import type { FluentdOptions } from './fluentd-driver.js';
import { SYSLOG_DEFAULT_UNIX, type SyslogOptions, type SyslogTarget } from './syslog-driver.js';
import { normalizedMap } from '../runtime/plain-map.js';

export type LoggerRole = 'task' | 'escape' | 'resolve' | 'audit';
export const LOGGER_ROLES: readonly LoggerRole[] = ['task', 'escape', 'resolve', 'audit'];
const DRIVER_NAMES = ['discard', 'stdout', 'journal', 'syslog', 'fluentd'] as const;
export type DriverName = (typeof DRIVER_NAMES)[number];

/** The program name g3 writes into syslog idents, journald's SYSLOG_IDENTIFIER and fluentd tags. */
export const PROGRAM_NAME = 'g3proxy';

export type DriverSpec =
  | { driver: 'discard' | 'stdout'; channelSize: number; ioErrorSamplingOffset: number }
  | { driver: 'journal'; channelSize: number; ioErrorSamplingOffset: number; path?: string }
  | { driver: 'syslog'; channelSize: number; ioErrorSamplingOffset: number; syslog: SyslogOptions }
  | { driver: 'fluentd'; channelSize: number; ioErrorSamplingOffset: number; fluentd: FluentdOptions };

export interface LogConfig {
  default: DriverSpec;
  task?: DriverSpec;
  escape?: DriverSpec;
  resolve?: DriverSpec;
  audit?: DriverSpec;
}

const asMap = normalizedMap;
const normKey = (k: string) => k.toLowerCase().replaceAll('-', '_');

function asBool(v: unknown, where: string): boolean {
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === 'yes' || v === 'on' || v === 1) return true;
  if (v === 'false' || v === 'no' || v === 'off' || v === 0) return false;
  throw new Error(`${where}: expected a boolean`);
}

function asUint(v: unknown, where: string, max = Number.MAX_SAFE_INTEGER): number {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > max) throw new Error(`${where}: expected an integer in 0..${max}`);
  return n;
}

function asStr(v: unknown, where: string): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  throw new Error(`${where}: expected a string`);
}

function parseUdpTarget(v: unknown, where: string): SyslogTarget {
  if (typeof v === 'string') {
    const a = parseEnvSockaddr(v);
    return { kind: 'udp', host: a.host, port: a.port };
  }
  const m = asMap(v, where);
  let addr: { host: string; port: number } | undefined;
  let bindIp: string | undefined;
  for (const [k, x] of Object.entries(m)) {
    if (k === 'address' || k === 'addr') addr = parseEnvSockaddr(x);
    else if (k === 'bind_ip' || k === 'bind') bindIp = parseIpAddr(x);
    else throw new Error(`${where}/${k}: invalid key`);
  }
  if (!addr) throw new Error(`${where}: no target address has been set`);
  return { kind: 'udp', host: addr.host, port: addr.port, bindIp };
}

function parseUnixTarget(v: unknown, where: string): SyslogTarget {
  const path = typeof v === 'string' ? v : asMap(v, where).path;
  if (typeof path !== 'string' || !path.startsWith('/')) throw new Error(`${where}: expected an absolute path`);
  return { kind: 'unix', path };
}

export function parseSyslogOptions(v: unknown, channelSize: number, where = 'syslog'): SyslogOptions {
  const o: SyslogOptions = {
    target: { kind: 'unix', path: SYSLOG_DEFAULT_UNIX },
    emitHostname: false,
    appendReportTs: false,
    ident: PROGRAM_NAME,
    channelSize,
  };
  let cee = false;
  let ceeFlag: string | undefined;
  for (const [k, x] of Object.entries(asMap(v, where))) {
    const at = `${where}/${k}`;
    switch (k) {
      case 'target_unix': case 'backend_unix': o.target = parseUnixTarget(x, at); break;
      case 'target_udp': case 'backend_udp': o.target = parseUdpTarget(x, at); break;
      case 'target': case 'backend':
        for (const [tk, tx] of Object.entries(asMap(x, at))) {
          if (tk === 'udp') o.target = parseUdpTarget(tx, `${at}/udp`);
          else if (tk === 'unix') o.target = parseUnixTarget(tx, `${at}/unix`);
          else throw new Error(`${at}/${tk}: invalid key`);
        }
        break;
      case 'format_rfc5424':
        if (typeof x === 'number') o.rfc5424 = { enterpriseId: asUint(x, at, 2 ** 31 - 1) };
        else if (typeof x === 'string') o.rfc5424 = { enterpriseId: 0, messageId: x };
        else {
          const f = asMap(x, at);
          o.rfc5424 = { enterpriseId: 0 };
          for (const [fk, fx] of Object.entries(f)) {
            if (fk === 'enterprise_id') o.rfc5424.enterpriseId = asUint(fx, `${at}/${fk}`, 2 ** 31 - 1);
            else if (fk === 'message_id') o.rfc5424.messageId = asStr(fx, `${at}/${fk}`);
            else throw new Error(`${at}/${fk}: invalid key`);
          }
        }
        break;
      case 'use_cee_log_syntax': case 'use_cls': cee = asBool(x, at); break;
      case 'cee_event_flag': case 'cee_cookie': ceeFlag = asStr(x, at); break;
      case 'emit_hostname': o.emitHostname = asBool(x, at); break;
      case 'append_report_ts': o.appendReportTs = asBool(x, at); break;
      default: throw new Error(`${at}: invalid key`);
    }
  }
  if (cee) o.ceeEventFlag = ceeFlag ?? '@cee:';
  return o;
}

export function parseFluentdOptions(v: unknown, channelSize: number, baseDir: string, where = 'fluentd'): FluentdOptions {
  const o: FluentdOptions = {
    host: '127.0.0.1', port: 24224, sharedKey: '', username: '', password: '', hostname: hostname(),
    tcpKeepalive: { enabled: true, idleTimeMs: 60_000 }, tls: null,
    connectTimeoutMs: 10_000, connectDelayMs: 10_000, writeTimeoutMs: 1000, flushIntervalMs: 100,
    retryQueueLen: 10, channelSize, tagPrefix: PROGRAM_NAME,
  };
  if (typeof v === 'string') {
    const a = parseEnvSockaddr(v);
    return { ...o, host: a.host, port: a.port };
  }
  for (const [k, x] of Object.entries(asMap(v, where))) {
    const at = `${where}/${k}`;
    switch (k) {
      case 'address': case 'addr': { const a = parseEnvSockaddr(x); o.host = a.host; o.port = a.port; break; }
      case 'bind_ip': case 'bind': o.bindIp = parseIpAddr(x); break;
      case 'shared_key': o.sharedKey = asStr(x, at); break;
      case 'username': o.username = asStr(x, at); break;
      case 'password': o.password = asStr(x, at); break;
      case 'hostname': o.hostname = asStr(x, at); break;
      case 'tcp_keepalive': o.tcpKeepalive = parseTcpKeepalive(x); break;
      case 'tls': case 'tls_client': { const t = parseTlsClient(x ?? {}, baseDir); o.tls = { options: t.options, handshakeTimeoutMs: t.handshakeTimeoutMs }; break; }
      case 'tls_name': o.tlsName = asStr(x, at); break;
      case 'connect_timeout': o.connectTimeoutMs = parseDuration(x); break;
      case 'connect_delay': o.connectDelayMs = parseDuration(x); break;
      case 'write_timeout': o.writeTimeoutMs = parseDuration(x); break;
      case 'flush_interval': o.flushIntervalMs = parseDuration(x); break;
      case 'retry_queue_len': o.retryQueueLen = asUint(x, at); break;
      default: throw new Error(`${at}: invalid key`);
    }
  }
  return o;
}

const DEFAULT_CHANNEL_SIZE = 4096;
const IO_ERROR_SAMPLING_OFFSET_DEFAULT = 10;

function simple(driver: DriverName, baseDir: string, where: string): DriverSpec {
  const common = { channelSize: DEFAULT_CHANNEL_SIZE, ioErrorSamplingOffset: IO_ERROR_SAMPLING_OFFSET_DEFAULT };
  if (driver === 'syslog') return { driver, ...common, syslog: parseSyslogOptions(null, common.channelSize, where) };
  if (driver === 'fluentd') return { driver, ...common, fluentd: parseFluentdOptions(null, common.channelSize, baseDir, where) };
  return { driver, ...common };
}

export function parseDriverSpec(v: unknown, baseDir: string, where: string): DriverSpec {
  if (typeof v === 'string') {
    const d = normKey(v) as DriverName;
    if (!DRIVER_NAMES.includes(d)) throw new Error(`${where}: unknown log driver '${v}' (known: ${DRIVER_NAMES.join(', ')})`);
    return simple(d, baseDir, where);
  }
  const m = asMap(v, where);
  let channelSize = DEFAULT_CHANNEL_SIZE;
  let ioErrorSamplingOffset = IO_ERROR_SAMPLING_OFFSET_DEFAULT;
  let driver: [DriverName, unknown] | undefined;
  for (const [k, x] of Object.entries(m)) {
    if (k === 'async_channel_size' || k === 'channel_size') channelSize = Math.max(1, asUint(x, `${where}/${k}`));
    else if (k === 'async_thread_number' || k === 'thread_number') asUint(x, `${where}/${k}`);
    else if (k === 'io_error_sampling_offset') ioErrorSamplingOffset = asUint(x, `${where}/${k}`, 16);
    else if (k === 'journal' || k === 'syslog' || k === 'fluentd') driver = [k, x];
    else throw new Error(`${where}/${k}: invalid key`);
  }
  if (!driver) return { driver: 'discard', channelSize, ioErrorSamplingOffset };
  const [name, opts] = driver;
  const at = `${where}/${name}`;
  if (name === 'syslog') return { driver: name, channelSize, ioErrorSamplingOffset, syslog: parseSyslogOptions(opts, channelSize, at) };
  if (name === 'fluentd') return { driver: name, channelSize, ioErrorSamplingOffset, fluentd: parseFluentdOptions(opts, channelSize, baseDir, at) };
  // journald takes no options in g3; `path` is a sluice extension (tests, containers with a bind-mounted socket)
  const jm = asMap(opts, at);
  for (const k of Object.keys(jm)) if (k !== 'path') throw new Error(`${at}/${k}: invalid key`);
  return { driver: 'journal', channelSize, ioErrorSamplingOffset, path: typeof jm.path === 'string' ? jm.path : undefined };
}

/** Parse g3's `log:` value. Throws Error with a key path in the message. */
export function parseLogConfig(v: unknown, baseDir = process.cwd()): LogConfig {
  const discard = simple('discard', baseDir, 'log');
  if (v === undefined || v === null) return { default: discard };
  if (typeof v === 'string') return { default: parseDriverSpec(v, baseDir, 'log') };
  const m = asMap(v, 'log');
  const cfg: LogConfig = { default: discard };
  for (const [key, val] of Object.entries(m)) {
    if (key === 'default') cfg.default = parseDriverSpec(val, baseDir, 'log/default');
    else if ((LOGGER_ROLES as readonly string[]).includes(key)) cfg[key as LoggerRole] = parseDriverSpec(val, baseDir, `log/${key}`);
    else if (key === 'syslog' || key === 'fluentd' || key === 'journal') cfg.default = parseDriverSpec({ [key]: val }, baseDir, 'log');
    else throw new Error(`log/${key}: unknown key (known: default, task, escape, resolve, audit, syslog, fluentd, journal)`);
  }
  return cfg;
}
