import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertValueError } from '../test-helpers.js';
import { ACL_ACTIONS, aclActionFromName, isForbidden, isLogged, parseAclAction, stricterAction } from './action.js';

describe('ACL actions', () => {
  it('reads every alias', () => {
    for (const n of ['forbid_log', 'deny_log', 'reject_log', 'Forbid-Log']) assert.equal(parseAclAction(n), 'forbid_log');
    for (const n of ['forbid', 'deny', 'reject', 'DENY']) assert.equal(parseAclAction(n), 'forbid');
    for (const n of ['permit_log', 'allow_log', 'accept_log']) assert.equal(parseAclAction(n), 'permit_log');
    for (const n of ['permit', 'allow', 'accept']) assert.equal(parseAclAction(n), 'permit');
    assert.equal(aclActionFromName('block'), undefined);
    assertValueError(() => parseAclAction('block'), /unknown ACL action 'block'/);
    assertValueError(() => parseAclAction(1), /must be a string/);
  });
  it('orders strict to loose and classifies', () => {
    assert.deepEqual(ACL_ACTIONS, ['forbid_log', 'forbid', 'permit_log', 'permit']);
    assert.equal(stricterAction('permit', 'forbid'), 'forbid');
    assert.equal(stricterAction('forbid', 'forbid_log'), 'forbid_log');
    assert.equal(stricterAction('permit', 'permit_log'), 'permit_log');
    assert.deepEqual(ACL_ACTIONS.map(isForbidden), [true, true, false, false]);
    assert.deepEqual(ACL_ACTIONS.map(isLogged), [true, false, true, false]);
  });
});
