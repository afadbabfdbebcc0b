import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Picker, hash32 } from './index.js';

const nodes = (ws: number[]) => ws.map((w, i) => ({ item: `n${i}`, weight: w }));
const count = (p: Picker<string>, n: number, key: (i: number) => string = () => '') => {
  const m = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const x = p.pick(key(i));
    m.set(x, (m.get(x) ?? 0) + 1);
  }
  return m;
};

describe('Picker', () => {
  it('round_robin gives exact weighted shares, interleaved', () => {
    const p = new Picker(nodes([3, 1]), 'round_robin');
    const seq = Array.from({ length: 8 }, () => p.pick());
    assert.equal(seq.filter((x) => x === 'n0').length, 6);
    assert.equal(seq.filter((x) => x === 'n1').length, 2);
    // smooth: n1 never comes twice in a row
    for (let i = 1; i < seq.length; i++) assert.ok(!(seq[i] === 'n1' && seq[i - 1] === 'n1'));
  });

  it('serial walks the list in order', () => {
    const p = new Picker(nodes([1, 5, 1]), 'serial');
    const a = [p.pick(), p.pick(), p.pick(), p.pick()];
    const i0 = Number(a[0]!.slice(1));
    assert.deepEqual(a, [0, 1, 2, 3].map((k) => `n${(i0 + k) % 3}`));
  });

  it('random follows weights', () => {
    const m = count(new Picker(nodes([9, 1]), 'random'), 5000);
    const share = (m.get('n0') ?? 0) / 5000;
    assert.ok(share > 0.85 && share < 0.95, `share ${share}`);
  });

  for (const policy of ['ketama', 'rendezvous', 'jump_hash'] as const) {
    it(`${policy} is stable per key, spreads keys, and moves few keys when a node is added`, () => {
      const p3 = new Picker(nodes([1, 1, 1]), policy);
      const p4 = new Picker(nodes([1, 1, 1, 1]), policy);
      for (let i = 0; i < 50; i++) assert.equal(p3.pick(`k${i}`), p3.pick(`k${i}`));
      const m = count(p3, 3000, (i) => `key-${i}`);
      for (const n of ['n0', 'n1', 'n2']) assert.ok((m.get(n) ?? 0) > 600, `${policy} ${n}: ${m.get(n)}`);
      let moved = 0;
      for (let i = 0; i < 3000; i++) {
        const a = p3.pick(`key-${i}`);
        const b = p4.pick(`key-${i}`);
        if (a !== b) {
          moved++;
          // a moved key only ever goes to the new node
          assert.equal(b, 'n3');
        }
      }
      assert.ok(moved > 400 && moved < 1200, `${policy} moved ${moved}`);
    });
  }

  it('weights shift hashing policies too', () => {
    for (const policy of ['ketama', 'rendezvous', 'jump_hash'] as const) {
      const m = count(new Picker(nodes([4, 1]), policy), 4000, (i) => `w${i}`);
      const share = (m.get('n0') ?? 0) / 4000;
      assert.ok(share > 0.7 && share < 0.9, `${policy} share ${share}`);
    }
  });

  it('zero weights are skipped unless all are zero', () => {
    assert.equal(new Picker(nodes([0, 1]), 'random').pick(), 'n1');
    assert.ok(['n0', 'n1'].includes(new Picker(nodes([0, 0]), 'random').pick()));
  });

  it('hash32 is deterministic', () => {
    assert.equal(hash32('abc'), hash32('abc'));
    assert.notEqual(hash32('abc'), hash32('abd'));
  });
});
