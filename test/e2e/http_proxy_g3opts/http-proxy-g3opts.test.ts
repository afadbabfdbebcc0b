/**
 * http_proxy options from g3 end to end: `body_line_max_length` (chunk-size and trailer lines of request and
 * response bodies), `untrusted_read_speed_limit` (a 407 answered at once, the body drained at a rate, the
 * connection kept), the second auth failure in a row closing the connection, and `no_early_error_reply`
 * hiding the server from clients without credentials.
 */
import { request as httpRequest, Agent } from 'node:http';
import { createServer, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { baseConfig, curl, readUntil, startDaemon, startOrigin, tcpConnect, type DaemonHandle, type Origin } from '@sluice/testkit';
import { TOOR_FAST } from '../user_auth/config.js';
import { chunkWithLine, startRawChunkOrigin } from './raw-chunk-origin.js';

const AUTH = `Proxy-Authorization: Basic ${Buffer.from('root:toor').toString('base64')}\r\n`;

function yaml(): string {
  return `
${baseConfig()}user_group:
  - name: users
    static_users:
      - name: root
        token:
          salt: ${TOOR_FAST.salt}
          md5: ${TOOR_FAST.md5}
          sha1: ${TOOR_FAST.sha1}
server:
  - name: plain
    type: http_proxy
    listen: 127.0.0.1:0
    escaper: direct
  - name: lines
    type: http_proxy
    listen: 127.0.0.1:0
    escaper: direct
    body_line_max_length: 256
  - name: auth
    type: http_proxy
    listen: 127.0.0.1:0
    escaper: direct
    user_group: users
  - name: untrusted
    type: http_proxy
    listen: 127.0.0.1:0
    escaper: direct
    user_group: users
    untrusted_read_limit:
      shift_millis: 7
      upload: 4096
      download: 1048576
  - name: hidden
    type: http_proxy
    listen: 127.0.0.1:0
    escaper: direct
    user_group: users
    no_early_error_reply: true
`;
}

/** Chunked body text → data (test responses are small and well-formed). */
function dechunk(text: string): string | null {
  let out = '';
  let i = 0;
  for (;;) {
    const eol = text.indexOf('\r\n', i);
    if (eol < 0) return null;
    const size = parseInt(text.slice(i, eol), 16);
    if (size === 0) return text.endsWith('\r\n\r\n') ? out : null;
    if (text.length < eol + 2 + size + 2) return null;
    out += text.slice(eol + 2, eol + 2 + size);
    i = eol + 2 + size + 2;
  }
}

/**
 * Read one response (head + Content-Length or chunked body) from `s`; nothing may have been read from it since
 * the previous one.
 */
function readResponse(s: Socket, timeoutMs = 5000): Promise<{ status: number; head: string; body: string }> {
  return new Promise((resolve, reject) => {
    let got = '';
    let body: string | null = null;
    const parse = (): boolean => {
      const end = got.indexOf('\r\n\r\n');
      if (end < 0) return false;
      const head = got.slice(0, end);
      const rest = got.slice(end + 4);
      if (/\r\ntransfer-encoding: *chunked/i.test(head)) body = dechunk(rest);
      else {
        const len = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        body = rest.length >= len ? rest.slice(0, len) : null;
      }
      return body !== null;
    };
    const finish = (err?: Error) => {
      clearTimeout(timer);
      s.off('data', onData);
      s.off('end', onEnd);
      const end = got.indexOf('\r\n\r\n');
      if (err || end < 0) return reject(err ?? new Error(`no response head; got ${JSON.stringify(got.slice(0, 200))}`));
      resolve({ status: Number(got.split(' ')[1]), head: got.slice(0, end), body: body ?? got.slice(end + 4) });
    };
    const onData = (d: Buffer) => {
      got += d.toString('latin1');
      if (parse()) finish();
    };
    const onEnd = () => finish();
    const timer = setTimeout(() => finish(new Error(`timeout; got ${JSON.stringify(got.slice(0, 200))}`)), timeoutMs);
    s.on('data', onData);
    s.once('end', onEnd);
  });
}

/** Wait until the peer closes `s` (bounded); true if it did. */
function closedWithin(s: Socket, ms: number): Promise<boolean> {
  if (s.destroyed || s.readableEnded) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    const done = () => {
      clearTimeout(t);
      resolve(true);
    };
    s.once('end', done);
    s.once('close', done);
    s.resume();
  });
}

