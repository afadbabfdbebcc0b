import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { test } from 'node:test';
import { UntrustedDrain } from './untrusted-drain.js';

/** A stand-in for the client socket: only pause/resume are used. */
function fakeClient() {
  const s = { paused: false, destroyed: false, pause() { s.paused = true; }, resume() { s.paused = false; } };
  return s;
}

test('untrusted drain: reading pauses over the budget, and the end waits until what was read is paid for', async () => {
  // 100 bytes per 16 ms slice
  const d = new UntrustedDrain({ enabled: true, shiftMillis: 4, maxUpload: 100, maxDownload: 100 }, () => true);
  const c = fakeClient();
  d.consume(250, c as unknown as Socket);
  assert.ok(d.blocked && c.paused);
  const t0 = performance.now();
  // as the exchanges do: ask again when called back (a timer may fire a hair early), a bounded number of times
  let waits = 0;
  while (waits < 5 && await new Promise<boolean>((resolve) => {
    if (!d.paidFor(() => resolve(true))) waits++;
    else resolve(false);
  }));
  assert.ok(waits >= 1 && waits < 5, `waited ${waits} times`);
  assert.ok(performance.now() - t0 >= 15, 'the rest of this slice and the next had to pass');
  d.stop();
});

test('untrusted drain: a limit without an upload budget reads at full speed', () => {
  const d = new UntrustedDrain({ enabled: false, shiftMillis: 0, maxUpload: 0, maxDownload: 0 }, () => true);
  const c = fakeClient();
  d.consume(1 << 20, c as unknown as Socket);
  assert.equal(c.paused, false);
  assert.equal(d.paidFor(() => assert.fail('no wait')), true);
});
