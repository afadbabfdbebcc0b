/**
 * Portmaps: which protocols a TCP port suggests, tried before the guess lists. A `…s` protocol (https, imaps,
 * ...) means "TLS first, then the plain one" — the port's entry gets a TLS check plus the plain protocol.
 */

export type MaybeProtocol =
  | 'http' | 'smtp' | 'odmr' | 'ssh' | 'ftp' | 'dns' | 'ldap' | 'pop3' | 'nntp' | 'nnsp' | 'imap' | 'rtsp'
  | 'mqtt' | 'stomp' | 'smpp' | 'rtmp' | 'nats' | 'bittorrent' | 'ssl';

/** g3's protocol names (and aliases) → [plain protocol, TLS first]. */
const NAMES: Record<string, [MaybeProtocol, boolean]> = {
  http: ['http', false], smtp: ['smtp', false], odmr: ['odmr', false], ssh: ['ssh', false], ftp: ['ftp', false],
  dns: ['dns', false], ldap: ['ldap', false], pop3: ['pop3', false], nntp: ['nntp', false], nnsp: ['nnsp', false],
  imap: ['imap', false], rtsp: ['rtsp', false], mqtt: ['mqtt', false], stomp: ['stomp', false], smpp: ['smpp', false],
  rtmp: ['rtmp', false], nats: ['nats', false], bittorrent: ['bittorrent', false], bt: ['bittorrent', false],
  https: ['http', true], 'http+tls': ['http', true],
  submissions: ['smtp', true], smtps: ['smtp', true],
  pop3s: ['pop3', true], 'pop3+tls': ['pop3', true],
  nntps: ['nntp', true], 'nntp+tls': ['nntp', true], snntp: ['nntp', true],
  imaps: ['imap', true], 'imap+tls': ['imap', true],
  rtsps: ['rtsp', true], 'rtsp+tls': ['rtsp', true],
  'secure-mqtt': ['mqtt', true],
  ssmpp: ['smpp', true], smpps: ['smpp', true], 'secure smpp': ['smpp', true],
  rtmps: ['rtmp', true], 'rtmp+tls': ['rtmp', true],
  dot: ['dns', true], dnsovertls: ['dns', true], 'dns-over-tls': ['dns', true],
  ldaps: ['ldap', true],
  ssl: ['ssl', true], tls: ['ssl', true],
};

export interface PortMapEntry {
  checkSsl: boolean;
  protocols: MaybeProtocol[];
}

export class PortMap {
  private readonly map = new Map<number, PortMapEntry>();

  get(port: number): PortMapEntry | undefined {
    return this.map.get(port);
  }

  /** Add `name` (g3's spelling, case-insensitive) for `port`; false when the name is unknown. */
  add(port: number, name: string): boolean {
    const known = NAMES[name.toLowerCase()];
    if (!known) return false;
    let e = this.map.get(port);
    if (!e) this.map.set(port, (e = { checkSsl: false, protocols: [] }));
    const [p, tls] = known;
    if (tls) e.checkSsl = true;
    if (p !== 'ssl' && !e.protocols.includes(p)) e.protocols.push(p);
    return true;
  }

  ports(): number[] {
    return [...this.map.keys()];
  }
}

export function isMaybeProtocolName(name: string): boolean {
  return Object.hasOwn(NAMES, name.toLowerCase());
}

/** g3's default server side portmap (lib/g3-dpi portmap.rs tcp_server). */
export function defaultServerPortMap(): PortMap {
  const m = new PortMap();
  const ports: Array<[number, string]> = [
    [21, 'ftp'], [22, 'ssh'], [25, 'smtp'], [53, 'dns'], [80, 'http'], [110, 'pop3'], [119, 'nntp'], [143, 'imap'],
    [322, 'rtsps'], [366, 'odmr'], [389, 'ldap'], [433, 'nnsp'], [443, 'https'], [465, 'submissions'], [554, 'rtsp'],
    [563, 'nntps'], [587, 'smtp'], [636, 'ldaps'], [853, 'dot'], [993, 'imaps'], [995, 'pop3s'], [1883, 'mqtt'],
    [1935, 'rtmp'], [2775, 'smpp'], [3550, 'ssmpp'], [4222, 'nats'], [6881, 'bittorrent'], [8080, 'http'],
    [8554, 'rtsp'], [8883, 'secure-mqtt'],
  ];
  for (const [port, name] of ports) m.add(port, name);
  return m;
}

/** g3's default client side portmap (tcp_client). */
export function defaultClientPortMap(): PortMap {
  const m = new PortMap();
  m.add(6881, 'bittorrent');
  return m;
}
