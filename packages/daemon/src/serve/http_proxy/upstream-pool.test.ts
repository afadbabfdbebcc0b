import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { HttpForwardConnection } from '../../escape/types.js';
import { UpstreamPool } from './upstream-pool.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('UpstreamPool', () => {
  let server: Server;
  let port: number;
  const peers: Socket[] = [];
  before(async () => {
    server = createServer((s) => { peers.push(s); s.on('error', () => {}); });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    for (const p of peers) p.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });

  const conn = async (): Promise<HttpForwardConnection> => {
    const socket = connect(port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    return { socket, info: { tcpConnectTries: 1, tcpConnectSpendMs: 0, escaper: 'e' }, absoluteForm: false, extraHeaders: [], poolKey: 'k' };
  };

  it('gives back a kept connection for the same key only, most recent first', async () => {
    const pool = new UpstreamPool(4, 10_000);
    const a = await conn();
    const b = await conn();
    assert.ok(pool.put('k1', a));
    assert.ok(pool.put('k1', b));
    assert.equal(pool.take('k2'), null);
    assert.equal(pool.take('k1'), b);
    assert.equal(pool.take('k1'), a);
    assert.equal(pool.take('k1'), null);
    a.socket.destroy(); b.socket.destroy();
  });

  it('is bounded, drops connections the peer closes, and expires idle ones', async () => {
    const pool = new UpstreamPool(1, 300);
    const a = await conn();
    const b = await conn();
    assert.ok(pool.put('k', a));
    assert.equal(pool.put('k', b), false, 'full');
    b.socket.destroy();
    await sleep(50);
    peers.at(-2)!.end(); // the origin closes a's other end
    const deadline = Date.now() + 2000;
    while (pool.idleCount > 0 && Date.now() < deadline) await sleep(20);
    assert.equal(pool.idleCount, 0);
    assert.ok(a.socket.destroyed);
    const c = await conn();
    assert.ok(pool.put('k', c));
    await sleep(700);
    assert.equal(pool.idleCount, 0, 'expired');
    assert.ok(c.socket.destroyed);
    pool.clear();
  });
});
