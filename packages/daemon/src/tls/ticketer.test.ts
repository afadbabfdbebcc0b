import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createSecureContext, createServer, type Server } from 'node:tls';
import { parseTlsTicketer } from './ticketer-config.js';
import { parseTicketKeyJson, randomTicketKey, reconcileTicketer, RollingTicketer } from './ticketer.js';

const hex = (n: number, byte: number) => Buffer.alloc(n, byte).toString('hex');

describe('tls_ticketer config', () => {
  it('takes g3\'s shape and defaults', () => {
    const d = parseTlsTicketer({}, '/');
    assert.equal(d.checkIntervalMs, 300_000);
    assert.equal(d.localLifetimeS, 43_200);
    assert.equal(d.source, undefined);
    const c = parseTlsTicketer({
      check_interval: '600s', local_lifetime: 3600,
      source: { type: 'redis', addr: '127.0.0.1', db: 2, enc_key: 'tls_ticket_enc', dec_set: 'tls_ticket_dec', response_timeout: '1s' },
    }, '/');
    assert.equal(c.checkIntervalMs, 600_000);
    assert.equal(c.localLifetimeS, 3600);
    assert.deepEqual([c.source?.host, c.source?.port, c.source?.db, c.source?.encKey, c.source?.decSet, c.source?.responseTimeoutMs],
      ['127.0.0.1', 6379, 2, 'tls_ticket_enc', 'tls_ticket_dec', 1000]);
  });

  it('refuses unknown keys, a source without enc_key or dec_set, and unknown source types', () => {
    assert.throws(() => parseTlsTicketer({ invalid_key: 1 }, '/'), /invalid key/);
    assert.throws(() => parseTlsTicketer({ check_interval: '300x' }, '/'));
    assert.throws(() => parseTlsTicketer({ local_lifetime: -1 }, '/'));
    assert.throws(() => parseTlsTicketer({ source: 'invalid_source' }, '/'), /must be a map/);
    assert.throws(() => parseTlsTicketer({ source: { type: 'redis', addr: '127.0.0.1', dec_set: 'd' } }, '/'), /enc_key/);
    assert.throws(() => parseTlsTicketer({ source: { type: 'redis', addr: '127.0.0.1', enc_key: 'e' } }, '/'), /dec_set/);
    assert.throws(() => parseTlsTicketer({ source: { type: 'memcached', addr: '127.0.0.1' } }, '/'), /unsupported/);
    assert.throws(() => parseTlsTicketer([], '/'));
  });
});

describe('ticket key JSON', () => {
  it('reads g3\'s encrypt and decrypt keys; node gets the first 16 bytes of the AES key', () => {
    const enc = parseTicketKeyJson(JSON.stringify({ name: hex(16, 1), aes_key: hex(32, 2), hmac_key: hex(16, 3), lifetime: 3600 }), false);
    assert.equal(enc.key.lifetimeS, 3600);
    assert.equal(enc.key.aes.length, 16);
    assert.equal(enc.expireAt, undefined);
    const dec = parseTicketKeyJson(JSON.stringify({ name: hex(16, 4), aes: hex(32, 5), hmac: hex(16, 6), lifetime: 9, expire: '2030-12-31T23:59:59Z' }), true);
    assert.equal(dec.expireAt, Date.parse('2030-12-31T23:59:59Z'));
  });

  it('refuses wrong lengths, missing parts, a decrypt key without expire, unknown keys', () => {
    const ok = { name: hex(16, 1), aes: hex(32, 2), hmac: hex(16, 3) };
    assert.throws(() => parseTicketKeyJson(JSON.stringify({ ...ok, name: hex(15, 1) }), false), /name/);
    assert.throws(() => parseTicketKeyJson(JSON.stringify({ ...ok, aes: hex(16, 1) }), false), /aes/);
    assert.throws(() => parseTicketKeyJson(JSON.stringify({ name: ok.name, aes: ok.aes }), false), /needs/);
    assert.throws(() => parseTicketKeyJson(JSON.stringify(ok), true), /expire/);
    assert.throws(() => parseTicketKeyJson(JSON.stringify({ ...ok, extra: 1 }), false), /invalid key/);
  });
});

