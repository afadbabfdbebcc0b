import assert from 'node:assert/strict';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { SliceBudget } from './slice-budget.js';
import { ReadThrottle, throttleSocket } from './socket-throttle.js';

const TOTAL = 300 * 1024;
let server: Server;
let port = 0;

before(async () => {
  server = createServer((s) => {
    s.on('error', () => {});
    s.end(Buffer.alloc(TOTAL, 1));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
after(() => server.close());

/** Read the whole body from the server; resolves with the seconds it took. */
function readAll(s: Socket, onChunk: (d: Buffer) => void): Promise<{ secs: number; got: number }> {
  const t0 = Date.now();
  let got = 0;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timeout at ${got}`)), 10_000);
    s.on('data', (d: Buffer) => {
      got += d.length;
      onChunk(d);
    });
    s.on('end', () => {
      clearTimeout(timer);
      resolve({ secs: (Date.now() - t0) / 1000, got });
    });
  });
}

describe('socket speed limits', () => {
  it('ReadThrottle pauses the source so the rate stays near the limit, without buffering', async () => {
    const s = connect(port, '127.0.0.1');
    // 16 KiB per 128 ms slice = 128 KiB/s
    const t = new ReadThrottle(new SliceBudget(7, 16 * 1024), () => true);
    let readWhilePaused = 0;
    const { secs, got } = await readAll(s, (d) => {
      if (t.blocked) readWhilePaused++;
      t.consume(d.length, s);
    });
    t.stop();
    assert.equal(got, TOTAL);
    assert.equal(readWhilePaused, 0, 'no data is delivered while paused');
    // (300 - 16) KiB at 128 KiB/s ≈ 2.2 s, less up to one slice for the first one's phase
    assert.ok(secs > 1.7 && secs < 5, `took ${secs}s`);
  });

  it('throttleSocket limits reads beneath the reader, and a pause() by the reader wins over the throttle', async () => {
    const s = connect(port, '127.0.0.1');
    throttleSocket(s, new SliceBudget(7, 32 * 1024), null);
    let paused = false;
    const { secs, got } = await readAll(s, () => {
      if (paused) return;
      // the reader pauses for its own reasons once; the throttle must not resume it behind its back
      paused = true;
      s.pause();
      setTimeout(() => s.resume(), 300);
    });
    assert.equal(got, TOTAL);
    // (300 - 32) KiB at 256 KiB/s ≈ 1 s, plus the reader's own 300 ms
    assert.ok(secs > 0.9 && secs < 5, `took ${secs}s`);
  });

  it('throttleSocket reports write backpressure while the budget is used up, then drain', async () => {
    const sink = createServer((c) => c.resume());
    await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
    const s = connect((sink.address() as AddressInfo).port, '127.0.0.1');
    await new Promise<void>((r) => s.once('connect', () => r()));
    throttleSocket(s, null, new SliceBudget(4, 1000));
    assert.equal(s.write(Buffer.alloc(500)), true);
    assert.equal(s.write(Buffer.alloc(600)), false, 'over the slice budget: backpressure');
    const t0 = Date.now();
    await new Promise<void>((r) => s.once('drain', () => r()));
    assert.ok(Date.now() - t0 <= 200, 'drain comes when the next slice opens');
    s.destroy();
    sink.close();
  });
});
