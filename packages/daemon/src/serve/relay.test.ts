/**
 * The relay on real TCP socket pairs: a busy direction switches to a read buffer of its own (and only a busy
 * one, and not under a speed limit installed beneath the socket), every byte arrives in order, and the task
 * counts them.
 */
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { throttleSocket } from '../limit/socket-throttle.js';
import { TaskContext } from '../task/task.js';
import { ownReadBufferOf } from './own-read-buffer.js';
import { Relay } from './relay.js';

/** Two connected pairs: [outside client, relay's client side] and [relay's upstream side, outside origin]. */
async function pairs(): Promise<{ client: Socket; relayClient: Socket; relayUp: Socket; origin: Socket; close(): void }> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  const accept = async () => {
    const c = connect(port, '127.0.0.1');
    const [s] = (await once(server, 'connection')) as [Socket];
    await once(c, 'connect');
    return [c, s] as const;
  };
  const [client, relayClient] = await accept();
  const [relayUp, origin] = await accept();
  return { client, relayClient, relayUp, origin, close: () => { for (const s of [client, relayClient, relayUp, origin]) s.destroy(); server.close(); } };
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function collect(s: Socket, n: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let got = 0;
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`got ${got} of ${n} bytes`)), 10_000);
    s.on('data', (d: Buffer) => {
      parts.push(d);
      got += d.length;
      if (got >= n) {
        clearTimeout(t);
        resolve(Buffer.concat(parts));
      }
    });
  });
}

describe('Relay', () => {
  it('switches busy directions to their own read buffers and relays every byte both ways', async () => {
    const p = await pairs();
    try {
      const task = new TaskContext('TcpConnect', 's', 'HttpProxy', 'c', 's');
      new Relay(p.relayClient, p.relayUp, task, null, () => {}).start();
      // a small exchange first: not busy, no switch
      p.client.write('hello');
      assert.equal((await collect(p.origin, 5)).toString(), 'hello');
      p.origin.removeAllListeners('data');
      assert.equal(ownReadBufferOf(p.relayClient), null);
      const up = randomBytes(3 << 20);
      const down = randomBytes(3 << 20);
      const gotUp = collect(p.origin, up.length);
      const gotDown = collect(p.client, down.length);
      p.client.write(up);
      p.origin.write(down);
      assert.equal(sha(await gotUp), sha(up));
      assert.equal(sha(await gotDown), sha(down));
      assert.ok(ownReadBufferOf(p.relayClient), 'the client side reads into its own buffer');
      assert.ok(ownReadBufferOf(p.relayUp), 'the upstream side too');
      assert.equal(task.cRdBytes, up.length + 5);
      assert.equal(task.rRdBytes, down.length);
    } finally {
      p.close();
    }
  });

  it('keeps Node\'s reads on a socket with a speed limit beneath it', async () => {
    const p = await pairs();
    try {
      throttleSocket(p.relayClient, { take: () => 0 }, null); // limited, with a budget that never runs out
      new Relay(p.relayClient, p.relayUp, new TaskContext('TcpConnect', 's', 'HttpProxy', 'c', 's'), null, () => {}).start();
      const up = randomBytes(2 << 20);
      const got = collect(p.origin, up.length);
      p.client.write(up);
      assert.equal(sha(await got), sha(up));
      assert.equal(ownReadBufferOf(p.relayClient), null);
    } finally {
      p.close();
    }
  });
});