describe('http_proxy g3 options', () => {
  let d: DaemonHandle;
  let origin: Origin;
  let raw: Awaited<ReturnType<typeof startRawChunkOrigin>>;

  before(async () => {
    origin = await startOrigin();
    raw = await startRawChunkOrigin();
    d = await startDaemon({ files: { 'main.yaml': yaml() } });
  });
  after(async () => {
    await d?.stop();
    await origin?.close();
    await raw?.close();
  });

  const chunkedPost = (path: string, lineLen: number, extra = '') =>
    `POST ${origin.url}${path} HTTP/1.1\r\nHost: 127.0.0.1:${origin.port}\r\n${extra}Transfer-Encoding: chunked\r\n\r\n${chunkWithLine(lineLen, 'hello')}0\r\n\r\n`;

  it('body_line_max_length: a request chunk-size line up to the limit passes, longer gets 400', async () => {
    const port = await d.port('lines');
    const ok = await tcpConnect(port);
    ok.write(chunkedPost('/echo', 256));
    const r = await readResponse(ok);
    assert.equal(r.status, 200, r.head);
    assert.equal(r.body, 'hello');
    ok.destroy();

    const bad = await tcpConnect(port);
    bad.on('error', () => {});
    bad.write(chunkedPost('/echo/long-line', 257));
    const r2 = await readResponse(bad);
    assert.equal(r2.status, 400, r2.head);
    assert.ok(await closedWithin(bad, 3000), 'the connection is closed after a broken body');
    const log = await d.waitForTask((t) => String(t.fields.uri ?? '').includes('/echo/long-line'));
    assert.equal(log.fields.reason, 'InvalidClientProtocol');
  });

  it('body_line_max_length: a response chunk-size line up to the limit passes, longer gets 502 (curl)', async () => {
    const port = await d.port('lines');
    const ok = await curl(['-x', `http://127.0.0.1:${port}`, `http://127.0.0.1:${raw.port}/line/256`]);
    assert.equal(ok.status, 200, ok.stderr);
    assert.equal(ok.body, 'chunky');
    const bad = await curl(['-x', `http://127.0.0.1:${port}`, `http://127.0.0.1:${raw.port}/line/257`]);
    assert.equal(bad.status, 502, bad.stderr);
    const log = await d.waitForTask((t) => String(t.fields.uri ?? '').endsWith('/line/257'));
    assert.equal(log.fields.reason, 'InvalidUpstreamProtocol');
  });

  it('body_line_max_length defaults to 8192: a 5000-byte line passes both ways, 9000 does not', async () => {
    const port = await d.port('plain');
    const s = await tcpConnect(port);
    s.write(chunkedPost('/echo', 5000));
    const r = await readResponse(s);
    assert.equal(r.status, 200, r.head);
    assert.equal(r.body, 'hello');
    s.destroy();
    const ok = await curl(['-x', `http://127.0.0.1:${port}`, `http://127.0.0.1:${raw.port}/line/5000`]);
    assert.equal(ok.status, 200, ok.stderr);
    assert.equal(ok.body, 'chunky');
    const bad = await curl(['-x', `http://127.0.0.1:${port}`, `http://127.0.0.1:${raw.port}/line/9000`]);
    assert.equal(bad.status, 502, bad.stderr);
  });

  it('without untrusted read, a request with a body and no credentials gets 407 and the connection closes', async () => {
    const port = await d.port('auth');
    const s = await tcpConnect(port);
    s.on('error', () => {});
    const body = 'x'.repeat(1000);
    s.write(`POST ${origin.url}/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    const r = await readResponse(s);
    assert.equal(r.status, 407);
    assert.match(r.head, /\r\nProxy-Authenticate: Basic realm="proxy"/i);
    assert.match(r.head, /\r\nConnection: close/i);
    assert.ok(await closedWithin(s, 3000));
  });

  it('untrusted_read_speed_limit: 407 at once, the body drained at the limit, the connection kept for the retry', async () => {
    const port = await d.port('untrusted');
    const s = await tcpConnect(port);
    s.on('error', () => {});
    // 48 KiB at 4 KiB per 128 ms (32 KiB/s, one slice of burst) takes about 1.4 s to drain; bytes read ahead
    // while authenticating are paid for at the same rate
    const body = Buffer.alloc(48 * 1024, 0x61);
    const start = Date.now();
    s.write(`POST ${origin.url}/echo/untrusted HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${body.length}\r\n\r\n`);
    s.write(body);
    const first = await readResponse(s);
    const firstAt = Date.now() - start;
    assert.equal(first.status, 407);
    assert.doesNotMatch(first.head, /\r\nConnection: close/i);
    assert.ok(firstAt < 1000, `407 came after ${firstAt}ms, before the body was drained`);
    // the retry with credentials on the same connection is read only once the body is drained
    s.write(`GET ${origin.url}/after-drain HTTP/1.1\r\nHost: 127.0.0.1\r\n${AUTH}\r\n`);
    const second = await readResponse(s);
    const secondAt = Date.now() - start;
    assert.equal(second.status, 200, second.head);
    assert.equal(second.body, 'hello');
    assert.ok(secondAt >= 1000, `the body was drained in ${secondAt}ms, faster than the limit allows`);
    s.destroy();
    const log = await d.waitForTask((t) => String(t.fields.uri ?? '').endsWith('/echo/untrusted'));
    assert.equal(log.fields.reason, 'ClientAuthFailed');
    assert.ok(Number(log.fields.c_rd_bytes) >= body.length, `c_rd_bytes ${log.fields.c_rd_bytes}`);
    assert.ok(!origin.seen.some((x) => x.url === '/echo/untrusted'), 'the refused request never reached the origin');
  });

  it('untrusted read with node http keep-alive: the 407 and the authenticated retry share one socket', async () => {
    const port = await d.port('untrusted');
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const send = (auth: boolean) => new Promise<{ status: number; body: string; reused: boolean }>((resolve, reject) => {
      const req = httpRequest({
        host: '127.0.0.1', port, method: 'POST', path: `${origin.url}/echo`, agent,
        headers: { host: `127.0.0.1:${origin.port}`, ...(auth ? { 'proxy-authorization': `Basic ${Buffer.from('root:toor').toString('base64')}` } : {}) },
      }, (res) => {
        let body = '';
        res.setEncoding('latin1');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, body, reused: req.reusedSocket }));
      });
      req.setTimeout(5000, () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      req.end('payload-'.repeat(512));
    });
    try {
      const a = await send(false);
      assert.equal(a.status, 407);
      const b = await send(true);
      assert.equal(b.status, 200);
      assert.equal(b.body, 'payload-'.repeat(512));
      assert.equal(b.reused, true, 'the authenticated request went over the kept connection');
    } finally {
      agent.destroy();
    }
  });

  it('untrusted read does not cover wrong credentials: 407 and close', async () => {
    const port = await d.port('untrusted');
    const s = await tcpConnect(port);
    s.on('error', () => {});
    const bad = `Proxy-Authorization: Basic ${Buffer.from('root:wrong').toString('base64')}\r\n`;
    s.write(`POST ${origin.url}/echo HTTP/1.1\r\nHost: 127.0.0.1\r\n${bad}Content-Length: 5\r\n\r\nhello`);
    const r = await readResponse(s);
    assert.equal(r.status, 407);
    assert.match(r.head, /\r\nConnection: close/i);
    assert.ok(await closedWithin(s, 3000));
  });

  it('a second auth failure in a row on one connection closes it', async () => {
    const port = await d.port('auth');
    const s = await tcpConnect(port);
    s.on('error', () => {});
    const get = `GET ${origin.url}/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;
    s.write(get);
    const a = await readResponse(s);
    assert.equal(a.status, 407);
    assert.doesNotMatch(a.head, /\r\nConnection: close/i);
    s.write(get);
    const b = await readResponse(s);
    assert.equal(b.status, 407);
    assert.match(b.head, /\r\nConnection: close/i);
    assert.ok(await closedWithin(s, 3000));
  });

  it('ftp over http is authenticated like any request: 407 without credentials, on to the FTP server with them', async () => {
    const port = await d.port('auth');
    // nothing listens on the FTP port: getting as far as connecting shows the request passed authentication
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const ftpPort = (closed.address() as { port: number }).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const anon = await curl(['-x', `http://127.0.0.1:${port}`, `ftp://127.0.0.1:${ftpPort}/file.txt`, '--proxy-anyauth']);
    assert.equal(anon.status, 407, anon.stderr);
    const log = await d.waitForTask((t) => t.fields.task_type === 'FtpOverHttp' && t.fields.reason === 'ClientAuthFailed');
    assert.equal(log.fields.server_name, 'auth');
    const authed = await curl(['-x', `http://root:toor@127.0.0.1:${port}`, `ftp://127.0.0.1:${ftpPort}/file.txt`]);
    assert.ok(authed.status >= 500, `status ${authed.status}`);
    await d.waitForTask((t) => t.fields.task_type === 'FtpOverHttp' && t.fields.user === 'root');
  });

  it('no_early_error_reply: a request without valid credentials is answered by a close, no bytes', async () => {
    const port = await d.port('hidden');
    for (const extra of ['', `Proxy-Authorization: Basic ${Buffer.from('root:nope').toString('base64')}\r\n`]) {
      const s = await tcpConnect(port);
      s.on('error', () => {});
      s.write(`GET ${origin.url}/hidden HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}\r\n`);
      const got = await readUntil(s, () => false, 3000);
      assert.equal(got.length, 0, got.toString('latin1'));
      s.destroy();
    }
    const tunnel = await tcpConnect(port);
    tunnel.on('error', () => {});
    tunnel.write(`CONNECT 127.0.0.1:${origin.port} HTTP/1.1\r\nHost: 127.0.0.1:${origin.port}\r\n\r\n`);
    const got = await readUntil(tunnel, () => false, 3000);
    assert.equal(got.length, 0, 'CONNECT without credentials: no bytes either');
    tunnel.destroy();
    const ok = await curl(['-x', `http://root:toor@127.0.0.1:${port}`, `${origin.url}/hidden-ok`]);
    assert.equal(ok.status, 200, ok.stderr);
  });
});
