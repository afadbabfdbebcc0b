import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { createPrivateKey } from 'node:crypto';
import { decode, encode } from '@msgpack/msgpack';
import { SluiceError } from '@sluice/common';
import { makePki, removePki, type TestPki } from '@sluice/testkit';
import { CertAgent } from './cert-agent.js';
import type { CertAgentConfig } from './config.js';

/** A scripted cert generator: records requests, answers per `reply` (undefined = stay silent). */
async function startPeer(reply: (req: Record<string, unknown>, n: number) => Record<string, unknown> | undefined) {
  const sock: Socket = createSocket('udp4');
  const requests: Record<string, unknown>[] = [];
  sock.on('message', (msg, rinfo) => {
    const req = decode(msg) as Record<string, unknown>;
    requests.push(req);
    const rsp = reply(req, requests.length);
    if (rsp) sock.send(encode(rsp), rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  return { port: sock.address().port, requests, close: () => new Promise<void>((r) => sock.close(() => r())) };
}

const config = (port: number, over: Partial<CertAgentConfig> = {}): CertAgentConfig => ({
  peerHost: '127.0.0.1', peerPort: port, queryWaitTimeoutMs: 1500, cacheRequestTimeoutMs: 4000,
  protectiveCacheTtl: 10, maximumCacheTtl: 300, cacheVanishWaitMs: 300_000, cacheRequestBatchCount: 10, ...over,
});

describe('CertAgent (tls_cert_agent client)', () => {
  let pki: TestPki;
  before(() => {
    pki = makePki(['a.test']);
  });
  after(() => removePki(pki));

  it('sends g3proxy\'s id-keyed request, shares one query between concurrent fetches, caches the answer', async () => {
    const peer = await startPeer((req) => ({ host: req['1'], service: req['2'], usage: req['4'], cert: pki.cert, key: pki.key, ttl: 60 }));
    const agent = new CertAgent(config(peer.port));
    try {
      const upstream = Buffer.from('fake der');
      const [a, b, c] = await Promise.all([agent.fetch('a.test', upstream), agent.fetch('a.test'), agent.fetch('a.test')]);
      assert.equal(a, b);
      assert.equal(b, c);
      assert.equal(peer.requests.length, 1, 'concurrent fetches of one host must share a query');
      const req = peer.requests[0]!;
      assert.equal(req['1'], 'a.test');
      assert.equal(req['2'], 0);
      assert.equal(req['4'], 0);
      assert.deepEqual(Buffer.from(req['3'] as Uint8Array), upstream);
      assert.equal(agent.cached('a.test'), a);
      assert.equal(await agent.fetch('a.test'), a);
      assert.equal(peer.requests.length, 1, 'a cached host must not be queried again');
    } finally {
      agent.close();
      await peer.close();
    }
  });

  it('resends an unanswered query within query_wait_timeout and takes a DER key with id-keyed response', async () => {
    const der = createPrivateKey(pki.key).export({ type: 'pkcs8', format: 'der' });
    // the first datagram is "lost"; answers use response ids 1..6
    const peer = await startPeer((req, n) => (n < 2 ? undefined : { 1: req['1'], 3: pki.cert, 4: der, 5: 0 }));
    const agent = new CertAgent(config(peer.port, { queryWaitTimeoutMs: 900 }));
    try {
      const t0 = Date.now();
      const ctx = await agent.fetch('b.test');
      assert.ok(ctx);
      assert.ok(peer.requests.length >= 2);
      assert.ok(Date.now() - t0 < 900);
    } finally {
      agent.close();
      await peer.close();
    }
  });

  it('caches ttl 0 for protective_cache_ttl and caps ttl at maximum_cache_ttl', async () => {
    const peer = await startPeer((req) => ({ host: req['1'], cert: pki.cert, key: pki.key, ttl: req['1'] === 'zero.test' ? 0 : 100_000 }));
    // protective 0s: a ttl-0 answer is not reusable; maximum 1s: a huge ttl expires after a second
    const agent = new CertAgent(config(peer.port, { protectiveCacheTtl: 0, maximumCacheTtl: 1 }));
    try {
      await agent.fetch('zero.test');
      assert.equal(agent.cached('zero.test'), undefined);
      await agent.fetch('big.test');
      assert.ok(agent.cached('big.test'));
      await new Promise((r) => setTimeout(r, 1100));
      assert.equal(agent.cached('big.test'), undefined, 'ttl not capped by maximum_cache_ttl');
    } finally {
      agent.close();
      await peer.close();
    }
  });

  it('times out with TLS_CERT_AGENT_TIMEOUT, and rejects an unusable answer with TLS_CERT_AGENT_INVALID', async () => {
    const peer = await startPeer((req) => (req['1'] === 'bad.test' ? { host: 'bad.test', cert: 'garbage', key: 'garbage' } : undefined));
    const agent = new CertAgent(config(peer.port, { queryWaitTimeoutMs: 300 }));
    try {
      const t0 = Date.now();
      await assert.rejects(agent.fetch('silent.test'), (e: unknown) => e instanceof SluiceError && e.code === 'TLS_CERT_AGENT_TIMEOUT');
      const took = Date.now() - t0;
      assert.ok(took >= 280 && took < 1000, `took ${took}ms`);
      assert.ok(peer.requests.length >= 2, 'the query was not resent');
      await assert.rejects(agent.fetch('bad.test'), (e: unknown) => e instanceof SluiceError && e.code === 'TLS_CERT_AGENT_INVALID');
    } finally {
      agent.close();
      await peer.close();
    }
  });
});
