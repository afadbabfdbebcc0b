import { createServer, connect, type AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SpeedThrottle } from './throttle.js';

describe('SpeedThrottle', () => {
  it('pauses the source so the rate stays near the limit, without buffering', async () => {
    const total = 300 * 1024;
    const server = createServer((s) => {
      s.on('error', () => {});
      s.end(Buffer.alloc(total, 1));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const s = connect(port, '127.0.0.1');
    // 16 KiB per 128 ms slice = 128 KiB/s
    const t = new SpeedThrottle(16 * 1024, 128, () => true);
    let got = 0;
    let maxPausedReads = 0;
    const t0 = Date.now();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timeout at ${got}`)), 10_000);
      s.on('data', (d: Buffer) => {
        if (t.blocked) maxPausedReads++;
        got += d.length;
        t.consume(d.length, s);
      });
      s.on('end', () => { clearTimeout(timer); resolve(); });
    });
    const secs = (Date.now() - t0) / 1000;
    server.close();
    t.stop();
    assert.equal(got, total);
    assert.equal(maxPausedReads, 0, 'no data is delivered while paused');
    // (300 - 16 burst) KiB at 128 KiB/s ≈ 2.2 s
    assert.ok(secs > 1.7 && secs < 5, `took ${secs}s`);
  });
});
