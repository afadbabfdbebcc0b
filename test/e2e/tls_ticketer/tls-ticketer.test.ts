/**
 * tls_ticketer end to end: TLS session resumption (node tls.connect with the session of an earlier
 * connection, `isSessionReused()`) on an HTTPS http_proxy, a plain_tls_port, a native_tls_port and an http_rproxy
 * terminating TLS; two daemons sharing ticket keys through a real redis-server resume each other's sessions,
 * daemons with local keys only do not; a key rolled in Redis keeps old tickets working through the decrypt set;
 * and `sluice -t` takes g3's config shape.
 */
import { randomBytes } from 'node:crypto';
import { connect as tlsConnect } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { baseConfig, makePki, removePki, runSluice, startDaemon, startOrigin, type DaemonHandle, type Origin, type TestPki } from '@sluice/testkit';
import { startRedis, type RedisServer } from '../redis_users/redis-server.js';

const ENC = 'tls_ticket_enc';
const DEC = 'tls_ticket_dec';

function key(extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ name: randomBytes(16).toString('hex'), aes: randomBytes(32).toString('hex'), hmac: randomBytes(16).toString('hex'), ...extra });
}

function yaml(pki: TestPki, origin: Origin, redisPort: number): string {
  const tls = `
      certificate: ${pki.files.cert}
      private_key: ${pki.files.key}`;
  const shared = `
      check_interval: 300ms
      source:
        type: redis
        addr: 127.0.0.1:${redisPort}
        enc_key: ${ENC}
        dec_set: ${DEC}`;
  return `
${baseConfig()}server:
  - name: shared
    type: http_proxy
    listen: 127.0.0.1:0
    escaper: direct
    tls_server:${tls}
    tls_ticketer:${shared}
  - name: local
    type: http_proxy
    listen: 127.0.0.1:0
    escaper: direct
    tls_server:${tls}
    tls_ticketer: {}
  - name: notickets
    type: http_proxy
    listen: 127.0.0.1:0
    escaper: direct
    tls_server:${tls}
  - name: plain
    type: http_proxy
    escaper: direct
  - name: tlsport
    type: plain_tls_port
    listen: 127.0.0.1:0
    server: plain
    tls_server:${tls}
    tls_ticketer:${shared}
      local_lifetime: 3600
  - name: nativeport
    type: native_tls_port
    listen: 127.0.0.1:0
    server: plain
    tls_server:${tls}
    tls_ticketer:${shared}
  - name: gateway
    type: http_rproxy
    listen: 127.0.0.1:0
    escaper: direct
    enable_tls_server: true
    tls_ticketer:${shared}
    hosts:
      - exact_match: localhost
        upstream: 127.0.0.1:${origin.port}
        tls_server:${tls.replace(/\n {6}/g, '\n          ')}
`;
}

interface Visit {
  status: number;
  reused: boolean;
  session: Buffer | undefined;
}

/** One HTTPS request over a fresh TLS connection, optionally resuming `session`; returns the new session. */
function visit(port: number, ca: string, request: string, session?: Buffer): Promise<Visit> {
  return new Promise((resolve, reject) => {
    let got: Buffer | undefined;
    let text = '';
    const t = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', ca, session });
    const timer = setTimeout(() => t.destroy(new Error('timeout')), 5000);
    t.on('secureConnect', () => t.write(request));
    t.on('session', (s: Buffer) => (got = s));
    t.on('data', (d: Buffer) => (text += d.toString('latin1')));
    t.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    t.on('end', () => {
      clearTimeout(timer);
      resolve({ status: Number(text.split(' ')[1]), reused: t.isSessionReused(), session: got });
    });
  });
}

