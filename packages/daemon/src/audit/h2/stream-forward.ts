/**
 * One client stream of an intercepted HTTP/2 connection, carried to one upstream stream: a forwarded request
 * (H2StreamForward), a standard CONNECT tunnel (H2Connect) or an extended CONNECT (H2ExtendedConnect, RFC 8441).
 *
 * Both bodies are piped, so a side that does not read (its flow-control window closed) stops the other side's
 * reading, and so its sender's window: nothing here buffers more than the streams' high-water marks.
 * A reset on either side resets the other with the same code; a side that vanishes without a reset (its session
 * died) resets the other with INTERNAL_ERROR (CONNECT_ERROR for tunnels, RFC 9113 §8.5).
 */
import http2, {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';
import type { H2InterceptionConfig } from './config.js';
import { connectTarget, forwardHeaders, requestUri } from './headers.js';
import { H2StreamNotes, streamRecord, type H2InterceptLog, type H2StreamKind } from './records.js';

const {
  NGHTTP2_NO_ERROR,
  NGHTTP2_CANCEL,
  NGHTTP2_INTERNAL_ERROR,
  NGHTTP2_REFUSED_STREAM,
  NGHTTP2_CONNECT_ERROR,
} = http2.constants;

/** Counters the streams of one connection add to (the connection's summary). */
export interface H2StreamCounters {
  streams: number;
  alive: number;
  forwarded: number;
  connects: number;
  extendedConnects: number;
  /** streams answered without an upstream stream: refused (REFUSED_STREAM), 417, 400 for unsupported extended CONNECT */
  refused: number;
  /** extended CONNECT streams refused because sluice (as g3) does not relay their protocol */
  extendedRefused: number;
  /** streams that ended in a reset on either side */
  resets: number;
  clientToUpstreamBytes: number;
  upstreamToClientBytes: number;
}

/** What a stream needs of its connection. */
export interface H2StreamHost {
  readonly cfg: H2InterceptionConfig;
  readonly ups: ClientHttp2Session;
  readonly taskId: string;
  readonly depth: number;
  readonly logUriMaxChars: number;
  readonly log: H2InterceptLog;
  readonly counters: H2StreamCounters;
  /** false once the upstream session is going away: new streams are refused */
  upstreamUsable(): boolean;
  /** called once per client stream, when it arrives */
  streamOpened(): void;
  /** called once per client stream, when both halves are closed (after its record) */
  streamClosed(): void;
}

/**
 * `:protocol` tokens g3 answers with 400 instead of relaying: HTTP and TLS upgrade tokens and connect-ip.
 * websocket, connect-udp and unknown protocols are relayed (g3 inspects websocket frames inside; sluice relays
 * them as an opaque tunnel).
 */
function extendedProtocolRefused(protocol: string): boolean {
  const p = protocol.toLowerCase();
  return p === 'connect-ip' || p === 'h2c' || p.startsWith('http/') || p.startsWith('tls/');
}

function swallow(): void {}

/** Handles one client stream; never throws (node:http2 throws on calls against a closing stream). */
export function forwardStream(host: H2StreamHost, cs: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
  const method = headers[':method'] ?? '';
  const protocol = headers[':protocol'];
  const kind: H2StreamKind = method === 'CONNECT' ? (protocol ? 'H2ExtendedConnect' : 'H2Connect') : 'H2StreamForward';
  const notes = new H2StreamNotes(kind, cs.id ?? 0, method, kind === 'H2StreamForward' ? requestUri(headers, host.logUriMaxChars) : '');
  const c = host.counters;
  c.streams++;
  c.alive++;
  host.streamOpened();
  cs.on('error', swallow);

  if (kind === 'H2StreamForward') c.forwarded++;
  else if (kind === 'H2Connect') c.connects++;
  else c.extendedConnects++;

  if (kind === 'H2Connect') notes.nextUpstream = connectTarget(headers[':authority']);
  else if (kind === 'H2ExtendedConnect') {
    notes.nextProtocol = protocol;
    notes.nextUpstream = headers[':authority'];
  }

  const finishEarly = (msg: string, status: number, rst = NGHTTP2_REFUSED_STREAM): void => {
    c.refused++;
    try {
      if (status > 0) {
        cs.respond({ ':status': status }, { endStream: true });
        notes.rspStatus = status;
      } else cs.close(rst);
    } catch {
      cs.destroy();
    }
    // the client may still be sending a body nobody will read
    cs.resume();
    const done = (): void => {
      c.alive--;
      host.log(streamRecord(host.taskId, host.depth, notes), msg);
      host.streamClosed();
    };
    if (cs.closed || cs.destroyed) done();
    else cs.once('close', done);
  };

  if (!host.upstreamUsable()) return finishEarly('upstream connection is closing', 0);
  if (kind === 'H2ExtendedConnect' && extendedProtocolRefused(protocol!)) {
    c.extendedRefused++;
    return finishEarly(`${protocol} upgrade is not supported`, 400);
  }
  let dropExpect: string | undefined;
  if (headers['expect'] !== undefined) {
    // node:http2, like g3's h2, has no 100-continue for a proxied request: refuse or drop the header
    if (!host.cfg.silentDropExpectHeader) return finishEarly('expectation failed', 417);
    dropExpect = 'expect';
  }

  const reqEnded = cs.endAfterHeaders;
  const isForward = kind === 'H2StreamForward';
  let us: ClientHttp2Stream;
  try {
    us = host.ups.request(forwardHeaders(headers, dropExpect), {
      endStream: reqEnded,
      // trailers are only a thing of forwarded requests; tunnels end with END_STREAM on their last DATA
      waitForTrailers: isForward && !reqEnded,
    });
  } catch (e) {
    return finishEarly(`upstream stream open failed: ${(e as Error).message}`, 0);
  }
  us.on('error', swallow);
  notes.durReqSendHdr = notes.since();
  if (reqEnded) notes.durReqSendAll = notes.durReqSendHdr;

  let errorMsg = '';
  const fail = (msg: string): void => {
    if (!errorMsg) errorMsg = msg;
  };

  const openTimer = setTimeout(() => {
    fail('upstream stream open timeout');
    safeClose(us, NGHTTP2_CANCEL);
    safeClose(cs, NGHTTP2_REFUSED_STREAM);
  }, host.cfg.upstreamStreamOpenTimeout);
  const onReady = (): void => {
    clearTimeout(openTimer);
    notes.readyTime = notes.since();
    notes.upsStream = us.id ?? 0;
  };
  // on a connected session the stream gets its id inside request(); otherwise once the session connects
  if (us.id !== undefined) onReady();
  else us.once('ready', onReady);

  // g3's rsp_header_recv_timeout runs from the whole request sent to the response header received
  let rspTimer: NodeJS.Timeout | undefined;
  let responded = false;
  const armRspTimer = (): void => {
    if (responded || rspTimer) return;
    rspTimer = setTimeout(() => {
      fail('response header receive timeout');
      safeClose(us, NGHTTP2_CANCEL);
      if (!cs.headersSent && !cs.closed) {
        try {
          cs.respond({ ':status': 504 }, { endStream: true });
          notes.rspStatus = 504;
        } catch {
          safeClose(cs, NGHTTP2_INTERNAL_ERROR);
        }
      }
    }, host.cfg.rspHeaderRecvTimeout);
  };

  // request body (or the client's half of a tunnel)
  if (reqEnded) {
    if (isForward) armRspTimer();
  } else {
    let reqTrailers: IncomingHttpHeaders | undefined;
    cs.on('data', (chunk: Buffer) => {
      c.clientToUpstreamBytes += chunk.length;
    });
    cs.once('trailers', (t: IncomingHttpHeaders) => {
      reqTrailers = t;
    });
    cs.once('end', () => {
      notes.durReqSendAll = notes.since();
      if (isForward) armRspTimer();
    });
    if (isForward) {
      us.once('wantTrailers', () => {
        try {
          // an empty block makes node end the stream with an empty DATA frame instead of a HEADERS frame
          us.sendTrailers(reqTrailers ? forwardHeaders(reqTrailers) : {});
        } catch {
          safeClose(us, NGHTTP2_INTERNAL_ERROR);
        }
      });
    }
    cs.pipe(us);
  }

  // 1xx informational responses
  us.on('headers', (h: IncomingHttpHeaders) => {
    const status = Number(h[':status']);
    if (status >= 100 && status < 200 && status !== 101 && !cs.headersSent && !cs.closed) {
      try {
        cs.additionalHeaders(forwardHeaders(h));
      } catch {
        // an informational block is advisory: losing one is not worth the stream
      }
    }
  });

  us.once('response', (h: IncomingHttpHeaders) => {
    responded = true;
    if (rspTimer) clearTimeout(rspTimer);
    notes.durRspRecvHdr = notes.since();
    const status = Number(h[':status']);
    notes.originStatus = status;
    if (cs.closed || cs.destroyed) return;
    const rspEnded = us.endAfterHeaders;
    const out: OutgoingHttpHeaders = forwardHeaders(h);
    try {
      cs.respond(out, { endStream: rspEnded, waitForTrailers: isForward && !rspEnded });
      notes.rspStatus = status;
    } catch (e) {
      fail(`response head send failed: ${(e as Error).message}`);
      safeClose(us, NGHTTP2_CANCEL);
      safeClose(cs, NGHTTP2_INTERNAL_ERROR);
      return;
    }
    if (rspEnded) {
      notes.durRspRecvAll = notes.durRspRecvHdr;
      return;
    }
    let rspTrailers: IncomingHttpHeaders | undefined;
    us.on('data', (chunk: Buffer) => {
      c.upstreamToClientBytes += chunk.length;
    });
    us.once('trailers', (t: IncomingHttpHeaders) => {
      rspTrailers = t;
    });
    us.once('end', () => {
      notes.durRspRecvAll = notes.since();
    });
    if (isForward) {
      cs.once('wantTrailers', () => {
        try {
          cs.sendTrailers(rspTrailers ? forwardHeaders(rspTrailers) : {});
        } catch {
          safeClose(cs, NGHTTP2_INTERNAL_ERROR);
        }
      });
    }
    us.pipe(cs);
  });

  const abnormal = kind === 'H2StreamForward' ? NGHTTP2_INTERNAL_ERROR : NGHTTP2_CONNECT_ERROR;
  let open = 2;
  let reset = false;
  const halfClosed = (): void => {
    if (--open > 0) return;
    clearTimeout(openTimer);
    if (rspTimer) clearTimeout(rspTimer);
    c.alive--;
    if (reset) c.resets++;
    host.log(streamRecord(host.taskId, host.depth, notes), errorMsg || 'finished');
    host.streamClosed();
  };

  us.once('close', () => {
    const code = us.rstCode ?? NGHTTP2_NO_ERROR;
    if (code !== NGHTTP2_NO_ERROR) {
      reset = true;
      fail(`upstream stream reset (code ${code})`);
      safeClose(cs, code);
    } else if (!us.readableEnded && !(cs.closed || cs.destroyed)) {
      // gone without END_STREAM or a reset: its session died under it
      reset = true;
      fail('upstream stream closed before its end');
      safeClose(cs, abnormal);
    }
    halfClosed();
  });
  cs.once('close', () => {
    const code = cs.rstCode ?? NGHTTP2_NO_ERROR;
    if (code !== NGHTTP2_NO_ERROR) {
      reset = true;
      fail(`client stream reset (code ${code})`);
      safeClose(us, code);
    } else if (!(us.closed || us.destroyed) && !(us.readableEnded && us.writableFinished)) {
      reset = true;
      fail('client stream closed before its end');
      safeClose(us, NGHTTP2_CANCEL);
    }
    halfClosed();
  });
}

/** Resets a stream unless it is already gone (close() on a destroyed stream throws). */
function safeClose(s: ServerHttp2Stream | ClientHttp2Stream, code: number): void {
  if (s.destroyed || s.closed) return;
  try {
    s.close(code);
  } catch {
    s.destroy();
  }
}
