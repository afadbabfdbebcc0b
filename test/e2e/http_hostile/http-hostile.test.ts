/**
 * Hostile input against http_proxy, each case sent raw on its own connection: the expected status, the task
 * log reason, no smuggled request reaching the origin, and a normal request succeeding afterwards. Also limits
 * (head size, URI length, header count, head time, connections), upstream work cancelled when clients vanish
 * (file descriptors back to baseline) and bounded memory for a client that stops reading.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { createSocket, type Socket as DgramSocket } from 'node:dgram';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import assert from 'node:assert/strict';
import { baseConfig, readUntil, startDaemon, startOrigin, tcpConnect, type DaemonHandle, type Origin } from '@sluice/testkit';

const yamlFor = (silentDnsPort: number) => `${baseConfig({
  resolvers: `  - name: silent
    type: c-ares
    server: 127.0.0.1:${silentDnsPort}
    each_timeout: 20000
    each_tries: 1
`,
  escapers: `  - name: slow-dns
    type: direct_fixed
    resolver: silent
`,
})}
server:
  - name: stuck
    type: http_proxy
    listen: 127.0.0.1:0
    escaper: slow-dns
  - name: http
    type: http_proxy
    listen: 127.0.0.1:0
    escaper: direct
    req_header_recv_timeout: 1s
    rsp_header_recv_timeout: 30s
`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function send(port: number, data: string | Buffer, timeoutMs = 4000): Promise<{ out: string; localPort: number }> {
  const s = await tcpConnect(port);
  s.on('error', () => {});
  const localPort = s.localPort!;
  s.write(data);
  const out = await readUntil(s, () => false, timeoutMs).catch((e: Error) => Buffer.from(`TIMEOUT ${e.message}`));
  s.destroy();
  return { out: out.toString('latin1'), localPort };
}

function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}
function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]);
}

describe('http_proxy against hostile clients', () => {
  let d: DaemonHandle;
  let origin: Origin;
  let port: number;
  let o: string;
  let silentDns: DgramSocket;

  before(async () => {
    origin = await startOrigin();
    o = `127.0.0.1:${origin.port}`;
    silentDns = createSocket('udp4');
    silentDns.on('message', () => {}); // swallow every query
    await new Promise<void>((r) => silentDns.bind(0, '127.0.0.1', r));
    d = await startDaemon({ files: { 'main.yaml': yamlFor(silentDns.address().port) } });
    port = await d.port('http');
  });
  after(async () => {
    await d?.stop();
    await origin?.close();
    silentDns?.close();
  });

  const smuggled = 'GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n';
  const post = (headers: string, body = '') => `POST http://${o}/p HTTP/1.1\r\nHost: ${o}\r\n${headers}\r\n${body}`;
  const cases: Array<{ name: string; data: () => string; status: number[]; reason: string }> = [
    { name: 'Content-Length with Transfer-Encoding', data: () => post('Content-Length: 5\r\nTransfer-Encoding: chunked\r\n', `0\r\n\r\n${smuggled}`), status: [400], reason: 'InvalidClientProtocol' },
    { name: 'Transfer-Encoding not ending in chunked', data: () => post('Transfer-Encoding: chunked, gzip\r\n', `0\r\n\r\n${smuggled}`), status: [400, 501], reason: '' },
    { name: 'unknown Transfer-Encoding', data: () => post('Transfer-Encoding: xchunked\r\n', `0\r\n\r\n${smuggled}`), status: [400, 501], reason: '' },
    { name: 'Transfer-Encoding twice', data: () => post('Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n', `0\r\n\r\n${smuggled}`), status: [400, 501], reason: '' },
    { name: 'conflicting Content-Length', data: () => post('Content-Length: 5\r\nContent-Length: 6\r\n', `hello${smuggled}`), status: [400], reason: 'InvalidClientProtocol' },
    { name: 'non-decimal Content-Length', data: () => post('Content-Length: 0x5\r\n', `hello${smuggled}`), status: [400], reason: 'InvalidClientProtocol' },
    { name: 'signed Content-Length', data: () => post('Content-Length: +5\r\n', `hello${smuggled}`), status: [400], reason: 'InvalidClientProtocol' },
    { name: 'oversize Content-Length', data: () => post('Content-Length: 999999999999999999999999\r\n', 'x'), status: [400], reason: 'InvalidClientProtocol' },
    { name: 'oversize chunk size', data: () => post('Transfer-Encoding: chunked\r\n', `FFFFFFFFFFFFFFFFFFFFFF\r\nx\r\n0\r\n\r\n${smuggled}`), status: [400], reason: 'InvalidClientProtocol' },
    { name: 'bare LF line ends', data: () => `GET http://${o}/bare HTTP/1.1\nHost: ${o}\n\n${smuggled}`, status: [400], reason: 'InvalidClientProtocol' },
    { name: 'obs-fold', data: () => `GET http://${o}/fold HTTP/1.1\r\nHost: ${o}\r\nX-A: a\r\n b\r\n\r\n`, status: [400], reason: 'InvalidClientProtocol' },
    { name: 'control byte in a header value', data: () => `GET http://${o}/ctl HTTP/1.1\r\nHost: ${o}\r\nX-A: a\x01b\r\n\r\n`, status: [400], reason: 'InvalidClientProtocol' },
    { name: 'invalid header name', data: () => `GET http://${o}/name HTTP/1.1\r\nHost: ${o}\r\nBad Name: x\r\n\r\n`, status: [400], reason: 'InvalidClientProtocol' },
    { name: 'space before colon', data: () => `GET http://${o}/name2 HTTP/1.1\r\nHost: ${o}\r\nContent-Length : 5\r\n\r\nhello`, status: [400], reason: 'InvalidClientProtocol' },
    { name: 'duplicate Host', data: () => `GET http://${o}/dup HTTP/1.1\r\nHost: ${o}\r\nHost: evil.example\r\n\r\n`, status: [400], reason: 'InvalidClientProtocol' },
    { name: 'CONNECT without port', data: () => 'CONNECT 127.0.0.1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', status: [400], reason: 'InvalidClientProtocol' },
    { name: 'CONNECT port 0', data: () => 'CONNECT 127.0.0.1:0 HTTP/1.1\r\nHost: 127.0.0.1:0\r\n\r\n', status: [400], reason: 'InvalidClientProtocol' },
    { name: 'CONNECT port 65536', data: () => 'CONNECT 127.0.0.1:65536 HTTP/1.1\r\nHost: x\r\n\r\n', status: [400], reason: 'InvalidClientProtocol' },
    { name: 'CONNECT with a scheme', data: () => `CONNECT http://${o} HTTP/1.1\r\nHost: x\r\n\r\n`, status: [400], reason: 'InvalidClientProtocol' },
    { name: 'CONNECT with a path', data: () => `CONNECT ${o}/x HTTP/1.1\r\nHost: x\r\n\r\n`, status: [400], reason: 'InvalidClientProtocol' },
    { name: 'CONNECT with userinfo', data: () => `CONNECT a@${o} HTTP/1.1\r\nHost: x\r\n\r\n`, status: [400], reason: 'InvalidClientProtocol' },
    { name: 'header block too large', data: () => `GET http://${o}/big HTTP/1.1\r\nHost: ${o}\r\nX-Big: ${'a'.repeat(70_000)}\r\n\r\n`, status: [431], reason: 'InvalidClientProtocol' },
    { name: 'URI too long', data: () => `GET http://${o}/${'u'.repeat(9000)} HTTP/1.1\r\nHost: ${o}\r\n\r\n`, status: [414], reason: 'InvalidClientProtocol' },
    { name: 'too many headers', data: () => `GET http://${o}/many HTTP/1.1\r\nHost: ${o}\r\n${Array.from({ length: 150 }, (_, i) => `X-H${i}: v\r\n`).join('')}\r\n`, status: [400, 431], reason: 'InvalidClientProtocol' },
    { name: 'HTTP/2 preface', data: () => 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', status: [400, 505], reason: '' },
    { name: 'NUL in the request line', data: () => `GET http://${o}/\x00 HTTP/1.1\r\nHost: ${o}\r\n\r\n`, status: [400], reason: 'InvalidClientProtocol' },
  ];

  for (const c of cases) {
    it(`rejects ${c.name}`, async () => {
      const seenBefore = origin.seen.length;
      const { out, localPort } = await send(port, c.data());
      const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(out)?.[1]);
      assert.ok(c.status.includes(status), `status ${status} in ${JSON.stringify(out.slice(0, 80))}`);
      assert.match(out.split('\r\n\r\n')[0]!, /\r\nConnection: close/i, 'the connection is closed after a framing error');
      const log = await d.waitForLog((l) => l.fields.client_addr === `127.0.0.1:${localPort}`);
      // CONNECT tasks (TcpConnect) log no rsp_status
      if (log.fields.task_type === 'HttpForward') assert.equal(log.fields.rsp_status, String(status));
      else assert.equal(log.fields.task_type, 'TcpConnect');
      if (c.reason) assert.equal(log.fields.reason, c.reason);
      else assert.match(log.fields.reason!, /^(InvalidClientProtocol|UnimplementedProtocol)$/);
      assert.ok(!origin.seen.slice(seenBefore).some((r) => r.url === '/smuggled'), 'no smuggled request reached the origin');
      const ok = await send(port, `GET http://${o}/ok HTTP/1.1\r\nHost: ${o}\r\nConnection: close\r\n\r\n`);
      assert.match(ok.out, /^HTTP\/1\.1 200/, 'still serving');
    });
  }

  it('times out a slow request head with 408 and ClientAppTimeout', async () => {
    const t0 = Date.now();
    const { out, localPort } = await send(port, `GET http://${o}/slow HTTP/1.1\r\nHost: ${o}\r\n`);
    assert.match(out, /^HTTP\/1\.1 408/);
    assert.ok(Date.now() - t0 < 3500);
    const log = await d.waitForLog((l) => l.fields.client_addr === `127.0.0.1:${localPort}`);
    assert.equal(log.fields.reason, 'ClientAppTimeout');
  });

  it('closes upstream work when clients vanish: file descriptors return to baseline', async (t) => {
    // an origin that accepts and never answers
    const held = new Set<Socket>();
    const mute = createServer((s) => { held.add(s); s.on('error', () => {}); s.on('close', () => held.delete(s)); s.resume(); });
    await new Promise<void>((r) => mute.listen(0, '127.0.0.1', r));
    const mport = (mute.address() as AddressInfo).port;
    try {
      await sleep(200);
      const base = fdCount(d.pid);
      const clients: Socket[] = [];
      for (let i = 0; i < 100; i++) {
        const s = await tcpConnect(port);
        s.on('error', () => {});
        s.write(i % 2 ? `GET http://127.0.0.1:${mport}/wait HTTP/1.1\r\nHost: x\r\n\r\n` : `CONNECT 127.0.0.1:${mport} HTTP/1.1\r\nHost: x\r\n\r\n`);
        clients.push(s);
      }
      const deadline = Date.now() + 5000;
      while (held.size < 100 && Date.now() < deadline) await sleep(50);
      assert.equal(held.size, 100, 'all upstream connections made');
      assert.ok(fdCount(d.pid) >= base + 150);
      for (const s of clients) s.destroy();
      const end = Date.now() + 5000;
      let n = fdCount(d.pid);
      while (n > base + 2 && Date.now() < end) {
        await sleep(100);
        n = fdCount(d.pid);
      }
      assert.ok(n <= base + 2, `fds ${n} vs baseline ${base}`);
      t.diagnostic(`fds ${n} (baseline ${base})`);
      const end2 = Date.now() + 3000;
      while (held.size > 0 && Date.now() < end2) await sleep(50);
      assert.equal(held.size, 0, 'the origin saw every upstream connection closed');
    } finally {
      for (const s of held) s.destroy();
      await new Promise<void>((r) => mute.close(() => r()));
    }
  });

  it('releases clients stuck in name resolution at once when they go away', async () => {
    const stuck = await d.port('stuck');
    await sleep(200);
    const base = fdCount(d.pid);
    const clients: Socket[] = [];
    for (let i = 0; i < 50; i++) {
      const s = await tcpConnect(stuck);
      s.on('error', () => {});
      s.write(i % 2 ? `GET http://hang${i}.example/ HTTP/1.1\r\nHost: hang${i}.example\r\n\r\n` : `CONNECT hang${i}.example:443 HTTP/1.1\r\nHost: x\r\n\r\n`);
      clients.push(s);
    }
    await sleep(300);
    assert.ok(fdCount(d.pid) >= base + 45, 'the clients are held while resolving');
    for (const s of clients) s.destroy();
    const end = Date.now() + 3000;
    let n = fdCount(d.pid);
    while (n > base + 2 && Date.now() < end) {
      await sleep(100);
      n = fdCount(d.pid);
    }
    assert.ok(n <= base + 2, `fds ${n} vs baseline ${base}`);
  });

  it('keeps memory bounded when a client stops reading a 200 MB download', async (t) => {
    const base = rssKiB(d.pid);
    const s = await tcpConnect(port);
    s.on('error', () => {});
    s.write(`GET http://${o}/bytes?n=${200 * 1024 * 1024} HTTP/1.1\r\nHost: ${o}\r\n\r\n`);
    // read only the first bytes, then stop reading
    await readUntil(s, (b) => b.length > 0);
    s.pause();
    await sleep(3000);
    const grown = rssKiB(d.pid) - base;
    s.destroy();
    t.diagnostic(`RSS grew by ${grown} KiB`);
    assert.ok(grown < 8 * 1024, `RSS grew by ${grown} KiB`);
  });
});
