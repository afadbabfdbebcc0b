/**
 * The auditor's typed config, with g3's defaults. Sub-maps take their keys g3's way (any case, `-` or `_`);
 * keys for features sluice does not have fail the config check unless they hold their do-nothing value.
 */
import { asBool, parseDuration, parseRandomRatio, parseSize, ValueError } from '@sluice/common';
import { DEFAULT_DETECT_LIMITS, PortMap, defaultClientPortMap, defaultServerPortMap, type DetectLimits } from '@sluice/protocol';
import type { BaseConfig, ParseContext } from '../../runtime/object-def.js';
import { parseTlsTicketer, type TlsTicketerConfig } from '../../tls/ticketer-config.js';
import { parseH2Interception, type H2InterceptionConfig } from '../h2/index.js';
import { parseInspectPolicy, type InspectPolicy } from '../inspect-policy.js';
import { parseTlsInterception, type TlsInterceptionConfig } from '../tls/index.js';
import { parseStreamDump, type StreamDumpConfig } from '../stream-dump.js';

export interface ProtocolInspectionConfig {
  readonly maxDepth: number;
  readonly data0BufferSize: number;
  readonly data0WaitTimeoutMs: number;
  readonly data0ReadTimeoutMs: number;
  readonly limits: DetectLimits;
}

export interface H1InterceptionConfig {
  readonly pipelineSize: number;
  readonly pipelineReadIdleTimeoutMs: number;
  readonly reqHeadTimeoutMs: number;
  readonly rspHeadTimeoutMs: number;
  readonly reqHeadMaxSize: number;
  readonly rspHeadMaxSize: number;
  readonly bodyLineMaxLength: number;
  readonly stealForwardedFor: boolean;
}

export interface AuditorConfig extends BaseConfig {
  readonly inspection: ProtocolInspectionConfig;
  readonly serverPortmap: PortMap;
  readonly clientPortmap: PortMap;
  readonly logUriMaxChars: number;
  readonly h1: H1InterceptionConfig;
  readonly h2Policy: InspectPolicy;
  readonly h2: H2InterceptionConfig;
  /** TLS interception; undefined without tls_cert_agent (TLS is then relayed after its Inspect record) */
  readonly tls: TlsInterceptionConfig | undefined;
  /** tls_stream_dump: where the cleartext of intercepted TLS goes (Wireshark udpdump) */
  readonly tlsStreamDump: StreamDumpConfig | undefined;
  readonly websocketPolicy: InspectPolicy;
  readonly smtpPolicy: InspectPolicy;
  readonly imapPolicy: InspectPolicy;
  readonly taskAuditRatio: number;
  readonly tlsTicketer: TlsTicketerConfig | undefined;
}

const norm = (k: string) => k.toLowerCase().replace(/-/g, '_');

/** Walk a sub-map: every key must have a handler (normalised name); errors carry the key. */
function eachKey(v: unknown, what: string, handlers: Record<string, (x: unknown) => void>): void {
  if (v === null || v === undefined) return;
  if (typeof v !== 'object' || Array.isArray(v)) throw new ValueError(`${what} must be a map`);
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    const h = handlers[norm(k)];
    if (!h || !Object.hasOwn(handlers, norm(k))) throw new ValueError(`invalid key '${k}' in ${what}`, [k]);
    try {
      h(x);
    } catch (e) {
      if (e instanceof ValueError) throw new ValueError(e.message, [k, ...e.path]);
      throw new ValueError((e as Error).message, [k]);
    }
  }
}

const usize = (x: unknown, what: string, min = 0): number => {
  const n = typeof x === 'string' && /^\d+$/.test(x.trim()) ? Number(x) : x;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < min) throw new ValueError(`${what} must be an integer >= ${min}`);
  return n;
};

