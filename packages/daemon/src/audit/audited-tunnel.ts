/**
 * An audited tunnel, g3's order of things (g3proxy/src/inspect/stream): wait for the first bytes from either
 * side (data0_wait_timeout, then the task ends as Idle), read from the side that spoke first until its
 * protocol is known (data0_read_timeout: `_timeout`; data0_buffer_size full: `_unknown`), write an Inspect
 * record, then hand the stream to what the protocol and the auditor's policies say: the HTTP/1 interceptor,
 * a block, or a plain relay. An unknown or timed-out protocol is refused when the task's user prohibits it.
 * Bytes read while inspecting are passed on first, and every byte still reaches the task's counters.
 */
import type { Socket } from 'node:net';
import { SluiceError, toSluiceError, type TaskReason, type TcpSpeedLimit } from '@sluice/common';
import { inspectClientData, inspectServerData, parseClientHello, TlsHelloError, type InspectOptions, type InspectResult } from '@sluice/protocol';
import { sliceBudgets } from '../limit/slice-budget.js';
import { throttleSocket } from '../limit/socket-throttle.js';
import { Relay, RELAY_END_REASON } from '../serve/relay.js';
import type { ServerStats } from '../stat/server-stats.js';
import type { TaskContext, Upstream } from '../task/task.js';
import { logInspect, logIntercept, type InspectSource } from './audit-log.js';
import type { StreamAuditor } from './auditor/index.js';
import { H1Interceptor, type H1Outcome } from './h1/h1-intercept.js';
import { interceptH2 } from './h2/index.js';
import { jsDuplex } from './js-duplex.js';
import { formatUpstream } from '../task/task.js';

/** What a server keeps to drive a tunnel from its idle timer and on quit (same shape as a Relay's). */
export interface TunnelControl {
  idleTick(maxCount: number): boolean;
  abort(): void;
}

export interface AuditedTunnelArgs {
  auditor: StreamAuditor;
  client: Socket;
  upstream: Socket;
  task: TaskContext;
  /** where the task goes: the port picks portmap entries, the host the per-host policies */
  target: Upstream;
  stats: ServerStats | null;
  limit: TcpSpeedLimit | null;
  /** client bytes read before the tunnel started, sent first */
  early: Buffer[];
  /** called once the task's reason or error is set; the server writes the task log and lets go */
  done(): void;
}

/** g3's protocol names for what the inspector says when it cannot tell. */
const UNKNOWN = '_unknown';
const TIMEOUT = '_timeout';

/** The largest ClientHello read for TLS interception (g3's tls_max_client_hello_size). */
const MAX_CLIENT_HELLO = 1 << 14;

/**
 * Byte counts while an interceptor changes what flows (TLS taken off, HTTP/2 re-framed): the task and server
 * counters are set from the sockets' wire counts at the end instead of from what the inner layers moved.
 */
interface WireSnapshot {
  cRd: number; cWr: number; rRd: number; rWr: number;
  rawCRd: number; rawCWr: number; rawURd: number; rawUWr: number;
}

export class AuditedTunnel implements TunnelControl {
  private depth = 0;
  private finished = false;
  private current: TunnelControl | null = null;
  private readonly cfg;
  /** the streams inspected now: the tunnel's sockets, or the cleartext sides of an intercepted TLS layer */
  private client: Socket;
  private upstream: Socket;
  /** inside an intercepted TLS layer: no TLS record is expected there, and HTTP/2 runs over https */
  private inTls = false;
  private wire: WireSnapshot | null = null;
  /** stops the inspection in progress (its timers and listeners) when the task ends meanwhile */
  private cancelInspect: (() => void) | null = null;
  /** the server's tcp_sock_speed_limit was put under the client socket (for interceptors that read it themselves) */
  /** the client-side socket the speed limit is installed beneath (throttleClient) */
  private throttledClient: Socket | null = null;
  private readonly tlsInterceptor;

  constructor(private readonly a: AuditedTunnelArgs) {
    // a task keeps the config (and interceptor) it started with, whatever a reload does meanwhile
    this.cfg = a.auditor.config;
    this.tlsInterceptor = a.auditor.tls;
    this.client = a.client;
    this.upstream = a.upstream;
  }

