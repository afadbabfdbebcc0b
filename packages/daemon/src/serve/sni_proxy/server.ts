/**
 * The `sni_proxy` server (g3's SniProxy): reads the client's first bytes without answering — a TLS ClientHello
 * gives the destination by its SNI, an HTTP/1 request by its Host header — and relays the connection there,
 * replaying what was read. The port is the one the client connected to unless the Host header names one.
 */
import type { Socket } from 'node:net';
import { SluiceError, toSluiceError } from '@sluice/common';
import { HeadReader, looksLikeTls, parseClientHello, parseHostHeader, parseRequestHead, TlsHelloError } from '@sluice/protocol';
import type { Upstream } from '../../task/task.js';
import type { AliveWork } from '../base-server.js';
import { StreamServer } from '../tcp_stream/stream-server.js';
import type { ClientInfo } from '../types.js';
import type { SniProxyConfig } from './config.js';
import { hostKey, redirect } from './hosts.js';

export class SniProxyServer extends StreamServer<SniProxyConfig> {
  readonly logName = 'SniProxy';

  acceptSocket(socket: Socket, info: ClientInfo): void {
    this.stats.connTotal++;
    const r = new RequestReader(this, socket, info);
    this.track(r);
    r.start();
  }

  /** The first bytes named `upstream`: check allowed_hosts, redirect, then run the stream task. */
  routeRequest(r: RequestReader, socket: Socket, info: ClientInfo, asked: Upstream, early: Buffer): void {
    this.untrack(r);
    const task = this.newTask(info);
    task.upstream = asked;
    const allowed = this.config.allowedHosts;
    let upstream = asked;
    if (allowed) {
      const entry = allowed.get(hostKey(asked.host));
      if (!entry) return this.failEarly(task, socket, new SluiceError('FORBIDDEN_DESTINATION', `host ${asked.host} is not in allowed_hosts`));
      upstream = redirect(entry, asked);
    }
    if (!this.online) return this.failEarly(task, socket, new SluiceError('SERVER_QUIT', 'server is going offline'));
    this.runStream(socket, info, task, { upstream, early });
  }

  /** The first bytes were not a usable request: one task records why. */
  refuseRequest(r: RequestReader, socket: Socket, info: ClientInfo, err: SluiceError | null): void {
    this.untrack(r);
    if (!err) {
      // closed before sending anything (a port probe): nothing to record
      socket.destroy();
      return;
    }
    this.failEarly(this.newTask(info), socket, err);
  }
}

const enum Kind {
  Unknown,
  Tls,
  Http,
}

/**
 * Reads until the request names its destination, within request_wait_timeout for the first bytes and
 * request_recv_timeout for the rest. Everything read is kept, once, in one buffer grown by doubling.
 */
class RequestReader implements AliveWork {
  /** nothing read yet: the connection can be dropped when the server goes offline */
  idle = true;
  private buf: Buffer;
  private len = 0;
  private kind = Kind.Unknown;
  private head: HeadReader | null = null;
  private timer: NodeJS.Timeout | undefined;
  private finished = false;

  constructor(private readonly server: SniProxyServer, private readonly socket: Socket, private readonly info: ClientInfo) {
    this.buf = Buffer.allocUnsafe(server.config.initialBufferSize);
  }

  start(): void {
    const s = this.socket;
    s.on('data', this.onData);
    s.on('end', this.onEnd);
    s.on('close', this.onEnd);
    s.on('error', this.onError);
    this.timer = setTimeout(this.onTimeout, this.server.config.requestWaitTimeoutMs);
    // accepted sockets may arrive paused (pauseOnConnect, or handed over by a port in front)
    s.resume();
  }

  abort(): void {
    this.done(new SluiceError('SERVER_QUIT', 'server is quitting'));
  }

  private readonly onTimeout = (): void => {
    this.done(new SluiceError('CLIENT_HEAD_TIMEOUT', this.len === 0 ? 'timeout to wait client request' : 'timeout to receive full client request'));
  };

