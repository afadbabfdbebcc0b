import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePortRange, parsePorts } from './ports.js';
import { assertValueError } from './test-helpers.js';

describe('parsePorts', () => {
  it('reads numbers, ranges, comma lists and sequences of them', () => {
    const set = parsePorts([22, '80,443, 1000-2000', '8080-8081']);
    assert.equal(set.has(22), true);
    assert.equal(set.has(80), true);
    assert.equal(set.has(443), true);
    assert.equal(set.has(1000), true);
    assert.equal(set.has(1500), true);
    assert.equal(set.has(2000), true);
    assert.equal(set.has(2001), false);
    assert.equal(set.has(8081), true);
    assert.equal(set.has(21), false);
    assert.equal(set.has(-1), false);
    assert.equal(set.has(70000), false);
    assert.equal(set.size, 1 + 2 + 1001 + 2);
    assert.equal(set.toString(), '22,80,443,1000-2000,8080-8081');
    assert.equal(parsePorts(443).toString(), '443');
    assert.equal(parsePorts('1-3,2-5').toString(), '1-5');
    assert.deepEqual([...parsePorts('5,3,4')], [3, 4, 5]);
  });
  it('reports the offending element', () => {
    assertValueError(() => parsePorts([80, 'http']), /'http' is not a port number/, ['1', '0']);
    assertValueError(() => parsePorts('80,70000'), /port 70000 .* out of range/, ['1']);
    assertValueError(() => parsePorts('200-100'), /starts after it ends/, ['0']);
    assertValueError(() => parsePorts('1-2-3'), /too many '-'/, ['0']);
    assertValueError(() => parsePorts(65536), /out of range/);
    assertValueError(() => parsePorts({ a: 1 }), /got a map/);
  });
});

describe('parsePortRange', () => {
  it('reads a string or a map', () => {
    assert.deepEqual(parsePortRange('10000-20000'), { start: 10000, end: 20000 });
    assert.deepEqual(parsePortRange({ from: 5, to: 6 }), { start: 5, end: 6 });
    assert.deepEqual(parsePortRange({ start: '5', end: 60 }), { start: 5, end: 60 });
  });
  it('refuses empty or reversed ranges', () => {
    assertValueError(() => parsePortRange('0-10'), /must not start at 0/);
    assertValueError(() => parsePortRange('10-10'), /greater than its start/);
    assertValueError(() => parsePortRange('10'), /needs a '-'/);
    assertValueError(() => parsePortRange({ begin: 1 }), /unknown key 'begin'/, ['begin']);
  });
});
