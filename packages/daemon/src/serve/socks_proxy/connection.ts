/**
 * One client connection to a socks_proxy server: the negotiation (greeting, RFC 1929 login, request) read
 * with the strict incremental codec under one negotiation_timeout, then a TCP connect tunnel or a UDP
 * session. Every refusal answers with the protocol's reply where one exists, ends one task with a reason,
 * and closes only this connection.
 */
import type { Socket } from 'node:net';
import { SluiceError, type ErrorCode } from '@sluice/common';
import {
  AUTH_NO_ACCEPTABLE, AUTH_USERPASS, chooseMethod, CMD_BIND, CMD_CONNECT, CMD_UDP_ASSOCIATE, encodeMethodSelection,
  encodeSocks4Reply, encodeSocks5Reply, encodeUserPassStatus, peekVersion, readSocks4Request, readSocks5Greeting,
  readSocks5Request, readUserPassAuth, SocksParseError, type SocksAddress,
} from '@sluice/protocol';
import { TaskContext } from '../../task/task.js';
import type { AliveWork } from '../base-server.js';
import type { ClientInfo } from '../types.js';
import type { SocksProxyServer } from './server.js';
import { runTcpConnect } from './tcp-connect.js';
import { SocksUdpSession } from './udp-session.js';
import { socksUserOf } from '../../auth/socks-auth.js';

type State = 'greeting' | 'auth' | 'authing' | 'request' | 'task' | 'closed';

/** Longest negotiation message: a SOCKS4a request with 255-byte user id and domain, or RFC 1929's 513 bytes. */
const NEGOTIATION_MAX = 1024;
/** How long a refused client gets to read our reply before the socket is destroyed. */
const CLOSE_LINGER_MS = 2000;

function parseErrorCode(e: SocksParseError): ErrorCode {
  if (e.kind === 'command') return 'CLIENT_PROTOCOL_UNIMPLEMENTED';
  if (e.kind === 'address-type') return 'CLIENT_ADDRESS_TYPE_UNSUPPORTED';
  return 'CLIENT_PROTOCOL_INVALID';
}

/** What runs once the request is read, so idle checks and aborts reach it. */
export interface ActiveTask {
  idleTick(maxCount: number): boolean;
  abort(): void;
  /** bytes on the TCP connection after the request (early tunnel data, or a protocol violation for UDP) */
  onClientData?(chunk: Buffer): void;
  /** the TCP connection ended or failed */
  onClientGone?(how: 'end' | 'error'): void;
}

export class SocksConnection implements AliveWork {
  state: State = 'greeting';
  version: 4 | 5 | 0 = 0;
  user: string | undefined;
  /** bytes read during negotiation (goes to the task's c_rd_bytes) */
  negotiationRead = 0;
  negotiationWritten = 0;
  private buf: Buffer = Buffer.alloc(0);
  private timer: NodeJS.Timeout | undefined;
  active: ActiveTask | null = null;
  private released = false;

  constructor(readonly server: SocksProxyServer, readonly socket: Socket, readonly info: ClientInfo) {}

  get idle(): boolean {
    return this.state === 'greeting' && this.buf.length === 0;
  }

  start(): void {
    const s = this.socket;
    s.setNoDelay(this.server.config.tcpNoDelay);
    s.on('data', this.onData);
    s.on('end', this.onEnd);
    s.on('error', this.onError);
    s.on('close', this.onClose);
    this.timer = setTimeout(this.onTimeout, this.server.config.negotiationTimeoutMs);
    this.timer.unref();
    // listeners hand sockets over paused
    s.resume();
  }

  /**
   * Stop parsing what the client sends (its socket goes to a relay). Only this connection's own reader is
   * removed: a user's speed limit reads the same 'data' events from beneath (limit/socket-throttle.ts).
   */
  detachReader(): void {
    this.socket.off('data', this.onData);
  }

  /** Replies during negotiation (counted for the task log). */
  write(b: Buffer): void {
    this.negotiationWritten += b.length;
    this.socket.write(b);
  }

  // ---- negotiation ------------------------------------------------------------------------------------------

  private readonly onData = (chunk: Buffer): void => {
    if (this.state === 'task') {
      this.active?.onClientData?.(chunk);
      return;
    }
    if (this.state === 'closed') return;
    this.negotiationRead += chunk.length;
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    if (this.state === 'authing') {
      // the client must wait for the login answer; anything more is queued up to the negotiation limit
      if (this.buf.length > NEGOTIATION_MAX) this.refuse(new SluiceError('CLIENT_PROTOCOL_INVALID', 'data sent before the login answer'), null);
      return;
    }
    this.advance();
  };