  start(): void {
    let first: Buffer | null = null;
    if (this.a.early.length) first = this.a.early.length === 1 ? this.a.early[0]! : Buffer.concat(this.a.early);
    this.inspect(first ?? EMPTY, EMPTY, 'stream inspection');
  }

  idleTick(maxCount: number): boolean {
    return this.current ? this.current.idleTick(maxCount) : false;
  }

  abort(): void {
    if (this.current) return this.current.abort();
    this.end({ reason: 'CanceledAsServerQuit' });
  }

  // ---- ending -------------------------------------------------------------------------------------------------

  private end(r: { reason?: TaskReason; error?: SluiceError }): void {
    if (this.finished) return;
    this.finished = true;
    this.current = null;
    this.cancelInspect?.();
    const { task, client, upstream } = this.a;
    if (r.error) task.error = r.error;
    if (r.reason) task.reason = r.reason;
    this.client.destroy();
    this.upstream.destroy();
    client.destroy();
    upstream.destroy();
    if (this.wire) this.settleWireCounts(this.wire);
    this.a.done();
  }

  private block(why: string): void {
    this.end({ error: new SluiceError('PROTOCOL_BANNED', why) });
  }

  /** Block with the protocol's own refusal to the client first (g3 answers SMTP and IMAP clients so). */
  private blockWithReply(reply: string, why: string): void {
    this.upstream.destroy();
    this.a.task.cWrBytes += reply.length;
    const done = () => this.block(why);
    const timer = setTimeout(done, 2000);
    this.client.end(reply, () => {
      clearTimeout(timer);
      done();
    });
  }

  // ---- inspection ---------------------------------------------------------------------------------------------

  /**
   * Find the protocol of the stream from here on. `cData`/`uData` are bytes already read from each side (left
   * over from a previous layer) and not yet passed on.
   */
  private inspect(cData: Buffer, uData: Buffer, source: InspectSource): void {
    if (this.finished) return;
    if (this.depth >= this.cfg.inspection.maxDepth) return this.transitUnknown(cData, uData, UNKNOWN);
    const { client, upstream } = this;
    const task = this.a.task;
    const opts: InspectOptions = {
      serverPort: this.a.target.port, serverPortmap: this.cfg.serverPortmap, limits: this.cfg.inspection.limits, noExplicitSsl: this.inTls,
    };
    const limit = this.cfg.inspection.data0BufferSize;
    let side: 'client' | 'server' | null = null;
    let waitTimer: NodeJS.Timeout | undefined;
    let readTimer: NodeJS.Timeout | undefined;
    let settled = false;

    const cleanup = () => {
      settled = true;
      this.cancelInspect = null;
      clearTimeout(waitTimer);
      clearTimeout(readTimer);
      client.off('data', onClient).off('end', onClientEnd).off('error', onClientError);
      upstream.off('data', onUpstream).off('end', onUpstreamEnd).off('error', onUpstreamError);
      client.pause();
      upstream.pause();
    };
    const decided = (protocol: string) => {
      if (settled) return;
      cleanup();
      this.depth++;
      logInspect(this.a.auditor, task, this.depth, source, protocol);
      this.dispatch(protocol, cData, uData);
    };
    /** set when the server spoke first with nothing a server-first protocol starts with */
    let serverUnknown = false;
    const check = () => {
      const own = side === 'client' ? cData : uData;
      const r: InspectResult = side === 'client' ? inspectClientData(own, opts) : inspectServerData(own, opts);
      if (typeof r === 'number') {
        if (own.length >= limit) decided(UNKNOWN);
        return;
      }
      if (r === 'unknown' && side === 'server') {
        // Some servers speak at once whatever the protocol (an h2c server sends SETTINGS on accept): when the
        // server's first bytes fit no server-first protocol, the client's first bytes decide (g3 would stop here
        // with _unknown, racing the client)
        serverUnknown = true;
        side = 'client';
        client.resume();
        if (cData.length) check();
        return;
      }
      decided(r === 'unknown' ? UNKNOWN : r);
    };
    const begin = (s: 'client' | 'server') => {
      side = s;
      clearTimeout(waitTimer);
      // only the side that spoke first is read until the protocol is known (the other may not speak yet)
      (s === 'client' ? upstream : client).pause();
      readTimer = setTimeout(() => decided(serverUnknown ? UNKNOWN : TIMEOUT), this.cfg.inspection.data0ReadTimeoutMs);
      check();
    };
    const onClient = (chunk: Buffer) => {
      cData = cData.length ? Buffer.concat([cData, chunk]) : chunk;
      if (side === null) begin('client');
      else if (side === 'client') check();
    };
    const onUpstream = (chunk: Buffer) => {
      uData = uData.length ? Buffer.concat([uData, chunk]) : chunk;
      if (side === null) begin('server');
      else if (side === 'server') check();
      else if (uData.length >= limit) upstream.pause(); // kept for the client, bounded
    };
    const gone = (r: { reason?: TaskReason; error?: SluiceError }) => {
      if (settled) return;
      cleanup();
      this.end(r);
    };
    const onClientEnd = () => gone({ reason: 'ClosedByClient' });
    const onUpstreamEnd = () => gone({ reason: 'ClosedByUpstream' });
    const onClientError = (e: Error) => gone({ error: new SluiceError('CLIENT_READ_FAILED', e.message) });
    const onUpstreamError = (e: Error) => gone({ error: new SluiceError('UPSTREAM_READ_FAILED', e.message) });

    this.cancelInspect = cleanup;
    client.on('data', onClient).on('end', onClientEnd).on('error', onClientError);
    upstream.on('data', onUpstream).on('end', onUpstreamEnd).on('error', onUpstreamError);
    // the client is preferred when both sides already have data (g3 polls the client first)
    if (cData.length) begin('client');
    else if (uData.length) begin('server');
    else {
      waitTimer = setTimeout(() => gone({ error: new SluiceError('CLIENT_IDLE', 'no data from either side within data0_wait_timeout') }),
        this.cfg.inspection.data0WaitTimeoutMs);
    }
    if (!settled) {
      client.resume();
      if (side !== 'client') upstream.resume();
    }
  }

