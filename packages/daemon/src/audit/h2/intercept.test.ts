import assert from 'node:assert/strict';
import { once } from 'node:events';
import http2, { type ClientHttp2Session, type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseH2Interception, type H2InterceptionConfig } from './config.js';
import { interceptH2, type H2InterceptSummary } from './intercept.js';
import type { InterceptFields } from './records.js';

const { NGHTTP2_ENHANCE_YOUR_CALM, HTTP2_HEADER_STATUS } = http2.constants;
const PREFACE_LEN = 24; // 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'

interface Record_ {
  fields: Map<string, string | number | boolean>;
  msg: string;
}

/** Origin behaviour by path; `bigSent` counts what /big managed to hand to its stream. */
interface OriginState {
  bigSent: number;
  bigWritableMax: number;
  bigStream?: ServerHttp2Stream;
}

function startOrigin(state: OriginState): Promise<{ server: http2.Http2Server; port: number }> {
  const server = http2.createServer({ settings: { enableConnectProtocol: true } });
  server.on('sessionError', () => {});
  const sockets = new Set<net.Socket>();
  server.on('connection', (sock: net.Socket) => {
    sockets.add(sock);
    sock.once('close', () => sockets.delete(sock));
  });
  server.on('stream', (s, h) => {
    s.on('error', () => {});
    const path = h[':path'] ?? '';
    const method = h[':method'];
    if (method === 'CONNECT') {
      // a tunnel: echo upper-cased, so relaying is visible; extended CONNECT says which protocol it got
      s.respond({ ':status': 200, 'x-protocol': String(h[':protocol'] ?? '') });
      s.on('data', (d: Buffer) => s.write(d.toString('latin1').toUpperCase()));
      s.on('end', () => s.end());
      return;
    }
    if (path === '/get') {
      s.respond({ ':status': 200, 'content-type': 'text/plain', 'x-seen-authority': String(h[':authority']) });
      s.end('hello from origin');
    } else if (path === '/echo') {
      s.respond({ ':status': 200, 'x-seen-method': String(method) });
      s.pipe(s);
    } else if (path.startsWith('/slow/')) {
      setTimeout(() => {
        if (s.destroyed) return;
        s.respond({ ':status': 200 });
        s.end(`id=${path.slice(6)}`);
      }, 30);
    } else if (path === '/trailers') {
      s.respond({ ':status': 200 }, { waitForTrailers: true });
      s.on('wantTrailers', () => s.sendTrailers({ 'x-checksum': 'abc123', 'grpc-status': '0' }));
      s.end('body-before-trailers');
    } else if (path === '/early-hints') {
      s.additionalHeaders({ ':status': 103, link: '</style.css>; rel=preload' });
      setTimeout(() => {
        s.respond({ ':status': 200 });
        s.end('after hints');
      }, 10);
    } else if (path === '/req-trailers') {
      let n = 0;
      s.on('data', (d: Buffer) => (n += d.length));
      s.on('trailers', (t: IncomingHttpHeaders) => {
        s.respond({ ':status': 200, 'x-got-trailer': String(t['x-req-sum']), 'x-got-bytes': String(n) });
        s.end();
      });
    } else if (path === '/goaway') {
      // the origin announces it is going away, then still answers the running stream
      s.session?.close();
      setTimeout(() => {
        s.respond({ ':status': 200 });
        s.end('last words');
      }, 20);
    } else if (path === '/reset') {
      s.close(NGHTTP2_ENHANCE_YOUR_CALM);
    } else if (path === '/reset-mid') {
      s.respond({ ':status': 200 });
      s.write('partial');
      setTimeout(() => s.close(NGHTTP2_ENHANCE_YOUR_CALM), 20);
    } else if (path === '/close-conn') {
      s.respond({ ':status': 200 });
      s.write('about to vanish');
      // node guards session.socket: cut the raw TCP sockets instead (earlier tests' connections are all closed)
      setTimeout(() => {
        for (const sock of sockets) sock.destroy();
      }, 20);
    } else if (path === '/big') {
      s.respond({ ':status': 200 });
      state.bigStream = s;
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      const pump = (): void => {
        // write until the stream says stop; count only what it accepted
        while (!s.destroyed) {
          state.bigSent += chunk.length;
          const ok = s.write(chunk);
          state.bigWritableMax = Math.max(state.bigWritableMax, s.writableLength);
          if (!ok) {
            s.once('drain', pump);
            return;
          }
          if (state.bigSent >= 64 * 1024 * 1024) {
            s.end();
            return;
          }
        }
      };
      pump();
    } else {
      s.respond({ ':status': 404 });
      s.end();
    }
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as AddressInfo).port }));
  });
}

