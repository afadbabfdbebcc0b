import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { createSocket } from 'node:dgram';
import { X509Certificate } from 'node:crypto';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { connect as h2Connect, createSecureServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { SluiceError } from '@sluice/common';
import { parseClientHello } from '@sluice/protocol';
import { makePki, removePki, startCertgen, startTlsOrigin, type CertgenHandle, type TestPki } from '@sluice/testkit';
import { parseTlsInterception, TlsInterceptor, type TlsInterceptResult } from './index.js';
import type { ParseContext } from '../../runtime/object-def.js';

const ctx: ParseContext = {
  object: {} as ParseContext['object'],
  baseDir: '/',
  fail(path, why) {
    throw new Error(`${path.join('.')}: ${why}`);
  },
};

interface Outcome {
  result?: TlsInterceptResult;
  error?: unknown;
  /** 'data' events it took to read the whole ClientHello */
  helloReads: number;
  elapsedMs: number;
}

/**
 * What an auditor does: accept the client, read until the ClientHello is complete, connect the upstream and
 * hand both to intercept(). On success the decrypted sides are piped to each other.
 */
async function startInterceptPoint(interceptor: () => TlsInterceptor, upstreamPort: () => number): Promise<{ port: number; outcomes: Outcome[]; next(): Promise<Outcome>; close(): Promise<void> }> {
  const outcomes: Outcome[] = [];
  const waiters: Array<(o: Outcome) => void> = [];
  const settle = (o: Outcome) => {
    outcomes.push(o);
    waiters.shift()?.(o);
  };
  const server: Server = createServer((client) => {
    let buf = Buffer.alloc(0);
    let reads = 0;
    const onData = (d: Buffer) => {
      reads++;
      buf = Buffer.concat([buf, d]);
      if (parseClientHello(buf, 1 << 14) === null) return;
      client.off('data', onData);
      client.pause();
      const upstream = netConnect(upstreamPort(), '127.0.0.1');
      upstream.once('connect', () => {
        const t0 = Date.now();
        interceptor().intercept({ client, clientHello: buf, upstream, host: 'localhost', port: upstreamPort(), timeoutMs: 8000 }).then((result) => {
          result.client.pipe(result.upstream).pipe(result.client);
          result.client.on('error', () => {});
          result.upstream.on('error', () => {});
          settle({ result, helloReads: reads, elapsedMs: Date.now() - t0 });
        }, (error: unknown) => settle({ error, helloReads: reads, elapsedMs: Date.now() - t0 }));
      });
      upstream.on('error', () => {});
    };
    client.on('data', onData);
    client.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    outcomes,
    next: () => new Promise<Outcome>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no interception outcome within 10s')), 10_000);
      waiters.push((o) => {
        clearTimeout(t);
        resolve(o);
      });
    }),
    close: () => new Promise<void>((r) => {
      server.close(() => r());
    }),
  };
}

/** A TCP relay that forwards client→server bytes in small, delayed pieces: the ClientHello arrives cut up. */
async function startChoppingRelay(target: number): Promise<{ port: number; close(): Promise<void> }> {
  const socks = new Set<Socket>();
  const server = createServer((a) => {
    const b = netConnect(target, '127.0.0.1');
    a.setNoDelay(true);
    b.setNoDelay(true);
    socks.add(a).add(b);
    let chain = Promise.resolve();
    a.on('data', (d: Buffer) => {
      a.pause();
      chain = chain.then(async () => {
        for (let i = 0; i < d.length; i += 64) {
          b.write(d.subarray(i, i + 64));
          await new Promise((r) => setTimeout(r, 5));
        }
        a.resume();
      });
    });
    b.pipe(a);
    a.on('end', () => void chain.then(() => b.end()));
    for (const s of [a, b]) s.on('error', () => { a.destroy(); b.destroy(); });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((r) => {
      for (const s of socks) s.destroy();
      server.close(() => r());
    }),
  };
}

function readAll(s: TLSSocket, limitMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error(`no end within ${limitMs}ms, got ${JSON.stringify(out)}`)), limitMs);
    s.setEncoding('utf8').on('data', (d: string) => (out += d));
    s.on('end', () => {
      clearTimeout(t);
      resolve(out);
    });
    s.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}

