import { test } from 'node:test';
import assert from 'node:assert/strict';

import { controlSocketPath, defaultCtlControlDir, defaultDaemonControlDir } from './paths.js';

test('socket names follow g3: <group>_<pid>.sock with a pid, <group>.sock without', () => {
  assert.equal(controlSocketPath('/tmp/sluice', 'edge', 1234), '/tmp/sluice/edge_1234.sock');
  assert.equal(controlSocketPath('/tmp/sluice', 'edge'), '/tmp/sluice/edge.sock');
  assert.equal(controlSocketPath('/run/sluice', '', 42), '/run/sluice/_42.sock');
  assert.equal(controlSocketPath('/run/sluice', ''), '/run/sluice/_.sock');
});

test('default control dirs', () => {
  assert.equal(defaultDaemonControlDir(), '/tmp/sluice');
  assert.ok(['/run/sluice', '/tmp/sluice'].includes(defaultCtlControlDir()));
});