/** Two ends of an in-memory byte stream, for tests that need no socket. */
function duplexPair(): [Duplex, Duplex] {
  const a: Duplex = new Duplex({ read() {}, write: (c, _e, cb) => { b.push(c); cb(); }, final: (cb) => { b.push(null); cb(); } });
  const b: Duplex = new Duplex({ read() {}, write: (c, _e, cb) => { a.push(c); cb(); }, final: (cb) => { a.push(null); cb(); } });
  return [a, b];
}

/** A loopback listener whose accepted sockets are intercepted towards the origin. */
class Interceptor {
  readonly records: Record_[] = [];
  readonly summaries: Array<Promise<H2InterceptSummary>> = [];
  private listener!: net.Server;
  port = 0;

  constructor(
    private readonly originPort: number,
    private readonly config: H2InterceptionConfig,
    private readonly signal?: AbortSignal,
    private readonly idleTimeout?: number,
  ) {}

  async start(): Promise<void> {
    this.listener = net.createServer((sock) => this.accept(sock));
    this.listener.listen(0, '127.0.0.1');
    await once(this.listener, 'listening');
    this.port = (this.listener.address() as AddressInfo).port;
  }

  private accept(client: net.Socket): void {
    client.on('error', () => {});
    // protocol inspection reads the preface before deciding to intercept: replay it through clientPrefix
    const waitPreface = (): void => {
      const prefix = client.read(PREFACE_LEN) as Buffer | null;
      if (!prefix) {
        client.once('readable', waitPreface);
        return;
      }
      const upstream = net.connect(this.originPort, '127.0.0.1');
      upstream.on('error', () => {});
      this.summaries.push(
        interceptH2({
          client,
          upstream,
          clientPrefix: prefix,
          upstreamHost: `127.0.0.1:${this.originPort}`,
          upstreamScheme: 'http',
          config: this.config,
          taskId: '0123456789abcdef0123456789abcdef',
          depth: 1,
          log: (fields: InterceptFields, msg: string) => this.records.push({ fields: new Map(fields), msg }),
          ...(this.signal ? { signal: this.signal } : {}),
          ...(this.idleTimeout ? { idleTimeout: this.idleTimeout } : {}),
        }),
      );
    };
    waitPreface();
  }

  streamRecords(): Record_[] {
    return this.records.filter((r) => r.fields.get('intercept_type') !== 'H2Connection' && r.fields.get('intercept_type') !== 'H2Ping');
  }

  close(): void {
    this.listener.close();
  }
}

interface Reply {
  headers: IncomingHttpHeaders;
  body: Buffer;
  trailers?: IncomingHttpHeaders;
}

function request(c: ClientHttp2Session, headers: OutgoingHttpHeaders, body?: Buffer): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const s = c.request(headers, { endStream: body === undefined });
    const chunks: Buffer[] = [];
    let rsp: IncomingHttpHeaders | undefined;
    let trailers: IncomingHttpHeaders | undefined;
    s.on('response', (h) => (rsp = h));
    s.on('trailers', (t) => (trailers = t));
    s.on('data', (d: Buffer) => chunks.push(d));
    let ended = false;
    s.on('end', () => (ended = true));
    // node reports a reset as an 'error' and then 'close': judge on close, where rstCode is known
    s.on('error', () => {});
    s.on('close', () => {
      if (s.rstCode || !ended) reject(Object.assign(new Error(`reset ${s.rstCode}`), { rstCode: s.rstCode }));
      else resolve({ headers: rsp!, body: Buffer.concat(chunks), ...(trailers ? { trailers } : {}) });
    });
    if (body) s.end(body);
  });
}

