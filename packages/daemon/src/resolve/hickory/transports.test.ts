/**
 * The three transports against loopback peers written here, for what real servers rarely do: stray and
 * spoofed datagrams, answers split across TCP segments and out of order, HTTP errors and wrong media types.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { createSecureServer } from 'node:http2';
import { createServer, Socket, type AddressInfo } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeQuery } from '@sluice/protocol';
import { DohSession } from './doh.js';
import { ExchangeError } from './exchange-error.js';
import { StreamSession } from './stream.js';
import { udpExchange } from './udp.js';

/** The answer to `query`: QR+RA set, one A record 192.0.2.<last> pointing at the question name. */
function answer(query: Buffer, last: number, flags = 0x8180): Buffer {
  const head = Buffer.from(query.subarray(0, 12));
  head.writeUInt16BE(flags | (query.readUInt16BE(2) & 0x0100), 2);
  head.writeUInt16BE(1, 6);
  head.writeUInt16BE(0, 10);
  // the question ends 4 octets after its name's terminating zero
  const qEnd = query.indexOf(0, 12) + 5;
  const rr = Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, last]);
  return Buffer.concat([head, query.subarray(12, qEnd), rr]);
}

const never = new AbortController().signal;

describe('udpExchange', () => {
  it('ignores a stray id and a mismatched question, takes the real answer', async () => {
    const srv = createSocket('udp4');
    await new Promise<void>((r) => srv.bind(0, '127.0.0.1', r));
    srv.on('message', (q, rinfo) => {
      const stray = answer(q, 9);
      stray.writeUInt16BE((q.readUInt16BE(0) + 1) & 0xffff, 0);
      const otherQuestion = answer(encodeQuery(q.readUInt16BE(0), 'evil.example', 1), 8);
      for (const b of [stray, otherQuestion, answer(q, 7)]) srv.send(b, rinfo.port, rinfo.address);
    });
    try {
      const m = await udpExchange({ ip: '127.0.0.1', port: srv.address().port, bindIp: '127.0.0.1' },
        encodeQuery(4242, 'www.example', 1), 4242, 'www.example', 1, 2000, never);
      assert.notEqual(m, 'truncated');
      assert.equal(m !== 'truncated' && m.answers[0]!.value, '192.0.2.7');
    } finally {
      srv.close();
    }
  });

  it('reports truncation, a malformed answer, and a timeout', async () => {
    const srv = createSocket('udp4');
    await new Promise<void>((r) => srv.bind(0, '127.0.0.1', r));
    let mode = 'tc';
    srv.on('message', (q, rinfo) => {
      if (mode === 'tc') srv.send(answer(q, 1, 0x8380).subarray(0, 20), rinfo.port, rinfo.address);
      if (mode === 'bad') srv.send(Buffer.concat([answer(q, 1), Buffer.from([1])]), rinfo.port, rinfo.address);
    });
    const ex = () => udpExchange({ ip: '127.0.0.1', port: srv.address().port, bindIp: undefined },
      encodeQuery(1, 'www.example', 1), 1, 'www.example', 1, 300, never);
    try {
      assert.equal(await ex(), 'truncated');
      mode = 'bad';
      await assert.rejects(ex(), (e) => e instanceof ExchangeError && e.kind === 'malformed');
      mode = 'silent';
      const t0 = Date.now();
      await assert.rejects(ex(), (e) => e instanceof ExchangeError && e.kind === 'timeout');
      assert.ok(Date.now() - t0 < 1500);
    } finally {
      srv.close();
    }
  });
});