  /** Consume complete messages from the buffer; bounded by the buffer (each step consumes bytes or stops). */
  private advance(): void {
    try {
      for (let steps = 0; steps < 4 && this.buf.length > 0; steps++) {
        if (this.state === 'greeting') {
          if (!this.readGreeting()) break;
        } else if (this.state === 'auth') {
          if (!this.readLogin()) break;
          return; // the login answer is async; advance() is called again after it
        } else if (this.state === 'request') {
          this.readRequest();
          break;
        } else break;
      }
    } catch (e) {
      this.onParseError(e);
      return;
    }
    if (this.state !== 'task' && this.state !== 'closed' && this.buf.length > NEGOTIATION_MAX) {
      this.refuse(new SluiceError('CLIENT_PROTOCOL_INVALID', `negotiation message over ${NEGOTIATION_MAX} bytes`), null);
    }
  }

  private consume(n: number): void {
    this.buf = n >= this.buf.length ? Buffer.alloc(0) : this.buf.subarray(n);
  }

  /** true when a message was consumed */
  private readGreeting(): boolean {
    const v = peekVersion(this.buf);
    if (v === null) return false;
    this.version = v;
    if (v === 4) {
      const r = readSocks4Request(this.buf);
      if (!r) return false;
      this.consume(r.size);
      this.endNegotiation();
      if (this.server.requireAuth) {
        // SOCKS4 carries no password: a server with users cannot let it in
        this.refuse(new SluiceError('CLIENT_AUTH_REQUIRED', 'SOCKS4 cannot authenticate and this server requires users'), encodeSocks4Reply(false));
        return true;
      }
      if (r.command !== CMD_CONNECT) {
        this.refuse(new SluiceError('CLIENT_PROTOCOL_UNIMPLEMENTED', 'SOCKS4 BIND is not supported'), encodeSocks4Reply(false), r.addr);
        return true;
      }
      this.startTask(CMD_CONNECT, r.addr);
      return true;
    }
    const g = readSocks5Greeting(this.buf);
    if (!g) return false;
    this.consume(g.size);
    const method = chooseMethod(g.methods, this.server.requireAuth);
    if (method === AUTH_NO_ACCEPTABLE) {
      const err = this.server.requireAuth
        ? new SluiceError('CLIENT_AUTH_REQUIRED', 'client does not offer username/password authentication')
        : new SluiceError('CLIENT_PROTOCOL_UNIMPLEMENTED', 'client offers no method this server accepts (no authentication)');
      if (this.server.requireAuth) this.server.stats.forbiddenAuthFailed++;
      this.refuse(err, encodeMethodSelection(AUTH_NO_ACCEPTABLE));
      return true;
    }
    this.write(encodeMethodSelection(method));
    this.state = method === AUTH_USERPASS ? 'auth' : 'request';
    return true;
  }

  private readLogin(): boolean {
    const a = readUserPassAuth(this.buf);
    if (!a) return false;
    this.consume(a.size);
    this.state = 'authing';
    void this.server.authenticate(a.username, a.password, this.info).then((ok) => {
      if (this.state !== 'authing') return; // closed meanwhile
      this.write(encodeUserPassStatus(ok));
      if (!ok) {
        this.server.stats.forbiddenAuthFailed++;
        this.user = a.username;
        // RFC 1929: after a failure status the server must close the connection
        this.refuse(new SluiceError('CLIENT_AUTH_FAILED', `wrong username or password for '${a.username}'`), null);
        return;
      }
      this.user = a.username;
      this.state = 'request';
      try {
        if (this.buf.length > 0) this.readRequest();
      } catch (e) {
        this.onParseError(e);
      }
    });
    return true;
  }

  private readRequest(): void {
    const r = readSocks5Request(this.buf);
    if (!r) return;
    this.consume(r.size);
    this.endNegotiation();
    if (r.command === CMD_BIND) {
      this.refuse(new SluiceError('CLIENT_PROTOCOL_UNIMPLEMENTED', 'SOCKS5 BIND is not supported'), encodeSocks5Reply(0x07), r.addr);
      return;
    }
    this.startTask(r.command, r.addr);
  }