describe('TlsInterceptor end to end (sluice-certgen, loopback origin)', () => {
  let originPki: TestPki;
  let certgenPki: TestPki;
  let roguePki: TestPki;
  let certgen: CertgenHandle;
  let certgenCa: X509Certificate;
  let interceptor: TlsInterceptor;
  let origin: { port: number; close(): Promise<void> };

  before(async () => {
    originPki = makePki(['localhost'], ['127.0.0.1']);
    certgenPki = makePki();
    roguePki = makePki(['localhost'], ['127.0.0.1']);
    certgenCa = new X509Certificate(certgenPki.caCert);
    certgen = await startCertgen(certgenPki);
    origin = await startTlsOrigin(originPki);
    const cfg = parseTlsInterception({
      tls_cert_agent: { query_peer_addr: `127.0.0.1:${certgen.port}`, query_wait_timeout: '3s' },
      tls_interception_client: { ca_certificate: originPki.files.caCert },
    }, ctx);
    assert.ok(cfg);
    interceptor = new TlsInterceptor(cfg);
  });
  after(async () => {
    interceptor.close();
    await origin.close();
    await certgen.stop();
    for (const p of [originPki, certgenPki, roguePki]) removePki(p);
  });

  it('relays an HTTPS request; the client sees a certgen-issued cert for its SNI; the hello came in pieces', async () => {
    const point = await startInterceptPoint(() => interceptor, () => origin.port);
    const relay = await startChoppingRelay(point.port);
    try {
      const outcome = point.next();
      const client = tlsConnect({ host: '127.0.0.1', port: relay.port, servername: 'localhost', ca: certgenPki.caCert, ALPNProtocols: ['http/1.1'] });
      client.on('error', () => {});
      await new Promise<void>((resolve, reject) => {
        client.once('secureConnect', resolve);
        client.once('error', reject);
      });
      assert.ok(client.authorized, `client did not trust the fake cert: ${String(client.authorizationError)}`);
      const peer = client.getPeerCertificate(false);
      const fake = new X509Certificate(peer.raw);
      assert.ok(fake.verify(certgenCa.publicKey), 'fake cert not issued by the certgen CA');
      assert.ok(fake.checkHost('localhost'), `fake cert is not for the SNI: ${fake.subjectAltName}`);
      // mimicked from the origin's leaf
      assert.equal(fake.subjectAltName, 'DNS:localhost, IP Address:127.0.0.1');
      client.write('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n');
      const text = await readAll(client);
      assert.match(text, /^HTTP\/1\.1 200 OK/);
      assert.match(text, /tls-hello$/);
      const o = await outcome;
      assert.ok(o.result, String(o.error));
      assert.ok(o.helloReads > 1, `the ClientHello came in ${o.helloReads} read(s); the relay should have cut it`);
      assert.equal(o.result.sni, 'localhost');
      assert.equal(o.result.upstreamVerified, true);
      assert.equal(o.result.alpn, false, 'the origin offers no ALPN');
      assert.ok(o.result.timings.totalMs >= o.result.timings.clientHandshakeMs);
    } finally {
      await relay.close();
      await point.close();
    }
  });

  it('passes ALPN h2 through when client and origin both offer it (a real HTTP/2 request)', async () => {
    const h2origin = createSecureServer({ key: originPki.key, cert: originPki.cert, allowHTTP1: true }, (req, res) => {
      res.end(`h2 origin saw ${req.httpVersion}`);
    });
    await new Promise<void>((r) => h2origin.listen(0, '127.0.0.1', r));
    const h2port = (h2origin.address() as AddressInfo).port;
    const point = await startInterceptPoint(() => interceptor, () => h2port);
    const session = h2Connect('https://localhost', {
      createConnection: () => tlsConnect({ host: '127.0.0.1', port: point.port, servername: 'localhost', ca: certgenPki.caCert, ALPNProtocols: ['h2', 'http/1.1'] }),
    });
    session.on('error', () => {});
    try {
      const body = await new Promise<string>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('no h2 response within 5s')), 5000);
        const req = session.request({ ':path': '/' });
        let out = '';
        req.setEncoding('utf8').on('data', (d: string) => (out += d));
        req.on('end', () => {
          clearTimeout(t);
          resolve(out);
        });
        req.on('error', reject);
        req.end();
      });
      assert.equal(body, 'h2 origin saw 2.0');
      const o = point.outcomes[0]!;
      assert.ok(o.result, String(o.error));
      assert.equal(o.result.alpn, 'h2');
      assert.equal(o.result.upstream.alpnProtocol, 'h2');
    } finally {
      session.destroy();
      await point.close();
      await new Promise<void>((r) => h2origin.close(() => r()));
    }
  });

  it('rejects with UPSTREAM_TLS_VERIFY_FAILED when the origin cert is not trusted, closing the client', async () => {
    const rogue = await startTlsOrigin(roguePki);
    const point = await startInterceptPoint(() => interceptor, () => rogue.port);
    try {
      const outcome = point.next();
      const client = tlsConnect({ host: '127.0.0.1', port: point.port, servername: 'localhost', ca: certgenPki.caCert });
      const clientEnd = new Promise<string>((resolve) => {
        client.once('error', (e) => resolve(`error ${e.message}`));
        client.once('close', () => resolve('close'));
      });
      const o = await outcome;
      assert.ok(o.error instanceof SluiceError, String(o.error));
      assert.equal(o.error.code, 'UPSTREAM_TLS_VERIFY_FAILED');
      assert.match(o.error.message, /not trusted/);
      assert.ok(await clientEnd);
      assert.equal(client.authorized, false);
    } finally {
      await point.close();
      await rogue.close();
    }
  });

  it('rejects with TLS_CERT_AGENT_TIMEOUT within query_wait_timeout when the agent is dead', async () => {
    // a UDP port that nobody listens on any more
    const probe = createSocket('udp4');
    await new Promise<void>((r) => probe.bind(0, '127.0.0.1', r));
    const deadPort = probe.address().port;
    await new Promise<void>((r) => probe.close(() => r()));
    const cfg = parseTlsInterception({
      tls_cert_generator: { query_peer_addr: `127.0.0.1:${deadPort}`, query_wait_timeout: '600ms' },
      tls_interception_client: { ca_certificate: originPki.files.caCert },
    }, ctx);
    assert.ok(cfg);
    const dead = new TlsInterceptor(cfg);
    const point = await startInterceptPoint(() => dead, () => origin.port);
    try {
      const outcome = point.next();
      const client = tlsConnect({ host: '127.0.0.1', port: point.port, servername: 'localhost', ca: certgenPki.caCert });
      client.on('error', () => {});
      const o = await outcome;
      assert.ok(o.error instanceof SluiceError, String(o.error));
      assert.equal(o.error.code, 'TLS_CERT_AGENT_TIMEOUT');
      // upstream handshake + 600ms of waiting, not the 4s default or the 8s overall bound
      assert.ok(o.elapsedMs >= 550 && o.elapsedMs < 2500, `took ${o.elapsedMs}ms`);
      client.destroy();
    } finally {
      dead.close();
      await point.close();
    }
  });
});

