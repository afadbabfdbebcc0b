/**
 * HTTP/2 interception (g3's H2InterceptObject::do_intercept) over two cleartext streams: an HTTP/2 client session
 * to the upstream, then a server session on the client's stream, and every client stream forwarded to an
 * upstream stream (stream-forward.ts).
 *
 * Order, as g3's: the upstream handshake first (its SETTINGS decide what the client is offered: min(its
 * MAX_CONCURRENT_STREAMS, ours) and extended CONNECT only if it enables it), then the client handshake.
 * PING from either peer is answered by its session; the upstream is pinged every `ping_interval` (H2Ping record).
 * A GOAWAY or a closed connection on one side closes the other gracefully (GOAWAY, running streams finish, new
 * ones are refused); what is still open CLOSE_GRACE_MS later is destroyed. The promise resolves, never rejects,
 * once both sessions are closed, after the H2Connection record.
 */
import http2, { type ClientHttp2Session, type IncomingHttpHeaders, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import type { Duplex } from 'node:stream';
import type { ErrorCode } from '@sluice/common';
import type { H2InterceptionConfig } from './config.js';
import { connectionRecord, pingRecord, type H2InterceptLog } from './records.js';
import { forwardStream, type H2StreamCounters, type H2StreamHost } from './stream-forward.js';

export interface H2InterceptArgs {
  /** the client's cleartext stream (a TCP socket, or the client side of a TLS interception) */
  client: Duplex;
  /** the upstream's cleartext stream, connected */
  upstream: Duplex;
  /** bytes already read from `client` (the connection preface seen by protocol inspection); replayed first */
  clientPrefix?: Buffer;
  /** `host:port` of the upstream: the client session's authority and the `upstream` log field */
  upstreamHost: string;
  upstreamScheme: 'http' | 'https';
  config: H2InterceptionConfig;
  /** receives each Intercept record (the caller adds `auditor_name` and writes it to the audit logger) */
  log: H2InterceptLog;
  taskId: string;
  /** inspection depth, the records' `depth` */
  depth: number;
  /** the server's `log_uri_max_chars` applied to the `uri` field (default 1024) */
  logUriMaxChars?: number;
  /** abort = the server is quitting: both sessions are closed gracefully */
  signal?: AbortSignal;
  /**
   * ms without any stream alive after which the connection is closed (GOAWAY) as idle: g3's idle check
   * (`task_idle_check_duration` x `task_idle_max_count` of the server). Absent or 0 = never.
   */
  idleTimeout?: number;
}

export interface H2InterceptSummary extends H2StreamCounters {
  /** why the connection ended, when not by a clean close of either side */
  errorCode?: ErrorCode;
  /** `finished` or what went wrong, as in the H2Connection record */
  message: string;
}

/** How long a session that was asked to close gracefully may keep streams open before it is destroyed. */
const CLOSE_GRACE_MS = 10_000;

export function interceptH2(args: H2InterceptArgs): Promise<H2InterceptSummary> {
  return new H2Interception(args).run();
}

class H2Interception implements H2StreamHost {
  readonly cfg: H2InterceptionConfig;
  readonly taskId: string;
  readonly depth: number;
  readonly logUriMaxChars: number;
  readonly log: H2InterceptLog;
  readonly counters: H2InterceptSummary = {
    streams: 0, alive: 0, forwarded: 0, connects: 0, extendedConnects: 0, refused: 0, extendedRefused: 0,
    resets: 0, clientToUpstreamBytes: 0, upstreamToClientBytes: 0, message: 'finished',
  };
  ups!: ClientHttp2Session;
  private clt: ServerHttp2Session | undefined;
  private upsClosing = false;
  private timers: NodeJS.Timeout[] = [];
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(private readonly args: H2InterceptArgs) {
    this.cfg = args.config;
    this.taskId = args.taskId;
    this.depth = args.depth;
    this.logUriMaxChars = args.logUriMaxChars ?? 1024;
    const log = args.log;
    // a failing log sink must not take the connection down with it: records are called from event handlers
    this.log = (fields, msg) => {
      try {
        log(fields, msg);
      } catch {
        // dropped, as a logger drops what it cannot send
      }
    };
  }

  upstreamUsable(): boolean {
    return !this.upsClosing && !this.ups.closed && !this.ups.destroyed;
  }

  streamOpened(): void {
    if (this.idleTimer) {
      clearTimeout(this.idleTimer);
      this.idleTimer = undefined;
    }
  }

  streamClosed(): void {
    if (this.counters.alive === 0) this.armIdle();
  }

  private armIdle(): void {
    const ms = this.args.idleTimeout ?? 0;
    if (ms <= 0 || this.upsClosing) return;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      this.fail('CLIENT_IDLE', `idle for ${ms}ms`);
      this.closeGracefully();
    }, ms);
  }

  /** The first error wins: later ones are consequences of it. */
  private fail(code: ErrorCode, message: string): void {
    if (this.counters.errorCode !== undefined) return;
    this.counters.errorCode = code;
    this.counters.message = message;
  }

  async run(): Promise<H2InterceptSummary> {
    const { args } = this;
    const onAbort = (): void => {
      this.fail('SERVER_QUIT', 'canceled as server quit');
      this.closeGracefully();
    };
    try {
      if (args.signal?.aborted) {
        this.fail('SERVER_QUIT', 'canceled as server quit');
        args.client.destroy();
        args.upstream.destroy();
        return this.done();
      }
      args.signal?.addEventListener('abort', onAbort, { once: true });
      // the sessions own the streams' errors while they run; this keeps a late one (after a session let go of
      // its socket) from being an uncaught 'error'
      args.client.on('error', ignore);
      args.upstream.on('error', ignore);
      if (!(await this.connectUpstream())) {
        // g3 drops the client without a handshake when the upstream one fails
        args.client.destroy();
        await this.sessionClosed(this.ups);
        return this.done();
      }
      this.serveClient(this.ups.remoteSettings);
      await Promise.all([this.sessionClosed(this.ups), this.sessionClosed(this.clt!)]);
      return this.done();
    } catch (e) {
      // node:http2 throws synchronously on what it cannot start (a malformed authority): end, never reject
      this.fail('INTERNAL', `h2 interception failed: ${(e as Error).message}`);
      this.ups?.destroy();
      this.clt?.destroy();
      return this.done();
    } finally {
      args.signal?.removeEventListener('abort', onAbort);
      for (const t of this.timers) clearTimeout(t);
      if (this.idleTimer) clearTimeout(this.idleTimer);
      if (!args.client.destroyed) args.client.destroy();
      if (!args.upstream.destroyed) args.upstream.destroy();
    }
  }

  private done(): H2InterceptSummary {
    const c = this.counters;
    this.log(connectionRecord(this.taskId, this.depth, this.args.upstreamHost, c.streams, c.alive), c.message);
    return c;
  }

  private sessionClosed(s: ClientHttp2Session | ServerHttp2Session): Promise<void> {
    if (s.destroyed) return Promise.resolve();
    return new Promise((resolve) => s.once('close', () => resolve()));
  }

  /** Starts the upstream session and waits for its SETTINGS; false when the handshake failed. */
  private connectUpstream(): Promise<boolean> {
    const { args, cfg } = this;
    const ups = http2.connect(`${args.upstreamScheme}://${args.upstreamHost}`, {
      createConnection: () => args.upstream,
      settings: {
        enablePush: false, // server push: deprecated by browsers and servers, never relayed
        maxConcurrentStreams: 0,
        maxHeaderListSize: cfg.maxHeaderListSize,
        maxFrameSize: cfg.maxFrameSize,
        initialWindowSize: cfg.streamWindowSize,
      },
      maxHeaderListPairs: 4096,
    });
    this.ups = ups;
    ups.on('error', (e: Error) => this.fail(sessionErrorCode(e, 'upstream'), `upstream connection error: ${e.message}`));
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.fail('UPSTREAM_NEGOTIATION_TIMEOUT', 'upstream handshake timeout');
        ups.destroy();
        resolve(false);
      }, cfg.upstreamHandshakeTimeout);
      const onClose = (): void => {
        clearTimeout(timer);
        this.fail('UPSTREAM_CLOSED', 'upstream closed during the handshake');
        resolve(false);
      };
      ups.once('close', onClose);
      ups.once('remoteSettings', () => {
        clearTimeout(timer);
        ups.off('close', onClose);
        setLocalWindow(ups, cfg.connectionWindowSize);
        this.watchUpstream();
        resolve(true);
      });
    });
  }

  private watchUpstream(): void {
    const ups = this.ups;
    ups.on('goaway', () => {
      this.upsClosing = true;
      this.clt?.close();
      this.graceTimer(this.clt);
    });
    ups.once('close', () => {
      this.upsClosing = true;
      if (this.clt && !this.clt.closed) {
        this.clt.close();
        this.graceTimer(this.clt);
      }
    });
    if (this.cfg.pingInterval > 0) {
      const ping = setInterval(() => {
        if (ups.destroyed || ups.closed) return;
        try {
          ups.ping((err, rttMs) => {
            const c = this.counters;
            this.log(pingRecord(this.taskId, this.depth, this.args.upstreamHost, err ? 0 : rttMs, c.streams, c.alive), err ? err.message : 'ok');
          });
        } catch {
          // too many unanswered pings: the session is failing and will say so itself
        }
      }, this.cfg.pingInterval);
      ping.unref();
      ups.once('close', () => clearInterval(ping));
    }
  }

  private serveClient(upsSettings: http2.Settings): void {
    const { args, cfg } = this;
    const server = http2.createServer({
      settings: {
        maxConcurrentStreams: Math.min(upsSettings.maxConcurrentStreams ?? 0xffff_ffff, cfg.maxConcurrentStreams),
        maxHeaderListSize: cfg.maxHeaderListSize,
        maxFrameSize: cfg.maxFrameSize,
        initialWindowSize: cfg.streamWindowSize,
        enableConnectProtocol: upsSettings.enableConnectProtocol === true,
      },
      maxHeaderListPairs: 4096,
    });
    server.on('sessionError', () => {});
    server.once('session', (s: ServerHttp2Session) => {
      this.clt = s;
    });
    // protocol inspection already read these bytes; the session reads a socket's buffered data first
    if (args.clientPrefix && args.clientPrefix.length > 0) args.client.unshift(args.clientPrefix);
    server.emit('connection', args.client);
    const clt = this.clt!;

    clt.on('error', (e: Error) => this.fail(sessionErrorCode(e, 'client'), `client connection error: ${e.message}`));
    clt.on('stream', (cs: ServerHttp2Stream, headers: IncomingHttpHeaders) => forwardStream(this, cs, headers));

    const handshake = setTimeout(() => {
      this.fail('CLIENT_HEAD_TIMEOUT', 'client handshake timeout');
      clt.destroy();
    }, cfg.clientHandshakeTimeout);
    this.timers.push(handshake);
    clt.once('remoteSettings', () => {
      clearTimeout(handshake);
      setLocalWindow(clt, cfg.connectionWindowSize);
      if (this.counters.alive === 0) this.armIdle();
    });
    clt.on('goaway', () => {
      this.ups.close();
      this.graceTimer(this.ups);
    });
    clt.once('close', () => {
      clearTimeout(handshake);
      if (!this.ups.closed) {
        this.ups.close();
        this.graceTimer(this.ups);
      }
    });
    // the upstream may have gone while the client session was being set up
    if (this.ups.destroyed) {
      this.upsClosing = true;
      clt.close();
      this.graceTimer(clt);
    }
  }

  private closeGracefully(): void {
    this.upsClosing = true;
    if (this.clt) {
      this.clt.close();
      this.graceTimer(this.clt);
    }
    if (this.ups) {
      this.ups.close();
      this.graceTimer(this.ups);
    }
  }

  private graceTimer(s: ClientHttp2Session | ServerHttp2Session | undefined): void {
    if (!s || s.destroyed) return;
    const t = setTimeout(() => {
      if (!s.destroyed) s.destroy();
    }, CLOSE_GRACE_MS);
    t.unref();
    this.timers.push(t);
  }
}

/** The connection-level receive window (SETTINGS cannot set it: only a WINDOW_UPDATE on stream 0 can). */
function setLocalWindow(s: ClientHttp2Session | ServerHttp2Session, size: number): void {
  if (size <= 65_535 || s.destroyed) return;
  try {
    s.setLocalWindowSize(size);
  } catch {
    // a session closing under us: nothing to tune any more
  }
}

function ignore(): void {}

/** node:http2's own errors (ERR_HTTP2_*) are protocol violations; anything else is the transport failing. */
function sessionErrorCode(e: Error, side: 'client' | 'upstream'): ErrorCode {
  const code = (e as NodeJS.ErrnoException).code ?? '';
  if (code.startsWith('ERR_HTTP2')) return side === 'client' ? 'CLIENT_PROTOCOL_INVALID' : 'UPSTREAM_PROTOCOL_INVALID';
  if (code === 'ECONNRESET' || code === 'EPIPE') return side === 'client' ? 'CLIENT_CLOSED' : 'UPSTREAM_CLOSED';
  return side === 'client' ? 'CLIENT_READ_FAILED' : 'UPSTREAM_READ_FAILED';
}