export function parseProtocolInspection(v: unknown): ProtocolInspectionConfig {
  const c = { maxDepth: 4, data0BufferSize: 4096, data0WaitTimeoutMs: 60_000, data0ReadTimeoutMs: 4000, limits: { ...DEFAULT_DETECT_LIMITS } };
  eachKey(v, 'protocol_inspection', {
    inspect_max_depth: (x) => (c.maxDepth = usize(x, 'inspect_max_depth')),
    data0_buffer_size: (x) => (c.data0BufferSize = parseSize(x)),
    data0_wait_timeout: (x) => (c.data0WaitTimeoutMs = parseDuration(x)),
    data0_read_timeout: (x) => (c.data0ReadTimeoutMs = parseDuration(x)),
    data0_size_limit: (x) => eachKey(x, 'data0_size_limit', {
      ftp_greeting_msg: (y) => (c.limits.ftpGreetingMsg = parseSize(y)),
      http_request_uri: (y) => (c.limits.httpRequestUri = parseSize(y)),
      imap_greeting_msg: (y) => (c.limits.imapGreetingMsg = parseSize(y)),
      nats_info_line: (y) => (c.limits.natsInfoLine = parseSize(y)),
      ldap_request_msg: (y) => (c.limits.ldapRequestMsg = parseSize(y)),
      // deprecated in g3 1.9.0: SMTP reply lines are bounded at 512 bytes by the RFC
      smtp_greeting_msg: (y) => void parseSize(y),
    }),
  });
  if (c.data0BufferSize < 1) throw new ValueError('data0_buffer_size must be at least 1', ['data0_buffer_size']);
  return Object.freeze({ ...c, limits: Object.freeze(c.limits) });
}

/** A portmap: a list of `{port, protocol}` or a map port → protocol(s), added to g3's default one. */
export function parsePortmap(v: unknown, base: PortMap): PortMap {
  if (v === undefined || v === null) return base;
  const addAll = (port: unknown, protos: unknown, path: string[]) => {
    const p = usize(port, 'port', 0);
    if (p > 65535) throw new ValueError(`port ${p} is out of range`, path);
    const list = Array.isArray(protos) ? protos : [protos];
    list.forEach((name, i) => {
      if (typeof name !== 'string' || !base.add(p, name)) {
        throw new ValueError(`unknown protocol ${JSON.stringify(name)} (http, https, smtp, ssh, ftp, pop3, pop3s, nntp, nntps, imap, imaps, nats, bittorrent, ...)`, [...path, ...(Array.isArray(protos) ? [String(i)] : [])]);
      }
    });
  };
  if (Array.isArray(v)) {
    v.forEach((e, i) => {
      if (!e || typeof e !== 'object') throw new ValueError('portmap entry must be a map with port and protocol', [String(i)]);
      const m = Object.fromEntries(Object.entries(e as Record<string, unknown>).map(([k, x]) => [norm(k), x]));
      if (m.port === undefined || m.protocol === undefined) throw new ValueError('portmap entry needs port and protocol', [String(i)]);
      addAll(m.port, m.protocol, [String(i)]);
    });
  } else if (typeof v === 'object') {
    for (const [port, protos] of Object.entries(v as Record<string, unknown>)) addAll(port, protos, [port]);
  } else throw new ValueError('portmap must be a list or a map');
  return base;
}

export function parseH1Interception(v: unknown): H1InterceptionConfig {
  const c: { -readonly [K in keyof H1InterceptionConfig]: H1InterceptionConfig[K] } = {
    pipelineSize: 10,
    pipelineReadIdleTimeoutMs: 300_000,
    reqHeadTimeoutMs: 30_000,
    rspHeadTimeoutMs: 60_000,
    reqHeadMaxSize: 65536,
    rspHeadMaxSize: 65536,
    bodyLineMaxLength: 8192,
    stealForwardedFor: false,
  };
  eachKey(v, 'h1_interception', {
    pipeline_size: (x) => (c.pipelineSize = usize(x, 'pipeline_size', 1)),
    pipeline_read_idle_timeout: (x) => (c.pipelineReadIdleTimeoutMs = parseDuration(x)),
    req_header_recv_timeout: (x) => (c.reqHeadTimeoutMs = parseDuration(x)),
    rsp_header_recv_timeout: (x) => (c.rspHeadTimeoutMs = parseDuration(x)),
    req_header_max_size: (x) => (c.reqHeadMaxSize = parseSize(x)),
    rsp_header_max_size: (x) => (c.rspHeadMaxSize = parseSize(x)),
    body_line_max_length: (x) => (c.bodyLineMaxLength = usize(x, 'body_line_max_length', 1)),
    steal_forwarded_for: (x) => (c.stealForwardedFor = asBool(x)),
  });
  return Object.freeze(c);
}

