/**
 * Which protocol a stream speaks, from its first bytes, the way g3's inspector decides: the protocols the
 * server port suggests (a portmap) are tried first, then a fixed guess list, one list for data the client
 * sent first and one for data the server sent first (SSH, FTP, SMTP, POP3, IMAP, NNTP, NATS greet first).
 * The answer is a protocol, `unknown` (no candidate fits), or the number of bytes still needed.
 */
import {
  detectBitTorrent, detectDnsTcpQuery, detectFtpGreeting, detectHttpRequest, detectImapGreeting, detectLdapRequest,
  detectMqttConnect, detectNatsInfo, detectNntpGreeting, detectPop3Greeting, detectRtmpHandshake, detectRtspSetup,
  detectSmppBind, detectSmtpGreeting, detectSsh, detectStompConnect, detectTlsClientHello, NO,
  type DetectedProtocol, type DetectLimits, type Detector,
} from './detectors.js';
import type { MaybeProtocol, PortMap } from './portmap.js';

export type InspectResult = DetectedProtocol | 'unknown' | number;

/** Detector of a protocol for data the client sent first (undefined: it never speaks first). */
const CLIENT: Partial<Record<MaybeProtocol, Detector>> = {
  ssl: detectTlsClientHello,
  http: detectHttpRequest,
  ssh: detectSsh,
  dns: detectDnsTcpQuery,
  ldap: detectLdapRequest,
  rtsp: detectRtspSetup,
  mqtt: detectMqttConnect,
  stomp: detectStompConnect,
  smpp: detectSmppBind,
  rtmp: detectRtmpHandshake,
  bittorrent: detectBitTorrent,
};

/** Detector of a protocol for data the server sent first. */
const SERVER: Partial<Record<MaybeProtocol, Detector>> = {
  ftp: detectFtpGreeting,
  ssh: detectSsh,
  smtp: detectSmtpGreeting,
  odmr: detectSmtpGreeting,
  pop3: detectPop3Greeting,
  nntp: detectNntpGreeting,
  nnsp: detectNntpGreeting,
  imap: detectImapGreeting,
  nats: detectNatsInfo,
  bittorrent: detectBitTorrent,
};

// g3's guess lists, tried after what the port suggests
const GUESS_CLIENT: readonly MaybeProtocol[] = ['ssl', 'http', 'ssh', 'smpp', 'bittorrent'];
const GUESS_SERVER: readonly MaybeProtocol[] = ['ssh', 'ftp', 'nats', 'bittorrent'];

export interface InspectOptions {
  serverPort: number;
  serverPortmap: PortMap;
  limits: DetectLimits;
  /** set after a TLS layer was taken off: a TLS record inside it is not expected (g3's no_explicit_ssl) */
  noExplicitSsl?: boolean;
}

function candidates(opts: InspectOptions, side: 'client' | 'server'): MaybeProtocol[] {
  const out: MaybeProtocol[] = [];
  const v = opts.serverPortmap.get(opts.serverPort);
  if (v) {
    if (side === 'client' && v.checkSsl && !opts.noExplicitSsl) out.push('ssl');
    for (const p of v.protocols) if (!out.includes(p)) out.push(p);
  }
  for (const p of side === 'client' ? GUESS_CLIENT : GUESS_SERVER) {
    if (p === 'ssl' && opts.noExplicitSsl) continue;
    if (!out.includes(p)) out.push(p);
  }
  return out;
}

function run(data: Uint8Array, opts: InspectOptions, side: 'client' | 'server'): InspectResult {
  const table = side === 'client' ? CLIENT : SERVER;
  let need = 0;
  for (const p of candidates(opts, side)) {
    const det = table[p];
    if (!det) continue;
    const v = det(data, opts.limits);
    if (v === NO) continue;
    if (typeof v === 'number') {
      if (need === 0 || v < need) need = v;
      continue;
    }
    return v;
  }
  return need > 0 ? need : 'unknown';
}

/** The protocol of a stream whose client spoke first. */
export function inspectClientData(data: Uint8Array, opts: InspectOptions): InspectResult {
  return run(data, opts, 'client');
}

/** The protocol of a stream whose server spoke first. */
export function inspectServerData(data: Uint8Array, opts: InspectOptions): InspectResult {
  return run(data, opts, 'server');
}
