/** Responses the proxy itself writes (errors, CONNECT established), built once per status where possible. */
import { STATUS_TEXT } from '@sluice/protocol';

const cache = new Map<string, Buffer>();

/** A complete error response with a short text body. `close` adds `Connection: close`. */
export function errorResponse(status: number, close: boolean, extraHeaders = ''): Buffer {
  const key = `${status}|${close ? 1 : 0}|${extraHeaders}`;
  let b = cache.get(key);
  if (!b) {
    const text = STATUS_TEXT[status] ?? 'Error';
    const body = `${status} ${text}\n`;
    b = Buffer.from(
      `HTTP/1.1 ${status} ${text}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\n` +
        `${extraHeaders}${close ? 'Connection: close\r\n' : ''}\r\n${body}`,
      'latin1',
    );
    if (cache.size < 256) cache.set(key, b);
  }
  return b;
}

export const CONNECT_ESTABLISHED = Buffer.from('HTTP/1.1 200 Connection established\r\n\r\n', 'latin1');

/**
 * g3's `X-BD-Remote-Connection-Info` line (CRLF included): `<server_id>[; bind=<ip>][; local=<addr>][; remote=<addr>]`,
 * describing the upstream connection this proxy made.
 */
export function remoteConnectionInfo(serverId: string, info: { nextBindIp?: string; nextBoundAddr?: string; nextPeerAddr?: string } | undefined): string {
  let v = serverId;
  if (info?.nextBindIp) v += `; bind=${info.nextBindIp}`;
  if (info?.nextBoundAddr) v += `; local=${info.nextBoundAddr}`;
  if (info?.nextPeerAddr) v += `; remote=${info.nextPeerAddr}`;
  return `X-BD-Remote-Connection-Info: ${v}\r\n`;
}

/** The IP of an `ip:port` / `[ip]:port` socket address. */
export function ipOfAddr(addr: string): string {
  if (addr.startsWith('[')) return addr.slice(1, addr.indexOf(']'));
  const c = addr.lastIndexOf(':');
  return c > 0 ? addr.slice(0, c) : addr;
}
