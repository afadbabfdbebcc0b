import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SluiceError } from '@sluice/common';
import { AuthFailureStreak } from './auth-refusal.js';

const denied = (status: number, code: 'CLIENT_AUTH_REQUIRED' | 'CLIENT_USER_BLOCKED' | 'FORBIDDEN_BY_RULE') => ({ error: new SluiceError(code, 'x'), status, headers: '' });

test('a first credentials failure keeps the connection, the second in a row closes it', () => {
  const s = new AuthFailureStreak();
  assert.equal(s.refused(denied(407, 'CLIENT_AUTH_REQUIRED'), 407, false), 'keep');
  assert.equal(s.refused(denied(407, 'CLIENT_AUTH_REQUIRED'), 407, false), 'close');
});

test('a pass, or a refusal that is not about credentials, ends the streak', () => {
  const s = new AuthFailureStreak();
  s.refused(denied(407, 'CLIENT_AUTH_REQUIRED'), 407, false);
  s.passed();
  assert.equal(s.refused(denied(407, 'CLIENT_AUTH_REQUIRED'), 407, false), 'keep');
  assert.equal(s.refused(denied(403, 'FORBIDDEN_BY_RULE'), 407, false), 'keep');
  assert.equal(s.refused(denied(407, 'CLIENT_AUTH_REQUIRED'), 407, false), 'keep');
});

test('a blocked user closes; no_early_error_reply makes credential failures silent', () => {
  const s = new AuthFailureStreak();
  assert.equal(s.refused(denied(403, 'CLIENT_USER_BLOCKED'), 407, false), 'close');
  assert.equal(new AuthFailureStreak().refused(denied(401, 'CLIENT_AUTH_REQUIRED'), 401, true), 'silent');
  assert.equal(new AuthFailureStreak().refused(denied(403, 'FORBIDDEN_BY_RULE'), 401, true), 'keep');
});