  private endNegotiation(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private startTask(command: number, addr: SocksAddress): void {
    this.state = 'task';
    const early = this.buf;
    this.buf = Buffer.alloc(0);
    if (command === CMD_UDP_ASSOCIATE) {
      // either the server or the user (socks_use_udp_associate) asks for RFC 1928 associate over udp connect
      const associate = this.server.config.useUdpAssociate || socksUserOf(this.info)?.config.socksUseUdpAssociate === true;
      const session = new SocksUdpSession(this, addr, associate ? 'associate' : 'connect');
      this.active = session;
      void session.start();
      // the TCP connection of a UDP session carries nothing after the request
      if (early.length > 0) session.onClientData(early);
      return;
    }
    void runTcpConnect(this, addr, early);
  }

  private onParseError(e: unknown): void {
    if (!(e instanceof SocksParseError)) {
      this.refuse(new SluiceError('INTERNAL', String((e as Error)?.message ?? e)), null);
      return;
    }
    const err = new SluiceError(parseErrorCode(e), e.message);
    let reply: Buffer | null = null;
    if (this.version === 4) reply = e.kind === 'version' ? null : encodeSocks4Reply(false);
    else if (this.state === 'greeting' && e.kind === 'methods') reply = encodeMethodSelection(AUTH_NO_ACCEPTABLE);
    else if (this.state === 'request' && e.reply !== null) reply = encodeSocks5Reply(e.reply);
    this.refuse(err, reply);
  }

  /** A task for a connection that ends before a task of its own began: one log line with the reason. */
  newFailedTask(addr?: SocksAddress): TaskContext {
    const t = new TaskContext('TcpConnect', this.server.name, this.server.logName, this.info.clientAddr, this.info.serverAddr);
    t.user = this.user;
    if (addr) t.upstream = { host: addr.host, port: addr.port, ipFamily: addr.ipFamily };
    t.cRdBytes = this.negotiationRead;
    t.cWrBytes = this.negotiationWritten;
    return t;
  }

  /** Refuse during negotiation: send `reply` (if any), log one task with `err`, close. */
  refuse(err: SluiceError, reply: Buffer | null, addr?: SocksAddress): void {
    if (this.state === 'closed') return;
    this.server.stats.negotiationFailed++;
    if (reply && !this.socket.destroyed) this.write(reply);
    const t = this.newFailedTask(addr);
    this.server.beginTask(t);
    t.error = err;
    this.server.endTask(t);
    this.close();
  }

  // ---- lifecycle --------------------------------------------------------------------------------------------

  private readonly onTimeout = (): void => {
    if (this.state === 'task' || this.state === 'closed') return;
    // nothing at all was sent: a port probe, not worth a task log line
    if (this.negotiationRead === 0) {
      this.close();
      return;
    }
    this.refuse(new SluiceError('CLIENT_HEAD_TIMEOUT', `negotiation not finished within ${this.server.config.negotiationTimeoutMs}ms`), null);
  };

  private readonly onEnd = (): void => {
    if (this.state === 'task') {
      this.active?.onClientGone?.('end');
      return;
    }
    this.gone();
  };

  private readonly onError = (): void => {
    if (this.state === 'task') {
      this.active?.onClientGone?.('error');
      return;
    }
    this.gone();
  };

  private readonly onClose = (): void => {
    if (this.state === 'task') {
      this.active?.onClientGone?.('error');
      return;
    }
    this.gone();
  };

  /** The client left during negotiation. */
  private gone(): void {
    if (this.state === 'closed') return;
    if (this.negotiationRead > 0) {
      this.refuse(new SluiceError('CLIENT_CLOSED_EARLY', 'client closed during negotiation'), null);
      return;
    }
    this.close();
  }

  /** Close the client connection (after flushing any reply) and stop tracking it. */
  close(): void {
    if (this.state === 'closed') {
      this.release();
      return;
    }
    this.state = 'closed';
    this.endNegotiation();
    this.socket.end();
    const t = setTimeout(() => this.socket.destroy(), CLOSE_LINGER_MS);
    t.unref();
    this.socket.once('close', () => clearTimeout(t));
    this.release();
  }

  /** Stop counting this connection as alive work (once). */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.server.connectionClosed(this);
  }

  abort(): void {
    if (this.active) {
      this.active.abort();
      return;
    }
    this.state = 'closed';
    this.endNegotiation();
    this.socket.destroy();
    this.release();
  }

  idleTick(max: number): boolean {
    return this.active ? this.active.idleTick(max) : false;
  }
}