function connectClient(port: number): Promise<ClientHttp2Session> {
  const c = http2.connect(`http://127.0.0.1:${port}`);
  c.on('error', () => {});
  return new Promise((resolve, reject) => {
    c.once('remoteSettings', () => resolve(c));
    c.once('error', reject);
  });
}

async function closeClient(c: ClientHttp2Session): Promise<void> {
  if (c.destroyed) return;
  const closed = once(c, 'close');
  c.close();
  await closed;
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    t = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(t);
  }
}

describe('interceptH2 between a real HTTP/2 client and origin', () => {
  const state: OriginState = { bigSent: 0, bigWritableMax: 0 };
  let origin: { server: http2.Http2Server; port: number };

  before(async () => {
    origin = await startOrigin(state);
  });
  after(() => {
    origin.server.close();
  });

  async function fresh(config = parseH2Interception(undefined), signal?: AbortSignal): Promise<{ ic: Interceptor; client: ClientHttp2Session }> {
    const ic = new Interceptor(origin.port, config, signal);
    await ic.start();
    const client = await connectClient(ic.port);
    return { ic, client };
  }

  it('forwards GET and a 1 MiB POST echo, and logs one record per stream plus the connection record', async () => {
    const { ic, client } = await fresh();
    const get = await request(client, { ':method': 'GET', ':path': '/get', 'x-custom': 'kept' });
    assert.equal(get.headers[HTTP2_HEADER_STATUS], 200);
    assert.equal(get.body.toString(), 'hello from origin');
    assert.equal(get.headers['x-seen-authority'], `127.0.0.1:${ic.port}`, ':authority is kept as the client sent it');

    const payload = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 7) & 0xff;
    const post = await request(client, { ':method': 'POST', ':path': '/echo' }, payload);
    assert.equal(post.headers[HTTP2_HEADER_STATUS], 200);
    assert.equal(post.headers['x-seen-method'], 'POST');
    assert.equal(post.body.length, payload.length);
    assert.ok(post.body.equals(payload), 'echoed body matches');

    await closeClient(client);
    const summary = await withTimeout(ic.summaries[0]!, 5000, 'interception end');
    ic.close();
    assert.equal(summary.streams, 2);
    assert.equal(summary.forwarded, 2);
    assert.equal(summary.alive, 0);
    assert.equal(summary.resets, 0);
    assert.equal(summary.clientToUpstreamBytes, payload.length);
    assert.equal(summary.upstreamToClientBytes, payload.length + 'hello from origin'.length);
    assert.equal(summary.errorCode, undefined);

    const streams = ic.streamRecords();
    assert.equal(streams.length, 2);
    const [g, p] = streams.map((r) => r.fields);
    for (const f of [g!, p!]) {
      assert.equal(f.get('intercept_type'), 'H2StreamForward');
      assert.equal(f.get('task_id'), '0123456789abcdef0123456789abcdef');
      assert.equal(f.get('depth'), 1);
      assert.equal(f.get('rsp_status'), 200);
      assert.equal(f.get('origin_status'), 200);
      assert.match(String(f.get('started_at')), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
      assert.equal(typeof f.get('ups_stream'), 'number');
      for (const k of ['dur_req_send_hdr', 'dur_req_send_all', 'dur_rsp_recv_hdr', 'dur_rsp_recv_all']) {
        assert.match(String(f.get(k)), /^\d+\.\d{3}(s|ms|µs)$|^\d+ns$/, k);
      }
    }
    assert.equal(g!.get('method'), 'GET');
    assert.equal(g!.get('uri'), `http://127.0.0.1:${ic.port}/get`);
    assert.equal(g!.get('clt_stream'), 1);
    assert.equal(p!.get('method'), 'POST');
    assert.equal(p!.get('clt_stream'), 3);
    assert.ok(streams.every((r) => r.msg === 'finished'));
    const conn = ic.records.filter((r) => r.fields.get('intercept_type') === 'H2Connection');
    assert.equal(conn.length, 1);
    assert.equal(conn[0]!.fields.get('upstream'), `127.0.0.1:${origin.port}`);
    assert.equal(conn[0]!.fields.get('total_sub_task'), 2);
    assert.equal(conn[0]!.fields.get('alive_sub_task'), 0);
    assert.equal(conn[0]!.msg, 'finished');
  });

  it('offers the client the configured SETTINGS (streams capped by the upstream\'s own limit)', async () => {
    const { ic, client } = await fresh(
      parseH2Interception({ max_concurrent_streams: 7, max_header_list_size: '32KiB', max_frame_size: '64KiB', stream_window_size: '512KiB' }),
    );
    const rs = client.remoteSettings;
    assert.equal(rs.maxConcurrentStreams, 7);
    assert.equal(rs.maxHeaderListSize, 32 * 1024);
    assert.equal(rs.maxFrameSize, 64 * 1024);
    assert.equal(rs.initialWindowSize, 512 * 1024);
    await closeClient(client);
    await withTimeout(ic.summaries[0]!, 5000, 'interception end');
    ic.close();
  });

  it('carries 20 concurrent streams on one connection', async () => {
    const { ic, client } = await fresh();
    const replies = await withTimeout(
      Promise.all(Array.from({ length: 20 }, (_, i) => request(client, { ':method': 'GET', ':path': `/slow/${i}` }))),
      5000,
      '20 streams',
    );
    replies.forEach((r, i) => assert.equal(r.body.toString(), `id=${i}`));
    await closeClient(client);
    const summary = await withTimeout(ic.summaries[0]!, 5000, 'interception end');
    ic.close();
    assert.equal(summary.streams, 20);
    assert.equal(ic.streamRecords().length, 20);
    assert.equal(new Set(ic.streamRecords().map((r) => r.fields.get('clt_stream'))).size, 20);
  });

  it('passes response trailers', async () => {
    const { ic, client } = await fresh();
    const r = await request(client, { ':method': 'GET', ':path': '/trailers' });
    assert.equal(r.body.toString(), 'body-before-trailers');
    assert.equal(r.trailers?.['x-checksum'], 'abc123');
    assert.equal(r.trailers?.['grpc-status'], '0');
    await closeClient(client);
    await withTimeout(ic.summaries[0]!, 5000, 'interception end');
    ic.close();
  });

  it('maps an upstream stream reset to a client reset with the same code, before and after the response head', async () => {
    const { ic, client } = await fresh();
    await assert.rejects(request(client, { ':method': 'GET', ':path': '/reset' }), (e: { rstCode?: number }) => {
      assert.equal(e.rstCode, NGHTTP2_ENHANCE_YOUR_CALM);
      return true;
    });
    // after the response head; the request is kept open, as node's origin ends its side before it resets
    const mid = client.request({ ':method': 'POST', ':path': '/reset-mid' }, { endStream: false });
    mid.on('error', () => {});
    let midData = '';
    mid.on('data', (d: Buffer) => (midData += d.toString()));
    const [midHead] = (await withTimeout(once(mid, 'response'), 3000, 'reset-mid head')) as [IncomingHttpHeaders];
    assert.equal(midHead[':status'], 200);
    await withTimeout(new Promise((resolve) => mid.once('close', resolve)), 3000, 'reset-mid close');
    assert.equal(mid.rstCode, NGHTTP2_ENHANCE_YOUR_CALM);
    assert.equal(midData, 'partial');
    // the connection survives a stream reset
    const ok = await request(client, { ':method': 'GET', ':path': '/get' });
    assert.equal(ok.body.toString(), 'hello from origin');
    await closeClient(client);
    const summary = await withTimeout(ic.summaries[0]!, 5000, 'interception end');
    ic.close();
    assert.equal(summary.resets, 2);
    const recs = ic.streamRecords();
    assert.match(recs[0]!.msg, /upstream stream reset \(code 11\)/);
    assert.equal(recs[0]!.fields.get('rsp_status'), 0);
    assert.equal(recs[1]!.fields.get('rsp_status'), 200);
  });

  it('ends the client session cleanly when the upstream closes the connection, and resolves', async () => {
    const { ic, client } = await fresh();
    const clientClosed = once(client, 'close');
    const r = request(client, { ':method': 'GET', ':path': '/close-conn' });
    await assert.rejects(withTimeout(r, 5000, 'cut stream'), (e: { rstCode?: number }) => {
      assert.ok((e.rstCode ?? 0) !== 0, 'the cut stream is reset, not ended as if complete');
      return true;
    });
    await withTimeout(clientClosed, 5000, 'client session close');
    const summary = await withTimeout(ic.summaries[0]!, 5000, 'interception end');
    ic.close();
    assert.equal(summary.streams, 1);
    assert.equal(summary.alive, 0);
    assert.equal(ic.records.filter((x) => x.fields.get('intercept_type') === 'H2Connection').length, 1);
  });

  it('relays a standard CONNECT as a tunnel stream (H2Connect record)', async () => {
    const { ic, client } = await fresh();
    const s = client.request({ ':method': 'CONNECT', ':authority': 'tunnel.example:8443' }, { endStream: false });
    const [rsp] = (await withTimeout(once(s, 'response'), 3000, 'connect response')) as [IncomingHttpHeaders];
    assert.equal(rsp[':status'], 200);
    s.write('ping over tunnel');
    const [data] = (await withTimeout(once(s, 'data'), 3000, 'tunnel data')) as [Buffer];
    assert.equal(data.toString(), 'PING OVER TUNNEL');
    s.end();
    s.resume();
    await withTimeout(once(s, 'close'), 3000, 'tunnel close');
    await closeClient(client);
    const summary = await withTimeout(ic.summaries[0]!, 5000, 'interception end');
    ic.close();
    assert.equal(summary.connects, 1);
    const rec = ic.streamRecords()[0]!;
    assert.equal(rec.fields.get('intercept_type'), 'H2Connect');
    assert.equal(rec.fields.get('next_upstream'), 'tunnel.example:8443');
    assert.equal(rec.fields.get('rsp_status'), 200);
    assert.equal(rec.fields.has('method'), false);
    assert.equal(rec.msg, 'finished');
  });

  it('relays an extended CONNECT (websocket) and refuses connect-ip with 400, as g3', async () => {
    const { ic, client } = await fresh();
    assert.equal(client.remoteSettings.enableConnectProtocol, true, 'offered because the origin offers it');
    const ws = client.request({ ':method': 'CONNECT', ':protocol': 'websocket', ':scheme': 'http', ':path': '/chat', ':authority': 'ws.example' });
    const [rsp] = (await withTimeout(once(ws, 'response'), 3000, 'ws response')) as [IncomingHttpHeaders];
    assert.equal(rsp[':status'], 200);
    assert.equal(rsp['x-protocol'], 'websocket');
    ws.write('frame');
    const [data] = (await withTimeout(once(ws, 'data'), 3000, 'ws data')) as [Buffer];
    assert.equal(data.toString(), 'FRAME');
    ws.end();
    ws.resume();
    await withTimeout(once(ws, 'close'), 3000, 'ws close');

    const ip = await request(client, { ':method': 'CONNECT', ':protocol': 'connect-ip', ':scheme': 'https', ':path': '/.well-known/masque/ip/*/*/', ':authority': 'ip.example' });
    assert.equal(ip.headers[':status'], 400);
    await closeClient(client);
    const summary = await withTimeout(ic.summaries[0]!, 5000, 'interception end');
    ic.close();
    assert.equal(summary.extendedConnects, 2);
    assert.equal(summary.extendedRefused, 1);
    const [w, i] = ic.streamRecords();
    assert.equal(w!.fields.get('intercept_type'), 'H2ExtendedConnect');
    assert.equal(w!.fields.get('next_protocol'), 'websocket');
    assert.equal(w!.fields.get('rsp_status'), 200);
    assert.equal(i!.fields.get('rsp_status'), 400);
    assert.equal(i!.fields.get('origin_status'), 0);
  });

  it('answers an Expect header with 417 by default and drops it silently when configured', async () => {
    let { ic, client } = await fresh();
    const refused = await request(client, { ':method': 'POST', ':path': '/echo', expect: '100-continue' }, Buffer.from('x'));
    assert.equal(refused.headers[':status'], 417);
    await closeClient(client);
    await withTimeout(ic.summaries[0]!, 5000, 'interception end');
    ic.close();

    ({ ic, client } = await fresh(parseH2Interception({ silent_drop_expect_header: true })));
    const passed = await request(client, { ':method': 'POST', ':path': '/echo', expect: '100-continue' }, Buffer.from('body'));
    assert.equal(passed.headers[':status'], 200);
    assert.equal(passed.body.toString(), 'body');
    await closeClient(client);
    await withTimeout(ic.summaries[0]!, 5000, 'interception end');
    ic.close();
  });

  it('forwards 1xx informational heads and request trailers', async () => {
    const { ic, client } = await fresh();
    const s = client.request({ ':method': 'GET', ':path': '/early-hints' });
    const infos: IncomingHttpHeaders[] = [];
    s.on('headers', (h: IncomingHttpHeaders) => infos.push(h));
    s.setEncoding('utf8');
    let body = '';
    s.on('data', (d: string) => (body += d));
    await withTimeout(once(s, 'end'), 3000, 'early hints reply');
    assert.equal(infos.length, 1);
    assert.equal(infos[0]![':status'], 103);
    assert.equal(infos[0]!['link'], '</style.css>; rel=preload');
    assert.equal(body, 'after hints');

    const t = client.request({ ':method': 'POST', ':path': '/req-trailers' }, { waitForTrailers: true });
    t.on('wantTrailers', () => t.sendTrailers({ 'x-req-sum': 'feed' }));
    t.end('twelve bytes');
    const [rsp] = (await withTimeout(once(t, 'response'), 3000, 'trailers reply')) as [IncomingHttpHeaders];
    assert.equal(rsp['x-got-trailer'], 'feed');
    assert.equal(rsp['x-got-bytes'], '12');
    t.resume();
    await closeClient(client);
    await withTimeout(ic.summaries[0]!, 5000, 'interception end');
    ic.close();
  });

  it('passes an upstream GOAWAY to the client while the running stream completes', async () => {
    const { ic, client } = await fresh();
    const goaway = once(client, 'goaway');
    const closed = once(client, 'close');
    const r = await withTimeout(request(client, { ':method': 'GET', ':path': '/goaway' }), 3000, 'goaway reply');
    assert.equal(r.body.toString(), 'last words');
    await withTimeout(goaway, 3000, 'client got GOAWAY');
    await withTimeout(closed, 3000, 'client session closed');
    const summary = await withTimeout(ic.summaries[0]!, 5000, 'interception end');
    ic.close();
    assert.equal(summary.streams, 1);
    assert.equal(summary.resets, 0);
  });

  it('pings the upstream every ping_interval and logs H2Ping', async () => {
    const { ic, client } = await fresh(parseH2Interception({ ping_interval: '30ms' }));
    for (let i = 0; i < 100 && !ic.records.some((r) => r.fields.get('intercept_type') === 'H2Ping'); i++) await sleep(10);
    await closeClient(client);
    await withTimeout(ic.summaries[0]!, 5000, 'interception end');
    ic.close();
    const ping = ic.records.find((r) => r.fields.get('intercept_type') === 'H2Ping');
    assert.ok(ping, 'an H2Ping record');
    assert.equal(ping.msg, 'ok');
    assert.match(String(ping.fields.get('rtt')), /(s|ms|µs|ns)$/);
    assert.equal(ping.fields.get('upstream'), `127.0.0.1:${origin.port}`);
  });

  it('closes both sessions gracefully when the signal aborts (server quit)', async () => {
    const ac = new AbortController();
    const { ic, client } = await fresh(undefined, ac.signal);
    const goaway = once(client, 'goaway');
    const ok = await request(client, { ':method': 'GET', ':path': '/get' });
    assert.equal(ok.body.toString(), 'hello from origin');
    ac.abort();
    await withTimeout(goaway, 3000, 'client got GOAWAY');
    await closeClient(client);
    const summary = await withTimeout(ic.summaries[0]!, 5000, 'interception end');
    ic.close();
    assert.equal(summary.errorCode, 'SERVER_QUIT');
    assert.equal(ic.records.find((r) => r.fields.get('intercept_type') === 'H2Connection')?.msg, 'canceled as server quit');
  });

  it('closes a connection idle for idleTimeout with GOAWAY', async () => {
    const ic = new Interceptor(origin.port, parseH2Interception(undefined), undefined, 150);
    await ic.start();
    const client = await connectClient(ic.port);
    const goaway = once(client, 'goaway');
    const ok = await request(client, { ':method': 'GET', ':path': '/get' });
    assert.equal(ok.body.toString(), 'hello from origin');
    await withTimeout(goaway, 3000, 'client got GOAWAY after idling');
    await withTimeout(once(client, 'close'), 3000, 'client session closed');
    const summary = await withTimeout(ic.summaries[0]!, 3000, 'interception end');
    ic.close();
    assert.equal(summary.errorCode, 'CLIENT_IDLE');
    assert.equal(summary.streams, 1);
  });

  it('gives up on a client that sends the preface and no SETTINGS', async () => {
    const ic = new Interceptor(origin.port, parseH2Interception({ client_handshake_timeout: '150ms' }));
    await ic.start();
    const raw = net.connect(ic.port, '127.0.0.1');
    raw.on('error', () => {});
    raw.resume();
    const rawClosed = once(raw, 'close');
    await once(raw, 'connect');
    raw.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
    await withTimeout(rawClosed, 3000, 'raw socket closed');
    for (let i = 0; i < 100 && ic.summaries.length === 0; i++) await sleep(10);
    const summary = await withTimeout(ic.summaries[0]!, 3000, 'interception end');
    ic.close();
    assert.equal(summary.errorCode, 'CLIENT_HEAD_TIMEOUT');
  });

  it('does not buffer without bound behind a client that does not read', async () => {
    state.bigSent = 0;
    state.bigWritableMax = 0;
    const { ic, client } = await fresh();
    const s = client.request({ ':method': 'GET', ':path': '/big' });
    s.on('error', () => {});
    s.pause();
    await withTimeout(once(s, 'response'), 3000, 'big response');
    // let the origin write as long as anything accepts its data
    let last = -1;
    for (let i = 0; i < 40 && state.bigSent !== last; i++) {
      last = state.bigSent;
      await sleep(50);
    }
    const stalledAt = state.bigSent;
    assert.ok(stalledAt > 0);
    // windows on the way: client stream 64KiB + our two stream windows (1MiB default) + stream buffers; never the 64 MiB
    assert.ok(stalledAt < 8 * 1024 * 1024, `origin stalled after ${stalledAt} bytes`);
    await sleep(200);
    assert.equal(state.bigSent, stalledAt, 'origin writes stay stalled while the client does not read');
    assert.ok(state.bigWritableMax <= 256 * 1024, `origin stream buffer stayed small (${state.bigWritableMax})`);

    // reading resumes the flow end to end
    let got = 0;
    s.on('data', (d: Buffer) => {
      got += d.length;
    });
    s.resume();
    for (let i = 0; i < 100 && got < stalledAt + 1024 * 1024; i++) await sleep(20);
    assert.ok(got >= stalledAt + 1024 * 1024, `client read ${got} bytes after resuming`);
    assert.ok(state.bigSent > stalledAt, 'origin writes again');
    s.close(http2.constants.NGHTTP2_CANCEL);
    await closeClient(client);
    const summary = await withTimeout(ic.summaries[0]!, 5000, 'interception end');
    ic.close();
    assert.equal(summary.resets, 1);
    assert.equal(state.bigStream?.rstCode, http2.constants.NGHTTP2_CANCEL, 'the client cancel reached the origin stream');
  });

  it('ends with GOAWAY and a summary when the client sends garbage after the preface', async () => {
    const ic = new Interceptor(origin.port, parseH2Interception(undefined));
    await ic.start();
    const raw = net.connect(ic.port, '127.0.0.1');
    raw.on('error', () => {});
    raw.resume();
    const rawClosed = once(raw, 'close');
    await once(raw, 'connect');
    raw.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.from('this is not an http2 frame stream at all, really not')]));
    const summary = await withTimeout(
      (async () => {
        for (let i = 0; i < 100 && ic.summaries.length === 0; i++) await sleep(10);
        return ic.summaries[0]!;
      })(),
      5000,
      'interception end',
    );
    await withTimeout(rawClosed, 5000, 'raw socket closed');
    ic.close();
    assert.equal(summary.errorCode, 'CLIENT_PROTOCOL_INVALID');
    assert.equal(summary.streams, 0);
    const conn = ic.records.find((r) => r.fields.get('intercept_type') === 'H2Connection');
    assert.ok(conn);
    assert.match(conn.msg, /client connection error/);
  });

  it('works over plain in-memory Duplex streams too (not sockets), with https as the upstream scheme', async () => {
    const [clientEnd, interceptClientSide] = duplexPair();
    const [interceptUpstreamSide, originEnd] = duplexPair();
    origin.server.emit('connection', originEnd);
    const records: InterceptFields[] = [];
    const done = interceptH2({
      client: interceptClientSide,
      upstream: interceptUpstreamSide,
      upstreamHost: 'origin.internal:8443',
      upstreamScheme: 'https',
      config: parseH2Interception(undefined),
      taskId: 't',
      depth: 2,
      log: (f) => records.push(f),
    });
    const client = http2.connect('https://origin.example', { createConnection: () => clientEnd });
    client.on('error', () => {});
    const r = await withTimeout(request(client, { ':method': 'GET', ':path': '/get' }), 3000, 'GET over duplexes');
    assert.equal(r.body.toString(), 'hello from origin');
    // the client's :authority (node's client writes the port) reaches the origin, not the session's authority
    assert.equal(r.headers['x-seen-authority'], 'origin.example:443');
    await closeClient(client);
    const summary = await withTimeout(done, 5000, 'interception end');
    assert.equal(summary.streams, 1);
    const fwd = new Map(records[0]);
    assert.equal(fwd.get('uri'), 'https://origin.example:443/get');
    assert.equal(fwd.get('depth'), 2);
  });

  it('resolves (never rejects) when node:http2 refuses to start, e.g. a malformed upstream authority', async () => {
    const [a, b] = duplexPair();
    const records: string[] = [];
    const summary = await withTimeout(
      interceptH2({
        client: a,
        upstream: b,
        upstreamHost: 'bad host:x:y',
        upstreamScheme: 'http',
        config: parseH2Interception(undefined),
        taskId: 't',
        depth: 1,
        log: (f, msg) => records.push(`${f[0]![1]} ${msg}`),
      }),
      3000,
      'interception end',
    );
    assert.equal(summary.errorCode, 'INTERNAL');
    assert.equal(records.length, 1);
    assert.match(records[0]!, /^H2Connection h2 interception failed/);
    assert.ok(a.destroyed && b.destroyed);
  });

  it('closes the client when the upstream handshake times out', async () => {
    // an upstream that accepts and never speaks HTTP/2
    const mute = net.createServer((s) => s.on('error', () => {}));
    mute.listen(0, '127.0.0.1');
    await once(mute, 'listening');
    const ic = new Interceptor((mute.address() as AddressInfo).port, parseH2Interception({ upstream_handshake_timeout: '200ms' }));
    await ic.start();
    const c = http2.connect(`http://127.0.0.1:${ic.port}`);
    c.on('error', () => {});
    await withTimeout(once(c, 'close'), 3000, 'client closed');
    for (let i = 0; i < 100 && ic.summaries.length === 0; i++) await sleep(10);
    const summary = await withTimeout(ic.summaries[0]!, 3000, 'interception end');
    ic.close();
    mute.close();
    assert.equal(summary.errorCode, 'UPSTREAM_NEGOTIATION_TIMEOUT');
  });
});