describe('RollingTicketer with a node TLS server', () => {
  let dir: string;
  let key: string;
  let cert: string;
  let server: Server;
  let port: number;
  const ticketer = new RollingTicketer(parseTlsTicketer({ check_interval: '1h', local_lifetime: 3600 }, '/'), () => {});

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ticketer-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'k.pem'),
      '-out', join(dir, 'c.pem'), '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' });
    key = readFileSync(join(dir, 'k.pem'), 'utf8');
    cert = readFileSync(join(dir, 'c.pem'), 'utf8');
    const ctx = createSecureContext({ key, cert });
    ticketer.attach(ctx);
    server = createServer({ SNICallback: (_n, cb) => cb(null, ctx), key, cert }, (s) => s.end('hi'));
    // the listening server's own context must hand out the same tickets: give it the ticketer too
    ticketer.attach((server as unknown as { _sharedCreds: ReturnType<typeof createSecureContext> })._sharedCreds);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  });
  after(() => {
    server?.close();
    ticketer.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const session = (s?: Buffer, maxVersion: 'TLSv1.2' | 'TLSv1.3' = 'TLSv1.3') => new Promise<{ reused: boolean; session: Buffer | undefined }>((resolve, reject) => {
    let got: Buffer | undefined;
    const t = connect({ port, host: '127.0.0.1', servername: 'localhost', ca: cert, session: s, maxVersion });
    const timer = setTimeout(() => t.destroy(new Error('timeout')), 5000);
    t.on('session', (x: Buffer) => (got = x));
    t.on('data', () => {});
    t.on('error', reject);
    t.on('end', () => {
      clearTimeout(timer);
      resolve({ reused: t.isSessionReused(), session: got });
    });
  });

  for (const v of ['TLSv1.2', 'TLSv1.3'] as const) {
    it(`${v}: resumes; after a roll the old key still opens tickets; once expired it does not`, async () => {
      const first = await session(undefined, v);
      assert.equal(first.reused, false);
      assert.ok(first.session);
      assert.equal((await session(first.session, v)).reused, true);
      const oldName = ticketer.encryptKey.name.toString('hex');
      ticketer.setEncryptKey(randomTicketKey(1));
      assert.ok(ticketer.decryptKeyNames().includes(oldName), 'the replaced key still decrypts');
      assert.equal((await session(first.session, v)).reused, true, 'a ticket of the replaced key is accepted');
      // the replaced key expires its lifetime (3600 s) after it stopped encrypting: move past it
      const fresh = await session(undefined, v);
      ticketer.setEncryptKey(randomTicketKey(1));
      const realNow = Date.now;
      Date.now = () => realNow() + 3601_000;
      try {
        await ticketer.check();
        assert.ok(!ticketer.decryptKeyNames().includes(oldName), 'the old key is gone');
        assert.equal((await session(first.session, v)).reused, false, 'an expired key opens nothing');
      } finally {
        Date.now = realNow;
      }
      assert.ok(fresh.session);
    });
  }
});

describe('RollingTicketer without node\'s ticket callback', () => {
  it('installs the current encrypt key with setTicketKeys and again after each roll', () => {
    const t = new RollingTicketer(parseTlsTicketer({}, '/'), () => {});
    const installed: Buffer[] = [];
    const fake = { context: { setTicketKeys: (k: Buffer) => installed.push(k) } };
    t.attach(fake as never);
    assert.equal(installed.length, 1);
    assert.equal(installed[0]!.length, 48);
    assert.deepEqual(installed[0]!.subarray(0, 16), t.encryptKey.name);
    const next = randomTicketKey(60);
    t.setEncryptKey(next);
    assert.equal(installed.length, 2);
    assert.deepEqual(installed[1], Buffer.concat([next.name, next.hmac, next.aes]));
    t.close();
  });
});

describe('reconcileTicketer', () => {
  it('keeps the running ticketer (and its keys) for an unchanged config, replaces it otherwise', () => {
    const a = parseTlsTicketer({ check_interval: '1h' }, '/');
    const t1 = reconcileTicketer(null, a, () => {});
    assert.ok(t1);
    const t2 = reconcileTicketer(t1, parseTlsTicketer({ check_interval: '1h' }, '/'), () => {});
    assert.equal(t2, t1);
    const t3 = reconcileTicketer(t2, parseTlsTicketer({ check_interval: '2h' }, '/'), () => {});
    assert.notEqual(t3, t1);
    assert.notDeepEqual(t3!.encryptKey.name, t1!.encryptKey.name);
    assert.equal(reconcileTicketer(t3, undefined, () => {}), null);
  });
});
