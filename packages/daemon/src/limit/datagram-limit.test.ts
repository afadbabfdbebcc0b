import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseGlobalDatagramLimit } from '@sluice/common';
import { DatagramBucket } from './datagram-limit.js';

test('global datagram speed limit: size form, map form, errors', () => {
  assert.deepEqual({ ...parseGlobalDatagramLimit('1k') }, { replenishIntervalMs: 1000, replenishBytes: 1000, replenishPackets: 0, maxBurstBytes: 1000, maxBurstPackets: 0 });
  const m = parseGlobalDatagramLimit({ replenish_interval: '10s', replenish_packets: 5, 'Max-Burst-Packets': 8 });
  assert.equal(m.replenishIntervalMs, 10_000);
  assert.equal(m.replenishBytes, 0);
  assert.equal(m.maxBurstPackets, 8);
  assert.throws(() => parseGlobalDatagramLimit({ replenish_interval: '1s' }), /replenish_bytes or replenish_packets/);
  assert.throws(() => parseGlobalDatagramLimit({ replenish_bytes: 1, bogus: 1 }), /invalid key 'bogus'/);
  assert.throws(() => parseGlobalDatagramLimit(0), /must not be 0/);
});

test('datagram bucket: packets and bytes are both budgets; over budget is refused, not charged', () => {
  const p = new DatagramBucket(parseGlobalDatagramLimit({ replenish_interval: '1h', replenish_packets: 2 }));
  assert.equal(p.allow(60_000), true, 'bytes are not limited');
  assert.equal(p.allow(1), true);
  assert.equal(p.allow(1), false);
  const b = new DatagramBucket(parseGlobalDatagramLimit({ replenish_interval: '1h', replenish_bytes: 100 }));
  assert.equal(b.allow(60), true);
  assert.equal(b.allow(60), false);
  assert.equal(b.allow(40), true, 'a refused datagram did not use the budget');
});