describe('parseTlsInterception', () => {
  it('is undefined without a cert agent (no interception, as in g3)', () => {
    assert.equal(parseTlsInterception({ tls_interception_client: {} }, ctx), undefined);
  });

  it('takes g3 defaults, a string as query_peer_addr, and the tls_cert_generator alias', () => {
    const a = parseTlsInterception({ tls_cert_agent: {} }, ctx)!;
    assert.equal(a.certAgent.peerHost, '127.0.0.1');
    assert.equal(a.certAgent.peerPort, 2999);
    assert.equal(a.certAgent.queryWaitTimeoutMs, 4000);
    assert.equal(a.certAgent.protectiveCacheTtl, 10);
    assert.equal(a.certAgent.maximumCacheTtl, 300);
    assert.equal(a.certAgent.cacheVanishWaitMs, 300_000);
    assert.equal(a.client.handshakeTimeoutMs, 10_000);
    assert.equal(a.client.insecure, false);
    assert.equal(a.server.acceptTimeoutMs, 10_000);
    const b = parseTlsInterception({ tls_cert_generator: '127.0.0.2:3000', tls_interception_server: { handshake_timeout: '3s' } }, ctx)!;
    assert.equal(b.certAgent.peerHost, '127.0.0.2');
    assert.equal(b.certAgent.peerPort, 3000);
    assert.equal(b.server.acceptTimeoutMs, 3000);
  });

  it('names the key of a bad value', () => {
    assert.throws(() => parseTlsInterception({ tls_cert_agent: { query_wait_timeout: 'soon' } }, ctx), /tls_cert_agent\.query_wait_timeout/);
    assert.throws(() => parseTlsInterception({ tls_cert_agent: {}, tls_interception_client: { certificate: 'x' } }, ctx), /unknown key 'certificate'/);
  });
});
