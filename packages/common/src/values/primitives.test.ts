import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValueError, within } from './errors.js';
import { asBool, asF64, asString, asU16, asU8, forEachKey, isMap, parseList } from './primitives.js';
import { assertValueError } from './test-helpers.js';

describe('primitives', () => {
  it('reads booleans the way g3proxy does', () => {
    for (const t of [true, 'on', 'TRUE', 'yes', '1', 1, 5]) assert.equal(asBool(t), true, String(t));
    for (const f of [false, 'off', 'False', 'no', '0', 0]) assert.equal(asBool(f), false, String(f));
    assertValueError(() => asBool('maybe'), /expected a boolean/);
  });
  it('reads unsigned integers from numbers and digit strings', () => {
    assert.equal(asU16(8080), 8080);
    assert.equal(asU16('8080'), 8080);
    assertValueError(() => asU8(256), /256 is out of range for a u8/);
    assertValueError(() => asU16(-1), /negative/);
    assertValueError(() => asU16(1.5), /not an integer/);
    assertValueError(() => asU16('0x10'), /expected a u16/);
  });
  it('reads floats and strings', () => {
    assert.equal(asF64('2.5'), 2.5);
    assert.equal(asF64(3), 3);
    assertValueError(() => asF64('abc'), /expected a number/);
    assert.equal(asString(12), '12');
    assertValueError(() => asString(null), /expected a string/);
  });
  it('parses single items and sequences as lists, with element paths', () => {
    assert.deepEqual(parseList('a', asString), ['a']);
    assert.deepEqual(parseList(['a', 1], asString), ['a', '1']);
    assertValueError(() => parseList(['a', null], asString), /expected a string/, ['1']);
    assert.ok(Object.isFrozen(parseList(['a'], asString)));
  });
  it('rejects unknown keys and prefixes handler errors with the key', () => {
    const seen: string[] = [];
    forEachKey({ a: 1, b: 2 }, 'thing', { a: () => seen.push('a'), b: () => seen.push('b') });
    assert.deepEqual(seen, ['a', 'b']);
    assertValueError(() => forEachKey({ c: 1 }, 'thing', { a: () => {} }), /unknown key 'c' in thing \(known keys: a\)/, ['c']);
    assertValueError(() => forEachKey({ constructor: 1 }, 'thing', { a: () => {} }), /unknown key 'constructor'/, ['constructor']);
    assertValueError(() => forEachKey({ a: 1 }, 'thing', { a: () => asU8(300) }), /out of range/, ['a']);
    // keys are matched the g3 way; paths keep the key as written
    forEachKey({ 'Idle-Time': 1 }, 'thing', { idle_time: () => seen.push('idle') });
    assert.deepEqual(seen, ['a', 'b', 'idle']);
    assertValueError(() => forEachKey({ 'Idle-Time': 1 }, 'thing', { idle_time: () => asU8(300) }), /out of range/, ['Idle-Time']);
    assert.equal(isMap({}), true);
    assert.equal(isMap(Object.create(null)), true);
    assert.equal(isMap([]), false);
    assert.equal(isMap(new Date()), false);
  });
  it('nests paths and keeps non-ValueErrors untouched', () => {
    assert.throws(() => within('x', () => within(2, () => { throw new ValueError('bad', ['y']); })), (e: unknown) => e instanceof ValueError && e.where === 'x.2.y');
    assert.throws(() => within('x', () => { throw new TypeError('bug'); }), TypeError);
  });
});
