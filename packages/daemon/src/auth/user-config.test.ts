import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ValueError } from '@sluice/common';
import { RateLimiter } from './limiter.js';
import { parseUserConfig, parseUserList } from './user-config.js';
import { User } from './user.js';

test('user keys: g3 aliases and normalised spellings', () => {
  const u = parseUserConfig({
    Name: 'a', token: null, 'Tcp-Conn-Limit': '1M', tcp_conn_limit_quota: '5/s', request_alive_max: 3,
    ingress_net_filter: ['10.0.0.0/8'], uri_log_max_chars: 10, log_limit_quota: 2,
  });
  assert.equal(u.name, 'a');
  assert.equal(u.tcpSockSpeedLimit?.maxDownload, 1_000_000);
  assert.equal(u.connectionRateLimit?.maxBurst, 5);
  assert.equal(u.requestMaxAlive, 3);
  assert.equal(u.ingressFilter?.check('10.1.1.1'), 'permit');
  assert.equal(u.ingressFilter?.check('127.0.0.1'), 'permit', 'ingress filters always allow loopback');
  assert.equal(u.ingressFilter?.check('192.0.2.1'), 'forbid');
  assert.equal(u.logUriMaxChars, 10);
  assert.equal(u.logRateLimit?.maxBurst, 2);
});

test('user errors carry the path of the bad key', () => {
  assert.throws(() => parseUserConfig({ name: 'a', bogus: 1 }), (e: ValueError) => e.path[0] === 'bogus' && /invalid key/.test(e.message));
  assert.throws(() => parseUserConfig({ name: 'a', expire: 'tomorrow' }), /RFC 3339/);
  assert.throws(() => parseUserConfig({ token: null }), /needs a name/);
  assert.throws(() => parseUserList([{ name: 'a' }, { name: 'a' }]), (e: ValueError) => e.path[0] === '1' && /duplicate/.test(e.message));
  assert.throws(() => parseUserConfig({ name: 'a', dst_port_filter: 'x' }), (e: ValueError) => e.path[0] === 'dst_port_filter');
});

test('anonymous users ignore their token; missing tokens never verify', () => {
  const anon = new User(parseUserConfig({ name: 'g', token: '$1$rnfSARNK$DJNIbbMpjjSmral92rE3k1' }, true), 'Anonymous', 'grp');
  assert.equal(anon.checkPassword(Buffer.from('whatever')), true);
  const locked = new User(parseUserConfig({ name: 'l' }), 'Static', 'grp');
  assert.equal(locked.checkPassword(Buffer.from('')), false);
});

test('crypt verifications are cached per password', () => {
  const u = new User(parseUserConfig({ name: 'c', token: '$1$rnfSARNK$DJNIbbMpjjSmral92rE3k1' }), 'Static', 'grp');
  const t0 = process.hrtime.bigint();
  assert.equal(u.checkPassword(Buffer.from('toor')), true);
  const first = process.hrtime.bigint() - t0;
  const t1 = process.hrtime.bigint();
  for (let i = 0; i < 100; i++) assert.equal(u.checkPassword(Buffer.from('toor')), true);
  const hundred = process.hrtime.bigint() - t1;
  assert.ok(hundred < first * 20n, `100 cached checks (${hundred}ns) should cost far less than 100 hashes (first: ${first}ns)`);
  assert.equal(u.checkPassword(Buffer.from('toot')), false, 'a wrong password is never cached as good');
});

test('expiry and explicit sites', () => {
  const u = new User(parseUserConfig({
    name: 'e', token: null, expire: '2020-01-01T00:00:00Z',
    explicit_sites: [{ id: 'ex', exact_match: ['a.example'], child_match: 'b.example' }, { id: 'net', subnet_match: '10.0.0.0/8' }],
  }), 'Static', 'g');
  assert.equal(u.isExpired(), true);
  assert.equal(u.isExpired(Date.parse('2019-12-31T23:59:59Z')), false);
  assert.equal(u.siteOf('a.example')?.id, 'ex');
  assert.equal(u.siteOf('x.b.example')?.id, 'ex');
  assert.equal(u.siteOf('b.example'), undefined);
  assert.equal(u.siteOf('10.2.3.4')?.id, 'net');
  assert.equal(u.siteOf('11.2.3.4'), undefined);
});

test('rate limiter: a burst of N, then refusals (counted, not timed)', () => {
  const l = new RateLimiter({ replenishIntervalMs: 60_000, tokensPerInterval: 1, maxBurst: 3 });
  const got = Array.from({ length: 6 }, () => l.tryTake());
  assert.deepEqual(got, [true, true, true, false, false, false]);
});