  private dispatch(protocol: string, cData: Buffer, uData: Buffer): void {
    const host = this.a.target.host;
    switch (protocol) {
      case UNKNOWN:
        return this.transitUnknown(cData, uData, UNKNOWN);
      case TIMEOUT:
        return this.transitUnknown(cData, uData, TIMEOUT);
      case 'http_1':
        return this.interceptH1(cData, uData);
      case 'http_2': {
        const action = this.cfg.h2Policy.actionFor(host);
        if (action === 'block') return this.block(`HTTP/2 to ${host} is blocked by h2_inspect_policy`);
        if (action === 'intercept') return this.interceptH2(cData, uData);
        // bypass, and detour without a stream detour service (as g3)
        return this.relay(cData, uData, 'Bypass');
      }
      case 'tls_modern':
        if (this.tlsInterceptor) return void this.interceptTls(cData, uData);
        return this.relay(cData, uData, 'Bypass');
      case 'smtp':
        if (this.cfg.smtpPolicy.actionFor(host) === 'block') {
          return this.blockWithReply('554 5.7.1 service blocked by the proxy\r\n', `SMTP to ${host} is blocked by smtp_inspect_policy`);
        }
        return this.relay(cData, uData, 'Bypass');
      case 'imap':
        if (this.cfg.imapPolicy.actionFor(host) === 'block') {
          return this.blockWithReply('* BYE service blocked by the proxy\r\n', `IMAP to ${host} is blocked by imap_inspect_policy`);
        }
        return this.relay(cData, uData, 'Bypass');
      default:
        // TLS without interception and every protocol sluice has no interceptor for: relayed as is
        return this.relay(cData, uData, 'Bypass');
    }
  }

