/**
 * The client half of a SOCKS5 handshake (RFC 1928 greeting and CONNECT, RFC 1929 username/password), minimal and
 * local to the escaper until the shared SOCKS codec lands in @sluice/protocol. Errors follow g3: a refusal by
 * the peer is UpstreamNotNegotiated, a malformed reply InvalidUpstreamProtocol.
 */
import { isIP, type Socket } from 'node:net';
import { SluiceError } from '@sluice/common';
import { ipBytes } from '../proxy-protocol-header.js';
import { readMessage } from '../proxy-peer.js';

const REPLY_TEXT: Record<number, string> = {
  1: 'general SOCKS server failure', 2: 'connection not allowed by ruleset', 3: 'network unreachable',
  4: 'host unreachable', 5: 'connection refused', 6: 'TTL expired', 7: 'command not supported',
  8: 'address type not supported', 9: 'connection timed out',
};

const invalid = (why: string) => new SluiceError('UPSTREAM_PROTOCOL_INVALID', `SOCKS5 peer: ${why}`);
const rejected = (why: string) => new SluiceError('UPSTREAM_NOT_NEGOTIATED', `SOCKS5 peer: ${why}`);

/** ATYP + address + port for a SOCKS5 request. */
export function encodeSocksAddr(host: string, port: number): Buffer {
  const fam = isIP(host);
  let head: Buffer;
  if (fam === 4) head = Buffer.concat([Buffer.from([0x01]), ipBytes(host)]);
  else if (fam === 6) head = Buffer.concat([Buffer.from([0x04]), ipBytes(host)]);
  else {
    const name = Buffer.from(host, 'latin1');
    if (name.length > 255) throw new SluiceError('CLIENT_ADDRESS_TYPE_UNSUPPORTED', 'domain too long for SOCKS5');
    head = Buffer.concat([Buffer.from([0x03, name.length]), name]);
  }
  const p = Buffer.alloc(2);
  p.writeUInt16BE(port, 0);
  return Buffer.concat([head, p]);
}

/** Length of a complete reply with an address at `off`, or -1 while incomplete. */
function addrReplyLength(buf: Buffer, off: number): number {
  if (buf.length < off + 1) return -1;
  const atyp = buf[off]!;
  let len: number;
  if (atyp === 0x01) len = 4;
  else if (atyp === 0x04) len = 16;
  else if (atyp === 0x03) {
    if (buf.length < off + 2) return -1;
    len = 1 + buf[off + 1]!;
  } else throw invalid(`unknown address type ${atyp} in reply`);
  const total = off + 1 + len + 2;
  return buf.length >= total ? total : -1;
}

/** Parse the bound address of a reply (`[ip]:port` text). */
export function replyAddr(buf: Buffer, off: number): { host: string; port: number } {
  const atyp = buf[off]!;
  if (atyp === 0x01) return { host: [...buf.subarray(off + 1, off + 5)].join('.'), port: buf.readUInt16BE(off + 5) };
  if (atyp === 0x04) {
    const g: string[] = [];
    for (let i = 0; i < 8; i++) g.push(buf.readUInt16BE(off + 1 + i * 2).toString(16));
    return { host: g.join(':'), port: buf.readUInt16BE(off + 17) };
  }
  const n = buf[off + 1]!;
  return { host: buf.toString('latin1', off + 2, off + 2 + n), port: buf.readUInt16BE(off + 2 + n) };
}

/** Greeting and (if asked) RFC 1929 auth. */
export async function socks5Greet(socket: Socket, creds: { username: string; password: string } | undefined): Promise<void> {
  socket.write(creds ? Buffer.from([0x05, 0x02, 0x00, 0x02]) : Buffer.from([0x05, 0x01, 0x00]));
  const sel = await readMessage(socket, 2, (b) => (b.length >= 2 ? 2 : -1));
  if (sel[0] !== 0x05) throw invalid(`version ${sel[0]} in method selection`);
  if (sel[1] === 0xff) throw rejected('no acceptable authentication method');
  if (sel[1] === 0x00) return;
  if (sel[1] !== 0x02 || !creds) throw rejected(`unsupported method ${sel[1]} selected`);
  const u = Buffer.from(creds.username);
  const p = Buffer.from(creds.password);
  if (u.length > 255 || p.length > 255) throw new SluiceError('INTERNAL', 'SOCKS5 username or password longer than 255 bytes');
  socket.write(Buffer.concat([Buffer.from([0x01, u.length]), u, Buffer.from([p.length]), p]));
  const st = await readMessage(socket, 2, (b) => (b.length >= 2 ? 2 : -1));
  if (st[0] !== 0x01) throw invalid(`auth reply version ${st[0]}`);
  if (st[1] !== 0x00) throw rejected('username/password authentication failed');
}

/** A command (1 CONNECT, 3 UDP ASSOCIATE) and its reply; returns the bound address. */
export async function socks5Command(socket: Socket, cmd: 1 | 3, host: string, port: number): Promise<{ host: string; port: number }> {
  socket.write(Buffer.concat([Buffer.from([0x05, cmd, 0x00]), encodeSocksAddr(host, port)]));
  const rep = await readMessage(socket, 4 + 257 + 2, (b) => {
    if (b.length >= 1 && b[0] !== 0x05) throw invalid(`version ${b[0]} in reply`);
    return addrReplyLength(b, 3);
  });
  if (rep[1] !== 0x00) throw rejected(`request failed: ${REPLY_TEXT[rep[1]!] ?? `reply ${rep[1]}`}`);
  return replyAddr(rep, 3);
}
