import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertValueError } from '../test-helpers.js';
import { parsePortAcl } from './port.js';

describe('parsePortAcl', () => {
  it('reads the documented example', () => {
    const acl = parsePortAcl({ default: 'allow', forbid: [22, '100-200'] });
    assert.equal(acl.check(22), 'forbid');
    assert.equal(acl.check(150), 'forbid');
    assert.equal(acl.check(201), 'permit');
    assert.equal(acl.check(443), 'permit');
  });
  it('permits listed ports and forbids the rest for a bare list', () => {
    const acl = parsePortAcl([80, '443', '8000-8080']);
    assert.equal(acl.missedAction, 'forbid');
    assert.equal(acl.check(80), 'permit');
    assert.equal(acl.check(8042), 'permit');
    assert.equal(acl.check(22), 'forbid');
    assert.equal(acl.lookup(22), undefined);
    assert.equal(parsePortAcl({ permit_log: '1-1024', forbid_log: 25 }).check(25), 'forbid_log');
    assert.equal(parsePortAcl({ permit_log: '1-1024', forbid_log: 25 }).check(26), 'permit_log');
  });
  it('reports bad ports with their path', () => {
    assertValueError(() => parsePortAcl({ forbid: [22, 'ssh'] }), /'ssh' is not a port number/, ['forbid', '1', '0']);
    assertValueError(() => parsePortAcl({ forbid: 70000 }), /out of range/, ['forbid']);
  });
});