  /** `_unknown` / `_timeout`: refused when the user prohibits it (checked only with a user, as g3), else relayed. */
  private transitUnknown(cData: Buffer, uData: Buffer, protocol: typeof UNKNOWN | typeof TIMEOUT): void {
    const ua = this.a.task.user !== undefined ? this.a.task.userAudit : undefined;
    if (ua && (protocol === UNKNOWN ? ua.prohibitUnknownProtocol : ua.prohibitTimeoutProtocol)) {
      return this.block(protocol === UNKNOWN
        ? `unknown protocol is prohibited for user '${this.a.task.user}'`
        : `protocol inspection timed out and such protocols are prohibited for user '${this.a.task.user}'`);
    }
    this.relay(cData, uData, protocol === UNKNOWN ? 'Unknown' : 'Timeout');
  }

  // ---- after inspection -----------------------------------------------------------------------------------------

  /** Relay the rest as is. `status` is g3's inspect_status of the TransitUnknown records. */
  private relay(cData: Buffer, uData: Buffer, status: 'Bypass' | 'Unknown' | 'Timeout'): void {
    if (this.finished) return;
    const { client, upstream } = this;
    const { task, stats } = this.a;
    const relay = new Relay(client, upstream, task, stats, (end) => {
      this.end({ reason: RELAY_END_REASON[end] });
    }, this.throttledClient === client ? null : this.a.limit);
    const depth = this.depth;
    client.once('end', () => logIntercept(this.a.auditor, task, depth, 'TransitUnknown', [['inspect_status', status], ['task_event', 'ClientShutdown']]));
    upstream.once('end', () => logIntercept(this.a.auditor, task, depth, 'TransitUnknown', [['inspect_status', status], ['task_event', 'UpstreamShutdown']]));
    if (cData.length) relay.sendEarly(cData);
    if (uData.length) this.toClient(uData);
    this.current = relay;
    relay.start();
  }

  /** Bytes read from the upstream and passed to the client outside a Relay (counted as relayed). */
  private toClient(b: Buffer): void {
    const { task, stats } = this.a;
    task.rRdBytes += b.length;
    task.cWrBytes += b.length;
    if (stats) stats.outBytes += b.length;
    this.client.write(b);
  }

  /**
   * The server's per-connection speed limit for interceptors, which read and write the client socket
   * themselves: installed beneath the socket they use, once per socket. Inside intercepted TLS that is the
   * cleartext TLS socket (the TLS layer reads and writes the raw socket natively, past a limit on it), so
   * there the limit counts cleartext bytes.
   */
  private throttleClient(): void {
    if (this.throttledClient === this.client || !this.a.limit?.enabled) return;
    this.throttledClient = this.client;
    const { up, down } = sliceBudgets(this.a.limit);
    throttleSocket(this.client, up, down);
  }

  /** g3: a user's log_uri_max_chars wins over the auditor's */
  private get logUriMaxChars(): number {
    return this.a.task.userLogUriMaxChars ?? this.cfg.logUriMaxChars;
  }

  private interceptH1(cData: Buffer, uData: Buffer): void {
    this.throttleClient();
    const h1 = new H1Interceptor({
      auditor: this.a.auditor,
      config: this.cfg,
      task: this.a.task,
      client: this.client,
      upstream: this.upstream,
      stats: this.a.stats,
      depth: this.depth,
      target: this.a.target,
      logUriMaxChars: this.logUriMaxChars,
    }, (o) => this.afterH1(o));
    this.current = h1;
    if (uData.length) this.toClient(uData);
    h1.start(cData);
  }

  private afterH1(o: H1Outcome): void {
    if (o.kind === 'end') return this.end(o);
    this.current = null;
    // the interceptor counted these as read; they are passed on (and counted) again from here
    const { task, stats } = this.a;
    task.cRdBytes -= o.clientRest.length;
    task.rRdBytes -= o.upstreamRest.length;
    if (stats) {
      stats.inBytes -= o.clientRest.length;
      stats.outBytes -= o.upstreamRest.length;
    }
    if (o.kind === 'relay') return this.relay(o.clientRest, o.upstreamRest, 'Bypass');
    // an upgrade or a CONNECT inside: what follows is a new stream, inspected one level deeper
    this.inspect(o.clientRest, o.upstreamRest, o.source);
  }

