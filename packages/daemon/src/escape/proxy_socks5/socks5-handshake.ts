/**
 * Drives the client half of a SOCKS5 handshake with a next proxy over a socket: the messages are @sluice/protocol's
 * codecs, this only writes them, reads the replies and maps the outcome the way g3 does — a refusal by the peer is
 * UpstreamNotNegotiated, a malformed reply InvalidUpstreamProtocol.
 */
import type { Socket } from 'node:net';
import { SluiceError } from '@sluice/common';
import {
  AUTH_NO_ACCEPTABLE, AUTH_NONE, AUTH_USERPASS, encodeSocks5Greeting, encodeSocks5Request, encodeUserPassAuth, readMethodSelection,
  readSocks5Reply, readUserPassStatus, socks5ReplyText, SocksParseError, type SocksAddress,
} from '@sluice/protocol';
import { readMessage } from '../proxy-peer.js';

const rejected = (why: string) => new SluiceError('UPSTREAM_NOT_NEGOTIATED', `SOCKS5 peer: ${why}`);

/** The largest reply: VER REP RSV, a 255-byte domain with its length and ATYP, the port. */
const MAX_REPLY = 3 + 1 + 1 + 255 + 2;

/** Reads one message with a protocol reader; a SocksParseError (the peer broke the protocol) becomes UPSTREAM_PROTOCOL_INVALID. */
async function readReply<T extends { size: number }>(socket: Socket, max: number, read: (b: Buffer) => T | null): Promise<T> {
  let msg: T | null = null;
  try {
    await readMessage(socket, max, (b) => {
      msg = read(b);
      return msg === null ? -1 : msg.size;
    });
  } catch (e) {
    if (e instanceof SocksParseError) throw new SluiceError('UPSTREAM_PROTOCOL_INVALID', `SOCKS5 peer: ${e.message}`, { cause: e });
    throw e;
  }
  return msg!;
}

/** Greeting, then RFC 1929 username/password when credentials are given and the peer picks that method. */
export async function socks5Greet(socket: Socket, creds: { username: string; password: string } | undefined): Promise<void> {
  socket.write(encodeSocks5Greeting(creds ? [AUTH_NONE, AUTH_USERPASS] : [AUTH_NONE]));
  const { method } = await readReply(socket, 2, readMethodSelection);
  if (method === AUTH_NONE) return;
  if (method === AUTH_NO_ACCEPTABLE) throw rejected('no acceptable authentication method');
  if (method !== AUTH_USERPASS || !creds) throw rejected(`unsupported method ${method} selected`);
  let auth: Buffer;
  try {
    auth = encodeUserPassAuth(creds.username, creds.password);
  } catch (e) {
    throw new SluiceError('UPSTREAM_NOT_NEGOTIATED', `SOCKS5 credentials cannot be sent: ${(e as Error).message}`, { cause: e });
  }
  socket.write(auth);
  const { ok } = await readReply(socket, 2, readUserPassStatus);
  if (!ok) throw rejected('username/password authentication failed');
}

/** A request (CMD_CONNECT, CMD_UDP_ASSOCIATE) and its reply; returns the bound address the peer answered. */
export async function socks5Command(socket: Socket, command: number, host: string, port: number): Promise<SocksAddress> {
  let req: Buffer;
  try {
    req = encodeSocks5Request(command, host, port);
  } catch (e) {
    // only a domain over 255 bytes cannot be written
    throw new SluiceError('CLIENT_ADDRESS_TYPE_UNSUPPORTED', `SOCKS5 cannot carry '${host.slice(0, 64)}…': ${(e as Error).message}`, { cause: e });
  }
  socket.write(req);
  const rep = await readReply(socket, MAX_REPLY, readSocks5Reply);
  if (rep.reply !== 0) throw rejected(`request failed: ${socks5ReplyText(rep.reply)}`);
  return rep.bound;
}
