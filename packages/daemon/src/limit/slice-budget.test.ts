import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { SliceBudget, sliceBudgets } from './slice-budget.js';

test('slice budget: an oversized chunk is paid for by the following slices', () => {
  // 100 bytes per 1024 ms slice
  const b = new SliceBudget(10, 100);
  assert.equal(b.take(50), 0);
  const wait = b.take(300);
  // 350 bytes: this slice (begun at the first byte) and two more must pass before the budget is back
  assert.ok(wait > 2900 && wait <= 3072, String(wait));
  const debt = b.debtMs();
  assert.ok(debt > 2000 && debt <= wait, `debtMs charges nothing: ${debt} vs ${wait}`);
  assert.ok(b.debtMs() <= debt);
});

test('slice budget: within the budget there is no wait; a new slice brings the budget back', async () => {
  // 16 ms slices
  const b = new SliceBudget(4, 100);
  assert.equal(b.take(99), 0);
  assert.equal(b.debtMs(), 0);
  const wait = b.take(1);
  assert.ok(wait >= 10 && wait <= 16, `the first slice is a whole one: ${wait}`);
  await sleep(wait + 2);
  assert.equal(b.debtMs(), 0);
  assert.equal(b.take(50), 0);
});

test('sliceBudgets: one per limited direction, none for a disabled limit', () => {
  assert.deepEqual(sliceBudgets(undefined), { up: null, down: null });
  assert.deepEqual(sliceBudgets({ enabled: false, shiftMillis: 0, maxUpload: 5, maxDownload: 5 }), { up: null, down: null });
  const both = sliceBudgets({ enabled: true, shiftMillis: 8, maxUpload: 10, maxDownload: 20 });
  assert.ok(both.up instanceof SliceBudget && both.down instanceof SliceBudget);
  const upOnly = sliceBudgets({ enabled: true, shiftMillis: 8, maxUpload: 10, maxDownload: 0 });
  assert.equal(upOnly.down, null);
});