  // ---- TLS and HTTP/2 interception ----------------------------------------------------------------------------

  /** From here on the counters come from the tunnel sockets' wire counts (see WireSnapshot). */
  private enterWire(cUnread: number, uUnread: number): void {
    if (this.wire) return;
    const { task, client, upstream } = this.a;
    this.wire = {
      cRd: task.cRdBytes, cWr: task.cWrBytes, rRd: task.rRdBytes, rWr: task.rWrBytes,
      // bytes read while inspecting were not counted yet: they count as read from here
      rawCRd: client.bytesRead - cUnread, rawCWr: client.bytesWritten, rawURd: upstream.bytesRead - uUnread, rawUWr: upstream.bytesWritten,
    };
  }

  private settleWireCounts(w: WireSnapshot): void {
    const { task, client, upstream, stats } = this.a;
    const cRd = client.bytesRead - w.rawCRd;
    const rRd = upstream.bytesRead - w.rawURd;
    if (stats) {
      // the inner layers counted cleartext into the server's traffic; replace it by what went over the wire
      stats.inBytes += cRd - (task.cRdBytes - w.cRd);
      stats.outBytes += rRd - (task.rRdBytes - w.rRd);
    }
    task.cRdBytes = w.cRd + cRd;
    task.cWrBytes = w.cWr + (client.bytesWritten - w.rawCWr);
    task.rRdBytes = w.rRd + rRd;
    task.rWrBytes = w.rWr + (upstream.bytesWritten - w.rawUWr);
  }

  /** Idle checks while an interceptor owns the streams: any byte read on the tunnel sockets is activity. */
  private wireControl(abort: () => void): TunnelControl {
    let last = -1;
    let checks = 0;
    return {
      idleTick: (max) => {
        const n = this.a.client.bytesRead + this.a.upstream.bytesRead;
        if (n !== last) {
          last = n;
          checks = 0;
          return false;
        }
        if (++checks < (this.a.task.userResolve?.idleMaxCount ?? max)) return false;
        this.end({ reason: 'Idle' });
        return true;
      },
      abort,
    };
  }

  /** Read the rest of the ClientHello (inspection only needed its first bytes). */
  private readClientHello(first: Buffer): Promise<Buffer> {
    const client = this.client;
    return new Promise((resolve, reject) => {
      let buf = first;
      const done = (err: Error | null) => {
        clearTimeout(timer);
        client.off('data', onData).off('end', onEnd).off('error', done);
        client.pause();
        if (err) reject(err);
        else resolve(buf);
      };
      const test = (): boolean => {
        try {
          if (parseClientHello(buf, MAX_CLIENT_HELLO)) {
            done(null);
            return true;
          }
        } catch (e) {
          done(new SluiceError('CLIENT_PROTOCOL_INVALID', `bad TLS ClientHello: ${(e as TlsHelloError).message}`));
          return true;
        }
        return false;
      };
      const onData = (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        test();
      };
      const onEnd = () => done(new SluiceError('CLIENT_CLOSED_EARLY', 'client closed during its TLS ClientHello'));
      const timer = setTimeout(() => done(new SluiceError('CLIENT_HEAD_TIMEOUT', 'TLS ClientHello not complete within the accept timeout')),
        this.cfg.tls?.server.acceptTimeoutMs ?? 10_000);
      if (test()) return;
      client.on('data', onData).on('end', onEnd).on('error', done);
      client.resume();
    });
  }

