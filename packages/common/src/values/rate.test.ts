import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRandomRatio, parseRateLimitQuota } from './rate.js';
import { assertValueError } from './test-helpers.js';

describe('parseRateLimitQuota', () => {
  it('spreads N per period into one token every period/N with burst N', () => {
    assert.deepEqual(parseRateLimitQuota(10), { replenishIntervalMs: 100, tokensPerInterval: 1, maxBurst: 10 });
    assert.deepEqual(parseRateLimitQuota('10'), { replenishIntervalMs: 100, tokensPerInterval: 1, maxBurst: 10 });
    assert.deepEqual(parseRateLimitQuota('10/s'), { replenishIntervalMs: 100, tokensPerInterval: 1, maxBurst: 10 });
    assert.deepEqual(parseRateLimitQuota('60/m'), { replenishIntervalMs: 1000, tokensPerInterval: 1, maxBurst: 60 });
    assert.deepEqual(parseRateLimitQuota('3600/h'), { replenishIntervalMs: 1000, tokensPerInterval: 1, maxBurst: 3600 });
    // whole nanoseconds, rounded down as in g3proxy
    assert.equal(parseRateLimitQuota('3/s').replenishIntervalMs, 333.333333);
    assert.ok(Object.isFrozen(parseRateLimitQuota(5)));
  });
  it('reads the map form; a later rate/replenish_interval key wins', () => {
    assert.deepEqual(parseRateLimitQuota({ rate: '100/s', max_burst: 500 }), {
      replenishIntervalMs: 10,
      tokensPerInterval: 1,
      maxBurst: 500,
    });
    assert.deepEqual(parseRateLimitQuota({ replenish_interval: '250ms' }), {
      replenishIntervalMs: 250,
      tokensPerInterval: 1,
      maxBurst: 1,
    });
    assert.equal(parseRateLimitQuota({ rate: 10, replenish_interval: '2s' }).replenishIntervalMs, 2000);
    assert.equal(parseRateLimitQuota({ replenish_interval: '2s', rate: 10 }).replenishIntervalMs, 100);
  });
  it('explains bad values', () => {
    assertValueError(() => parseRateLimitQuota(0), /positive integer, got 0/);
    assertValueError(() => parseRateLimitQuota('10/d'), /invalid rate unit '\/d'.*use \/s, \/m or \/h/);
    assertValueError(() => parseRateLimitQuota('ten/s'), /'ten' is not a positive integer/);
    assertValueError(() => parseRateLimitQuota('1.5'), /invalid rate '1.5'/);
    assertValueError(() => parseRateLimitQuota({ max_burst: 3 }), /needs either rate or replenish_interval/);
    assertValueError(() => parseRateLimitQuota({ rate: '1/s', burst: 3 }), /unknown key 'burst'/, ['burst']);
    assertValueError(() => parseRateLimitQuota({ rate: '1/x' }), /invalid rate unit/, ['rate']);
    assertValueError(() => parseRateLimitQuota({ replenish_interval: '1min' }), /unknown duration unit/, ['replenish_interval']);
    assertValueError(() => parseRateLimitQuota({ replenish_interval: 0 }), /greater than zero/, ['replenish_interval']);
    assertValueError(() => parseRateLimitQuota([1]), /got a list/);
  });
});

describe('parseRandomRatio', () => {
  it('reads floats, fractions, percentages, booleans and 0/1', () => {
    assert.equal(parseRandomRatio(0.25), 0.25);
    assert.equal(parseRandomRatio('1/4'), 0.25);
    assert.equal(parseRandomRatio(' 1 / 8 '), 0.125);
    assert.equal(parseRandomRatio('50%'), 0.5);
    assert.equal(parseRandomRatio('0.1'), 0.1);
    assert.equal(parseRandomRatio(true), 1);
    assert.equal(parseRandomRatio(false), 0);
    assert.equal(parseRandomRatio(0), 0);
    assert.equal(parseRandomRatio(1), 1);
  });
  it('refuses values outside 0..1', () => {
    assertValueError(() => parseRandomRatio(2), /integer ratio must be 0 or 1/);
    assertValueError(() => parseRandomRatio(1.5), /out of range/);
    assertValueError(() => parseRandomRatio('3/2'), /greater than 1/);
    assertValueError(() => parseRandomRatio('1/0'), /divides by zero/);
    assertValueError(() => parseRandomRatio('101%'), /more than 100%/);
    assertValueError(() => parseRandomRatio('-0.5'), /out of range/);
    assertValueError(() => parseRandomRatio('half'), /invalid ratio 'half'/);
    assertValueError(() => parseRandomRatio(null), /got an empty value/);
  });
});