const isEmpty = (v: unknown) => v === undefined || v === null || (typeof v === 'object' && !Array.isArray(v) && Object.keys(v as object).length === 0);

export function parseAuditor(v: Record<string, unknown>, ctx: ParseContext): AuditorConfig {
  const at = <T>(key: string, fn: () => T): T => {
    try {
      return fn();
    } catch (e) {
      if (e instanceof ValueError) ctx.fail([key, ...e.path], e.message);
      throw e;
    }
  };
  // what sluice cannot do must not load as if it did (a do-nothing value is fine)
  const unsupported: Array<[string, string]> = [
    ['icap_reqmod_service', 'ICAP is not implemented in sluice: requests would not be sent for REQMOD'],
    ['icap_respmod_service', 'ICAP is not implemented in sluice: responses would not be sent for RESPMOD'],
    ['stream_detour_service', 'stream detour is not implemented in sluice (`detour` policies act as `bypass`, as in g3 without a service)'],
    ['smtp_interception', 'SMTP interception is not implemented in sluice (SMTP streams are relayed after inspection)'],
    ['imap_interception', 'IMAP interception is not implemented in sluice (IMAP streams are relayed after inspection)'],
  ];
  for (const [key, why] of unsupported) if (!isEmpty(v[key])) ctx.fail([key], why);
  const policy = (key: string) => at(key, () => parseInspectPolicy(v[key]));
  const smtpPolicy = policy('smtp_inspect_policy');
  const imapPolicy = policy('imap_inspect_policy');
  // an explicit `intercept` would promise an interception sluice does not do; unset (g3's default) relays
  if (v.smtp_inspect_policy !== undefined && smtpPolicy.actions.has('intercept')) {
    ctx.fail(['smtp_inspect_policy'], 'SMTP interception is not implemented in sluice: use block or bypass');
  }
  if (v.imap_inspect_policy !== undefined && imapPolicy.actions.has('intercept')) {
    ctx.fail(['imap_inspect_policy'], 'IMAP interception is not implemented in sluice: use block or bypass');
  }
  let tlsTicketer: TlsTicketerConfig | undefined;
  if (v.tls_ticketer !== undefined && v.tls_ticketer !== null && v.tls_ticketer !== false) {
    tlsTicketer = at('tls_ticketer', () => parseTlsTicketer(v.tls_ticketer, ctx.baseDir));
    // Node's TLS servers already roll their own ticket keys (what `{}` asks for); a shared remote source would
    // have to be wired into the interception's TLS server, which it is not
    if ((tlsTicketer as { source?: unknown }).source) ctx.fail(['tls_ticketer', 'source'], 'a remote ticket key source is not applied to TLS interception in sluice');
  }
  const logUriMaxChars = v.log_uri_max_chars === undefined ? 1024 : at('log_uri_max_chars', () => usize(v.log_uri_max_chars, 'log_uri_max_chars'));
  return Object.freeze({
    name: v.name as string,
    type: 'auditor',
    raw: v,
    baseDir: ctx.baseDir,
    inspection: at('protocol_inspection', () => parseProtocolInspection(v.protocol_inspection)),
    serverPortmap: at('server_tcp_portmap', () => parsePortmap(v.server_tcp_portmap, defaultServerPortMap())),
    clientPortmap: at('client_tcp_portmap', () => parsePortmap(v.client_tcp_portmap, defaultClientPortMap())),
    logUriMaxChars,
    h1: at('h1_interception', () => parseH1Interception(v.h1_interception)),
    h2Policy: policy('h2_inspect_policy'),
    h2: at('h2_interception', () => parseH2Interception(v.h2_interception)),
    tls: parseTlsInterception(v, ctx),
    tlsStreamDump: v.tls_stream_dump === undefined || v.tls_stream_dump === null ? undefined : at('tls_stream_dump', () => parseStreamDump(v.tls_stream_dump)),
    websocketPolicy: policy('websocket_inspect_policy'),
    smtpPolicy,
    imapPolicy,
    taskAuditRatio: v.task_audit_ratio === undefined ? 1 : at('task_audit_ratio', () => parseRandomRatio(v.task_audit_ratio)),
    tlsTicketer,
  });
}
