/** The client half of an HTTP CONNECT handshake with a next proxy, with g3's error mapping. */
import type { Socket } from 'node:net';
import { SluiceError } from '@sluice/common';
import { readMessage } from '../proxy-peer.js';

const HEAD_END = Buffer.from('\r\n\r\n');

export function basicAuth(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

export function connectRequest(authority: string, auth: string | undefined): Buffer {
  let s = `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n`;
  if (auth) s += `Proxy-Authorization: ${auth}\r\n`;
  return Buffer.from(`${s}\r\n`, 'latin1');
}

/** Status code and reason of a CONNECT reply head; throws UPSTREAM_PROTOCOL_INVALID on a malformed line. */
export function parseStatusLine(head: Buffer): { status: number; reason: string } {
  const eol = head.indexOf('\r\n');
  const line = head.toString('latin1', 0, eol < 0 ? head.length : eol);
  const m = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(line);
  if (!m) throw new SluiceError('UPSTREAM_PROTOCOL_INVALID', `next proxy sent an invalid status line '${line.slice(0, 80)}'`);
  return { status: Number(m[1]), reason: m[2] ?? '' };
}

/**
 * Send CONNECT and wait for the reply head. 2xx means the tunnel is up (bytes after the head are left on the
 * socket); anything else is a rejection (g3: NegotiationRejected → UpstreamNotNegotiated).
 */
export async function httpConnect(socket: Socket, authority: string, auth: string | undefined, maxHeadSize: number): Promise<void> {
  if (!socket.write(connectRequest(authority, auth))) {
    // the request is tiny; a full buffer here means the peer is not reading, the timeout will catch it
  }
  const head = await readMessage(socket, maxHeadSize, (buf) => {
    const i = buf.indexOf(HEAD_END);
    return i < 0 ? -1 : i + 4;
  });
  const { status, reason } = parseStatusLine(head);
  if (status < 200 || status > 299) {
    throw new SluiceError('UPSTREAM_NOT_NEGOTIATED', `rejected by remote proxy with response ${status} ${reason}`.trimEnd());
  }
}
