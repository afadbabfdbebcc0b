/**
 * own-read-buffer on real sockets: this Node has the slots (a Node upgrade that loses them fails here rather
 * than silently falling back), reads land in the given buffer, returning false pauses until resume(), the
 * next-buffer hook and replaceOwnBuffer move later reads elsewhere, and EOF still ends the stream.
 */
import { createServer, connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ownReadBufferSupported, readIntoOwnBuffer, replaceOwnBuffer } from './own-read-buffer.js';

async function pair(): Promise<{ accepted: Socket; peer: Socket; close(): void }> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  const peer = connect(port, '127.0.0.1');
  const [accepted] = (await once(server, 'connection')) as [Socket];
  await once(peer, 'connect');
  return { accepted, peer, close: () => { peer.destroy(); accepted.destroy(); server.close(); } };
}

const until = async (cond: () => boolean): Promise<void> => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), 'condition not reached within 2s');
};

describe('own-read-buffer', () => {
  it('is available on this Node', () => {
    assert.equal(ownReadBufferSupported, true);
  });

  it('reads an accepted socket into the given buffers, pauses on false, and still ends', async () => {
    const { accepted, peer, close } = await pair();
    try {
      accepted.on('data', () => assert.fail('no data events once switched'));
      accepted.resume();
      const first = Buffer.alloc(8);
      const second = Buffer.alloc(8);
      const reads: Array<{ text: string; into: Buffer }> = [];
      let next: Buffer | null = null;
      let pauseAfter = false;
      assert.ok(readIntoOwnBuffer(accepted, first, (n, buf) => {
        reads.push({ text: buf.subarray(0, n).toString(), into: buf });
        return !pauseAfter;
      }, () => next));
      assert.equal(readIntoOwnBuffer(accepted, first, () => true, () => null), false, 'only once per socket');

      peer.write('hello');
      await until(() => reads.length === 1);
      assert.deepEqual(reads[0], { text: 'hello', into: first });

      // the next-buffer hook moves the read after this one
      next = second;
      pauseAfter = true;
      peer.write('abc');
      await until(() => reads.length === 2);
      assert.equal(reads[1]!.into, first);
      // paused: bytes wait in the kernel until resume()
      peer.write('xyz');
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(reads.length, 2);
      pauseAfter = false;
      accepted.resume();
      await until(() => reads.length === 3);
      assert.deepEqual(reads[2], { text: 'xyz', into: second });

      // between reads, a replacement buffer takes over
      const third = Buffer.alloc(4);
      next = null;
      assert.ok(replaceOwnBuffer(accepted, third));
      peer.write('0123456789');
      await until(() => reads.map((r) => r.text).join('').endsWith('0123456789'));
      assert.ok(reads.slice(3).every((r) => r.into === third && r.text.length <= 4));

      const ended = once(accepted, 'end');
      peer.end();
      await ended;
    } finally {
      close();
    }
  });

  it('leaves a socket with unread buffered data alone', async () => {
    const { accepted, peer, close } = await pair();
    try {
      accepted.pause();
      peer.write('waiting');
      await until(() => accepted.readableLength > 0 || (accepted.read(0), accepted.readableLength > 0));
      assert.equal(readIntoOwnBuffer(accepted, Buffer.alloc(8), () => true, () => null), false);
    } finally {
      close();
    }
  });
});