describe('tls_ticketer', () => {
  let redis: RedisServer;
  let pki: TestPki;
  let origin: Origin;
  let a: DaemonHandle;
  let b: DaemonHandle;
  let proxyGet: string;

  before(async () => {
    redis = await startRedis();
    await redis.cli(['SET', ENC, key({ lifetime: 3600 })]);
    pki = makePki(['localhost']);
    origin = await startOrigin();
    proxyGet = `GET ${origin.url}/ HTTP/1.1\r\nHost: 127.0.0.1:${origin.port}\r\nConnection: close\r\n\r\n`;
    const files = { 'main.yaml': yaml(pki, origin, redis.port) };
    [a, b] = await Promise.all([startDaemon({ files }), startDaemon({ files })]);
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
    await origin?.close();
    await redis?.stop();
    if (pki) removePki(pki);
  });

  /** The first visit gets a session, the second resumes it, both answered 200. */
  async function resumesOn(d: DaemonHandle, server: string, request: string): Promise<void> {
    const port = await d.port(server);
    const first = await visit(port, pki.caCert, request);
    assert.equal(first.status, 200);
    assert.equal(first.reused, false);
    assert.ok(first.session, 'a session ticket was issued');
    const second = await visit(port, pki.caCert, request, first.session);
    assert.equal(second.status, 200);
    assert.equal(second.reused, true, `${server}: the session was resumed`);
  }

  it('resumes sessions on the same daemon: http_proxy, plain_tls_port, native_tls_port, http_rproxy', async () => {
    await resumesOn(a, 'local', proxyGet);
    await resumesOn(a, 'notickets', proxyGet);
    await resumesOn(a, 'shared', proxyGet);
    await resumesOn(a, 'tlsport', proxyGet);
    await resumesOn(a, 'nativeport', proxyGet);
    await resumesOn(a, 'gateway', 'GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
  });

  it('two daemons sharing the Redis source resume each other\'s sessions; local keys do not travel', async () => {
    const gatewayGet = 'GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n';
    for (const [server, request] of [['shared', proxyGet], ['tlsport', proxyGet], ['nativeport', proxyGet], ['gateway', gatewayGet]] as const) {
      const fromA = await visit(await a.port(server), pki.caCert, request);
      assert.ok(fromA.session);
      const onB = await visit(await b.port(server), pki.caCert, request, fromA.session);
      assert.equal(onB.status, 200);
      assert.equal(onB.reused, true, `${server}: B opened the ticket A issued`);
      const fromB = await visit(await b.port(server), pki.caCert, request);
      assert.equal((await visit(await a.port(server), pki.caCert, request, fromB.session)).reused, true, `${server}: and the other way round`);
    }

    for (const server of ['local', 'notickets']) {
      const s = await visit(await a.port(server), pki.caCert, proxyGet);
      const other = await visit(await b.port(server), pki.caCert, proxyGet, s.session);
      assert.equal(other.status, 200);
      assert.equal(other.reused, false, `${server}: another daemon's local keys can't open the ticket`);
    }
  });

  it('a key rolled in Redis: old tickets still open through the decrypt set, new ones use the new key on both', async () => {
    const before = await visit(await a.port('shared'), pki.caCert, proxyGet);
    const oldKey = await redis.cli(['GET', ENC]);
    const expire = new Date(Date.now() + 3600_000).toISOString().replace(/\.\d+Z$/, 'Z');
    const old = JSON.parse(oldKey) as Record<string, unknown>;
    delete old.lifetime;
    await redis.cli(['SADD', DEC, JSON.stringify({ ...old, expire })]);
    const next = key({ lifetime: 3600 });
    await redis.cli(['SET', ENC, next]);
    // both daemons read the source every 300 ms: wait until a new ticket from A opens on B with the old key gone
    // from the encrypt slot (the new key is the only one both can have learned from Redis)
    await new Promise((r) => setTimeout(r, 1200));
    const after = await visit(await a.port('shared'), pki.caCert, proxyGet);
    assert.equal((await visit(await b.port('shared'), pki.caCert, proxyGet, after.session)).reused, true, 'the new key is shared');
    assert.equal((await visit(await b.port('shared'), pki.caCert, proxyGet, before.session)).reused, true, 'the old key still decrypts');
    // dropping the old key from the decrypt set does not take it back from daemons that have it (it expires
    // with its expire time), so a fresh daemon would be needed to see it refused: checked in the unit tests
  });

  it('sluice -t takes g3\'s tls_ticketer shape and refuses an unknown key', async () => {
    const conf = (ticketer: string) => `
resolver: [{ name: default, type: c-ares }]
escaper: [{ name: direct, type: direct_fixed, resolver: default }]
server:
  - name: https
    type: http_proxy
    listen: 127.0.0.1:0
    escaper: direct
    tls_server: { certificate: ${pki.files.cert}, private_key: ${pki.files.key} }
    tls_ticketer:${ticketer}
  - name: port
    type: native_tls_port
    listen: 127.0.0.1:0
    server: https
    tls_server: { certificate: ${pki.files.cert}, private_key: ${pki.files.key} }
    tls_ticketer:${ticketer}
`;
    const g3Shape = `
      check_interval: "600s"
      local_lifetime: 43200
      source:
        type: "redis"
        addr: "127.0.0.1:6379"
        db: 0
        enc_key: "tls_ticket_enc"
        dec_set: "tls_ticket_dec"`;
    a.writeFile('t1/main.yaml', conf(g3Shape));
    const ok = await runSluice(['-t', '-c', `${a.dir}/t1/main.yaml`]);
    assert.equal(ok.code, 0, ok.stderr + ok.stdout);
    a.writeFile('t2/main.yaml', conf('\n      invalid_key: 1'));
    const bad = await runSluice(['-t', '-c', `${a.dir}/t2/main.yaml`]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr + bad.stdout, /invalid_key/);
  });
});
