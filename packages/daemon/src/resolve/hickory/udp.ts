/**
 * One query over UDP; resolves 'truncated' when the server set TC (the caller retries over TCP). RFC 1035 §4.2.1.
 * Each exchange uses its own connected socket: the kernel then drops
 * datagrams from any other address, the source port is fresh per query (RFC 5452), and an ICMP port
 * unreachable surfaces as ECONNREFUSED instead of a silent wait.
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { DnsFormatError, parseMessage, peekHeader, responseMismatch, type DnsMessage } from '@sluice/protocol';
import { ExchangeError, socketFailure } from './exchange-error.js';

export interface UdpTarget {
  ip: string;
  port: number;
  bindIp: string | undefined;
}

export function udpExchange(
  t: UdpTarget, query: Buffer, id: number, name: string, type: number, timeoutMs: number, signal: AbortSignal,
): Promise<DnsMessage | 'truncated'> {
  return new Promise((resolve, reject) => {
    const sock: Socket = createSocket({ type: isIPv6(t.ip) ? 'udp6' : 'udp4' });
    let done = false;
    const finish = (err: Error | null, msg?: DnsMessage | 'truncated') => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      sock.close();
      if (err) reject(err);
      else resolve(msg!);
    };
    const onAbort = () => finish(new ExchangeError('closed', 'resolver closed'));
    const timer = setTimeout(() => finish(new ExchangeError('timeout', `no answer from ${t.ip}:${t.port} within ${timeoutMs}ms`)), timeoutMs);
    signal.addEventListener('abort', onAbort, { once: true });
    sock.on('error', (e) => finish(socketFailure(e, `udp ${t.ip}:${t.port}`)));
    sock.on('message', (buf) => {
      const h = peekHeader(buf);
      // not ours (a stray or late datagram): keep waiting for the real answer until the timer
      if (!h || !h.response || h.id !== id) return;
      // a truncated answer may be cut anywhere: its header alone says "ask again over TCP"
      if (h.truncated) return finish(null, 'truncated');
      let msg: DnsMessage;
      try {
        msg = parseMessage(buf);
      } catch (e) {
        return finish(new ExchangeError('malformed', `malformed answer from ${t.ip}:${t.port}: ${(e as DnsFormatError).message}`, { cause: e }));
      }
      if (responseMismatch(msg, id, name, type) !== null) return;
      finish(null, msg);
    });
    const connect = () => sock.connect(t.port, t.ip, () => sock.send(query, (e) => e && finish(socketFailure(e, `udp ${t.ip}:${t.port}`))));
    if (t.bindIp) sock.bind(0, t.bindIp, connect);
    else connect();
  });
}