  private readonly onEnd = (): void => {
    this.done(this.len === 0 ? null : new SluiceError('CLIENT_CLOSED_EARLY', 'client closed before its request was complete'));
  };

  private readonly onError = (e: Error): void => {
    this.done(new SluiceError('CLIENT_READ_FAILED', e.message));
  };

  private readonly onData = (chunk: Buffer): void => {
    if (this.finished) return;
    if (this.len === 0) {
      // the first bytes are in: the rest of the request gets request_recv_timeout
      this.idle = false;
      clearTimeout(this.timer);
      this.timer = setTimeout(this.onTimeout, this.server.config.requestRecvTimeoutMs);
    }
    this.append(chunk);
    try {
      const up = this.kind === Kind.Unknown ? this.detect(chunk) : this.kind === Kind.Tls ? this.tlsTarget() : this.httpTarget(chunk);
      if (up) this.route(up);
    } catch (e) {
      if (e instanceof TlsHelloError) {
        this.done(new SluiceError(e.kind === 'oversize' ? 'CLIENT_HEAD_TOO_LARGE' : 'CLIENT_PROTOCOL_INVALID', `invalid TLS ClientHello: ${e.message}`));
      } else {
        this.done(toSluiceError(e, 'CLIENT_PROTOCOL_INVALID'));
      }
    }
  };

  private append(chunk: Buffer): void {
    const need = this.len + chunk.length;
    if (need > this.buf.length) {
      let size = this.buf.length * 2;
      while (size < need) size *= 2;
      const next = Buffer.allocUnsafe(size);
      this.buf.copy(next, 0, 0, this.len);
      this.buf = next;
    }
    chunk.copy(this.buf, this.len);
    this.len = need;
  }

  private detect(chunk: Buffer): Upstream | null {
    const first = this.buf[0]!;
    if (looksLikeTls(first)) {
      this.kind = Kind.Tls;
      return this.tlsTarget();
    }
    // an HTTP/1 request starts with its method, a token of capital letters in practice
    if (first >= 0x41 && first <= 0x5a) {
      this.kind = Kind.Http;
      this.head = new HeadReader();
      return this.httpTarget(chunk);
    }
    throw new SluiceError('CLIENT_PROTOCOL_INVALID', 'unable to detect client protocol (neither TLS nor HTTP/1)');
  }

  private tlsTarget(): Upstream | null {
    const hello = parseClientHello(this.buf.subarray(0, this.len), this.server.config.tlsMaxClientHelloSize);
    if (!hello) return null;
    if (!hello.serverName) throw new SluiceError('CLIENT_PROTOCOL_INVALID', 'no server name found in tls client hello message');
    return { host: hello.serverName, port: this.info.serverPort, ipFamily: 0 };
  }

  private httpTarget(chunk: Buffer): Upstream | null {
    const got = this.head!.push(chunk);
    if (!got) return null;
    const req = parseRequestHead(got.head);
    if (req.host === undefined || req.host === '') throw new SluiceError('CLIENT_PROTOCOL_INVALID', 'no host header found in http request');
    const hp = parseHostHeader(req.host, this.info.serverPort);
    return { host: hp.host, port: hp.port, ipFamily: hp.hostKind === 'ipv6' ? 6 : hp.hostKind === 'ipv4' ? 4 : 0 };
  }

  private detach(): void {
    this.finished = true;
    clearTimeout(this.timer);
    const s = this.socket;
    // paused before the listener goes, so nothing read from here on is lost: the stream task reads it
    s.pause();
    s.off('data', this.onData);
    s.off('end', this.onEnd);
    s.off('close', this.onEnd);
    s.off('error', this.onError);
  }

  private route(up: Upstream): void {
    this.detach();
    this.server.routeRequest(this, this.socket, this.info, up, this.buf.subarray(0, this.len));
  }

  private done(err: SluiceError | null): void {
    if (this.finished) return;
    this.detach();
    this.server.refuseRequest(this, this.socket, this.info, err);
  }
}
