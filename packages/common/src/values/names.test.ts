import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isValidObjectName, parseObjectName } from './names.js';
import { assertValueError } from './test-helpers.js';

describe('object names', () => {
  it('accepts metric-safe names and unicode letters', () => {
    for (const n of ['http', 'http-proxy_1', 'a.b/c', 'Server9', '代理', 'прокси', 'é']) assert.equal(isValidObjectName(n), true, n);
    assert.equal(parseObjectName('direct'), 'direct');
  });
  it('refuses empty names, spaces and punctuation', () => {
    for (const n of ['', 'a b', 'a:b', 'a@b', 'a,b', 'tab\t', '😀']) assert.equal(isValidObjectName(n), false, n);
    assertValueError(() => parseObjectName('my server'), /invalid character " " in name 'my server'/);
    assertValueError(() => parseObjectName(''), /must not be empty/);
    assertValueError(() => parseObjectName(5), /must be a string/);
  });
});
