import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDuration, parseSize, parseSizeU32 } from './humanize.js';
import { assertValueError } from './test-helpers.js';

describe('parseDuration', () => {
  it('reads the g3 examples', () => {
    assert.equal(parseDuration('200ms'), 200);
    assert.equal(parseDuration('1h 30m 71s'), (3600 + 30 * 60 + 71) * 1000);
    assert.equal(parseDuration('10h'), 36_000_000);
  });
  it('treats YAML numbers and digit strings as seconds', () => {
    assert.equal(parseDuration(30), 30_000);
    assert.equal(parseDuration(0.25), 250);
    assert.equal(parseDuration('10'), 10_000);
    assert.equal(parseDuration('0'), 0);
  });
  it('accepts every unit, spaces and concatenated segments', () => {
    assert.equal(parseDuration('1d'), 86_400_000);
    assert.equal(parseDuration('2m'), 120_000);
    assert.equal(parseDuration('1500us'), 1.5);
    assert.equal(parseDuration('2000000ns'), 2);
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration(' 1 h  5 s '), 3_605_000);
  });
  it('refuses decimals, unknown units, case changes and negatives with a reason', () => {
    assertValueError(() => parseDuration('1.5s'), /decimals are not allowed/);
    assertValueError(() => parseDuration('5min'), /unknown duration unit 'min' .*use ns, us, ms, s, m, h, d/);
    assertValueError(() => parseDuration('3sec'), /unknown duration unit 'sec'/);
    assertValueError(() => parseDuration('1S'), /unknown duration unit 'S'/);
    assertValueError(() => parseDuration('-1s'), /must not be negative/);
    assertValueError(() => parseDuration(-3), /must not be negative/);
    assertValueError(() => parseDuration('1h 30'), /'30' has no unit/);
    assertValueError(() => parseDuration('s'), /expected a number/);
    assertValueError(() => parseDuration(''), /must not be empty/);
    assertValueError(() => parseDuration(true), /got the boolean true/);
    assertValueError(() => parseDuration(Infinity), /finite/);
  });
});

describe('parseSize', () => {
  it('reads decimal and binary units case-insensitively', () => {
    assert.equal(parseSize('500K'), 500_000);
    assert.equal(parseSize('1KiB'), 1024);
    assert.equal(parseSize('1kb'), 1000);
    assert.equal(parseSize('16ki'), 16 * 1024);
    assert.equal(parseSize('2 MB'), 2_000_000);
    assert.equal(parseSize('1Mi'), 1 << 20);
    assert.equal(parseSize('3g'), 3e9);
    assert.equal(parseSize('1GiB'), 2 ** 30);
    assert.equal(parseSize('1t'), 1e12);
    assert.equal(parseSize('1ti'), 2 ** 40);
    assert.equal(parseSize('4p'), 4e15);
    assert.equal(parseSize('4pi'), 4 * 2 ** 50);
    assert.equal(parseSize('64b'), 64);
    assert.equal(parseSize('64'), 64);
    assert.equal(parseSize(4096), 4096);
  });
  it('refuses decimals, rates and values that do not fit', () => {
    assertValueError(() => parseSize('10M/s'), /unknown size unit 'M\/s'.*no '\/s' suffix/);
    assertValueError(() => parseSize('1.5M'), /not a whole number/);
    assertValueError(() => parseSize('1e'), /too large/);
    assertValueError(() => parseSize('1EiB'), /too large/);
    assertValueError(() => parseSize('8pi'), /too large/);
    assertValueError(() => parseSize('-1'), /must not be negative/);
    assertValueError(() => parseSize(-1), /must not be negative/);
    assertValueError(() => parseSize(1.5), /whole number/);
    assertValueError(() => parseSize('K'), /expected a number first/);
    assertValueError(() => parseSize('5 parsecs'), /unknown size unit 'parsecs'/);
    assertValueError(() => parseSize('5 constructor'), /unknown size unit/);
    assertValueError(() => parseSize([1]), /got a list/);
    assertValueError(() => parseSizeU32('4Gi'), /too large \(max 4294967295/);
    assert.equal(parseSizeU32('4095Mi'), 4095 * 2 ** 20);
  });
});