  private async interceptTls(cData: Buffer, uData: Buffer): Promise<void> {
    const interceptor = this.tlsInterceptor!;
    const { task, target, auditor } = this.a;
    const depth = this.depth;
    this.enterWire(cData.length, uData.length);
    this.current = this.wireControl(() => this.end({ reason: 'CanceledAsServerQuit' }));
    const upstreamText = formatUpstream(target);
    let hello: Buffer;
    let r;
    try {
      hello = await this.readClientHello(cData);
      if (this.finished) return;
      r = await interceptor.intercept({
        client: this.client, clientHello: hello, upstream: this.upstream, host: target.host, port: target.port,
        // as g3: h2 is not offered when it would be blocked, so the client speaks HTTP/1.1 instead
        alpnAllowed: (p) => p !== 'h2' || this.cfg.h2Policy.actionFor(target.host) !== 'block',
      });
    } catch (e) {
      const err = toSluiceError(e, 'INTERCEPTION_FAILED');
      logIntercept(auditor, task, depth, 'TlsHandshake', [['upstream', upstreamText]], err.message);
      return this.end({ error: err });
    }
    if (this.finished) {
      r.client.destroy();
      r.upstream.destroy();
      return;
    }
    logIntercept(auditor, task, depth, 'TlsHandshake', [
      ['upstream', upstreamText],
      ['tls_server_verify', r.upstreamVerified ? 'ok' : r.upstreamVerifyError],
    ], 'ok');
    this.client = r.client as unknown as Socket;
    this.upstream = r.upstream as unknown as Socket;
    this.inTls = true;
    this.current = null;
    // the protocol both sides agreed on in ALPN is the protocol inside (g3's `tls alpn` source); without ALPN
    // the cleartext is inspected like any stream
    const byAlpn = r.alpn === 'h2' ? 'http_2' : r.alpn === 'http/1.1' || r.alpn === 'http/1.0' ? 'http_1' : undefined;
    const dump = auditor.dumper?.session({
      client: task.clientAddr, localServer: task.serverAddr, localClient: task.nextBoundAddr, remote: task.nextPeerAddr,
    }, byAlpn ?? '', target.port);
    if (dump) {
      // listeners that only look: the layers inside keep the flow control (these handlers run in the same
      // 'data' events as theirs, and no event fires before they attach below)
      this.client.on('data', dump.toRemote);
      this.upstream.on('data', dump.toClient);
    }
    if (byAlpn && this.depth < this.cfg.inspection.maxDepth) {
      this.depth++;
      logInspect(auditor, task, this.depth, 'tls alpn', byAlpn);
      return this.dispatch(byAlpn, EMPTY, EMPTY);
    }
    this.inspect(EMPTY, EMPTY, 'stream inspection');
  }

  private interceptH2(cData: Buffer, uData: Buffer): void {
    const { task, target, auditor } = this.a;
    this.throttleClient();
    this.enterWire(this.inTls ? 0 : cData.length, this.inTls ? 0 : uData.length);
    // server bytes read while inspecting (an h2c server's SETTINGS) go back to be read by the HTTP/2 client
    if (uData.length) this.upstream.unshift(uData);
    const quit = new AbortController();
    this.current = this.wireControl(() => quit.abort());
    void interceptH2({
      // node:http2 needs the cleartext of an intercepted TLS layer behind JS streams (see js-duplex.ts)
      client: this.inTls ? jsDuplex(this.client) : this.client,
      upstream: this.inTls ? jsDuplex(this.upstream) : this.upstream,
      clientPrefix: cData.length ? cData : undefined,
      upstreamHost: formatUpstream(target),
      upstreamScheme: this.inTls ? 'https' : 'http',
      // a user's (or its explicit site's) http_rsp_header_recv_timeout wins, as in g3
      config: task.userResolve?.httpRspHeadTimeoutMs !== undefined ? { ...this.cfg.h2, rspHeaderRecvTimeout: task.userResolve.httpRspHeadTimeoutMs } : this.cfg.h2,
      log: (fields, msg) => auditor.log.log('Intercept', [['auditor_name', auditor.name], ...fields], msg),
      taskId: task.id,
      depth: this.depth,
      logUriMaxChars: this.logUriMaxChars,
      signal: quit.signal,
    }).then((summary) => {
      if (quit.signal.aborted) return this.end({ reason: 'CanceledAsServerQuit' });
      this.end(summary.errorCode ? { error: new SluiceError(summary.errorCode, summary.message) } : { reason: 'ClosedByClient' });
    });
  }
}

const EMPTY = Buffer.alloc(0);

/** Start an audited tunnel; the returned control goes where the server keeps a relay's. */
export function startAuditedTunnel(args: AuditedTunnelArgs): TunnelControl {
  const t = new AuditedTunnel(args);
  t.start();
  return t;
}