describe('StreamSession', () => {
  it('reassembles answers split across segments and matches them by id in any order', async () => {
    const server = createServer((sock: Socket) => {
      let buf = Buffer.alloc(0);
      const queries: Buffer[] = [];
      sock.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          queries.push(buf.subarray(2, 2 + buf.readUInt16BE(0)));
          buf = buf.subarray(2 + buf.readUInt16BE(0));
        }
        if (queries.length < 2) return;
        // the second query answered first, then the first, dribbled out one octet at a time
        const frames = [queries[1]!, queries[0]!].map((q, i) => {
          const a = answer(q, 10 + i);
          const len = Buffer.alloc(2);
          len.writeUInt16BE(a.length);
          return Buffer.concat([len, a]);
        });
        const all = Buffer.concat(frames);
        let i = 0;
        const drip = setInterval(() => {
          if (i >= all.length) return clearInterval(drip);
          sock.write(all.subarray(i, i + 1));
          i++;
        }, 0);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const client = new StreamSession(await connectTcp((server.address() as AddressInfo).port), 'test', 5000);
    try {
      const a = client.request(encodeQuery(100, 'a.example', 1), 100, 'a.example', 1, 3000);
      const b = client.request(encodeQuery(200, 'b.example', 1), 200, 'b.example', 1, 3000);
      const [ma, mb] = await Promise.all([a, b]);
      assert.equal(ma.answers[0]!.value, '192.0.2.11');
      assert.equal(mb.answers[0]!.value, '192.0.2.10');
    } finally {
      client.close();
      server.close();
    }
  });

  it('fails outstanding queries when the server closes', async () => {
    const server = createServer((sock) => sock.on('data', () => sock.destroy()));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const client = new StreamSession(await connectTcp((server.address() as AddressInfo).port), 'test', 5000);
    await assert.rejects(client.request(encodeQuery(1, 'a.example', 1), 1, 'a.example', 1, 3000), (e) => e instanceof ExchangeError && e.kind === 'closed');
    assert.equal(client.usable, false);
    server.close();
  });
});

function connectTcp(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = new Socket();
    s.once('error', reject);
    s.connect(port, '127.0.0.1', () => resolve(s));
  });
}

describe('DohSession', () => {
  it('posts the query, reads the answer, and refuses HTTP errors and other media types', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-doh-'));
    const f = (n: string) => join(dir, n);
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=doh.test', '-addext', 'subjectAltName=DNS:doh.test', '-keyout', f('k.pem'), '-out', f('c.pem')], { stdio: 'pipe' });
    const cert = readFileSync(f('c.pem'));
    let mode = 'ok';
    const seen: { method?: string; path?: string; ct?: string } = {};
    const tlsServer = createSecureServer({ key: readFileSync(f('k.pem')), cert });
    tlsServer.on('stream', (stream, headers) => {
      const chunks: Buffer[] = [];
      stream.on('data', (d: Buffer) => chunks.push(d));
      stream.on('end', () => {
        seen.method = String(headers[':method']);
        seen.path = String(headers[':path']);
        seen.ct = String(headers['content-type']);
        const q = Buffer.concat(chunks);
        if (mode === 'ok') {
          stream.respond({ ':status': 200, 'content-type': 'application/dns-message' });
          stream.end(answer(q, 5));
        } else if (mode === '500') {
          stream.respond({ ':status': 500 });
          stream.end();
        } else {
          stream.respond({ ':status': 200, 'content-type': 'text/html' });
          stream.end('<html>');
        }
      });
    });
    await new Promise<void>((r) => tlsServer.listen(0, '127.0.0.1', r));
    const port = (tlsServer.address() as AddressInfo).port;
    const sock: TLSSocket = await new Promise((resolve, reject) => {
      const s = tlsConnect({ host: '127.0.0.1', port, servername: 'doh.test', ca: cert, ALPNProtocols: ['h2'] }, () => resolve(s));
      s.once('error', reject);
    });
    const doh = new DohSession(sock, `doh.test:${port}`, 'test', 5000);
    try {
      const m = await doh.request(encodeQuery(0, 'www.example', 1), 'www.example', 1, 3000);
      assert.equal(m.answers[0]!.value, '192.0.2.5');
      assert.deepEqual(seen, { method: 'POST', path: '/dns-query', ct: 'application/dns-message' });
      mode = '500';
      await assert.rejects(doh.request(encodeQuery(0, 'www.example', 1), 'www.example', 1, 3000), /HTTP 500/);
      mode = 'html';
      await assert.rejects(doh.request(encodeQuery(0, 'www.example', 1), 'www.example', 1, 3000), /content-type 'text\/html'/);
      // the connection is still good for the next query
      mode = 'ok';
      assert.equal((await doh.request(encodeQuery(0, 'www.example', 1), 'www.example', 1, 3000)).answers.length, 1);
    } finally {
      doh.close();
      tlsServer.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
