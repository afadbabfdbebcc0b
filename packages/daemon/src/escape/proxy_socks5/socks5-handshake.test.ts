import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { SluiceError } from '@sluice/common';
import { CMD_CONNECT } from '@sluice/protocol';
import { socks5Command, socks5Greet } from './socks5-handshake.js';

/** A loopback peer that answers each client message with the next scripted reply and records what it got. */
async function scriptedPeer(replies: Buffer[], run: (s: Socket) => Promise<void>): Promise<Buffer[]> {
  const got: Buffer[] = [];
  const srv = createServer((c) => {
    c.on('data', (d) => {
      got.push(d);
      const r = replies.shift();
      if (r) c.write(r);
    });
    c.on('error', () => {});
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const s = connect((srv.address() as { port: number }).port, '127.0.0.1');
  await once(s, 'connect');
  try {
    await run(s);
  } finally {
    s.destroy();
    srv.close();
  }
  return got;
}

const code = (c: string) => (e: unknown) => e instanceof SluiceError && e.code === c;

describe('SOCKS5 handshake with a next proxy', () => {
  it('authenticates and connects, returning the bound address', async () => {
    const got = await scriptedPeer([Buffer.from([5, 2]), Buffer.from([1, 0]), Buffer.from([5, 0, 0, 1, 10, 0, 0, 1, 0x1f, 0x90])], async (s) => {
      await socks5Greet(s, { username: 'u', password: 'p' });
      const bound = await socks5Command(s, CMD_CONNECT, 'example.com', 443);
      assert.deepEqual(bound, { host: '10.0.0.1', port: 8080, ipFamily: 4 });
    });
    assert.deepEqual(got[0], Buffer.from([5, 2, 0, 2]));
    assert.deepEqual(got[1], Buffer.from([1, 1, 0x75, 1, 0x70]));
    assert.deepEqual(got[2], Buffer.from([5, 1, 0, 3, 11, ...Buffer.from('example.com'), 1, 0xbb]));
  });
  it('a refusal is UPSTREAM_NOT_NEGOTIATED with the RFC wording', async () => {
    await scriptedPeer([Buffer.from([5, 0]), Buffer.from([5, 5, 0, 1, 0, 0, 0, 0, 0, 0])], async (s) => {
      await socks5Greet(s, undefined);
      await assert.rejects(socks5Command(s, CMD_CONNECT, '192.0.2.1', 80),
        (e: unknown) => code('UPSTREAM_NOT_NEGOTIATED')(e) && /connection refused/.test((e as Error).message));
    });
    await scriptedPeer([Buffer.from([5, 0xff])], async (s) => {
      await assert.rejects(socks5Greet(s, undefined), code('UPSTREAM_NOT_NEGOTIATED'));
    });
  });
  it('a malformed reply is UPSTREAM_PROTOCOL_INVALID', async () => {
    await scriptedPeer([Buffer.from([4, 0])], async (s) => {
      await assert.rejects(socks5Greet(s, undefined), code('UPSTREAM_PROTOCOL_INVALID'));
    });
    await scriptedPeer([Buffer.from([5, 0]), Buffer.from([5, 0, 0, 9, 0, 0])], async (s) => {
      await socks5Greet(s, undefined);
      await assert.rejects(socks5Command(s, CMD_CONNECT, '192.0.2.1', 80), code('UPSTREAM_PROTOCOL_INVALID'));
    });
  });
});
