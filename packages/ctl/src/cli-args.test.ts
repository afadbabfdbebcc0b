import { test } from 'node:test';
import assert from 'node:assert/strict';

import { runCli, resolveCommand } from './cli.js';
import { UsageError } from './errors.js';
import { parseGlobalArgs, resolveSocketPath } from './global-args.js';

test('global options in all their spellings, anywhere before --', () => {
  const { options, rest } = parseGlobalArgs(['-C/run/x', 'server', '--daemon-group=edge', 'http', '-p', '77', 'status']);
  assert.deepEqual(options, { help: false, controlDir: '/run/x', group: 'edge', pid: 77 });
  assert.deepEqual(rest, ['server', 'http', 'status']);
  assert.deepEqual(parseGlobalArgs(['-G', 'a', '--', '-p']).rest, ['-p']);
  assert.throws(() => parseGlobalArgs(['-G']), UsageError);
  assert.throws(() => parseGlobalArgs(['-p', '0']), /invalid daemon pid/);
});

test('socket path: --socket wins, else <dir>/<group>_<pid>.sock or <dir>/<group>.sock', () => {
  assert.equal(resolveSocketPath({ help: false, socket: '/s.sock', group: 'g' }), '/s.sock');
  assert.equal(resolveSocketPath({ help: false, controlDir: '/d', group: 'g', pid: 9 }), '/d/g_9.sock');
  assert.equal(resolveSocketPath({ help: false, controlDir: '/d', pid: 9 }), '/d/_9.sock');
  assert.equal(resolveSocketPath({ help: false, controlDir: '/d', group: '' }), '/d/_.sock');
  assert.throws(() => resolveSocketPath({ help: false, controlDir: '/d' }), UsageError);
});

test('command words map to table entries, with argument counts checked', async () => {
  assert.equal(resolveCommand(['server', 'http', 'status']).def.method, 'server_status');
  assert.equal(resolveCommand(['user-group', 'g', 'publish', 'f.json']).def.method, 'user_group_publish_user');
  const { def, input } = resolveCommand(['reload-server', 'http']);
  assert.deepEqual(await def.params(input), { kind: 'server', name: 'http' });
  assert.throws(() => resolveCommand(['reload-server']), /missing <name>/);
  assert.throws(() => resolveCommand(['version', 'extra']), /unexpected argument 'extra'/);
  assert.throws(() => resolveCommand(['server']), /server: missing <name>/);
  assert.throws(() => resolveCommand(['server', 'http', 'explode']), /unknown server subcommand 'explode'/);
  assert.throws(() => resolveCommand(['escaper', 'e', 'publish', '--bogus']), /Unknown option '--bogus'/);
  // `toString` must not resolve through Object.prototype
  assert.throws(() => resolveCommand(['toString']), /unknown command 'toString'/);
});

test('escaper publish needs exactly one of <json> and -f', async () => {
  const both = resolveCommand(['escaper', 'e', 'publish', '{}', '-f', 'x.json']);
  await assert.rejects(async () => both.def.params(both.input), /either <json> or -f <file>/);
  const neither = resolveCommand(['escaper', 'e', 'publish']);
  await assert.rejects(async () => neither.def.params(neither.input), /either <json> or -f <file>/);
});

test('no arguments prints help on stderr and exits 2', async () => {
  let out = '';
  let err = '';
  const code = await runCli([], { stdout: (t) => (out += t), stderr: (t) => (err += t) });
  assert.equal(code, 2);
  assert.equal(out, '');
  assert.match(err, /^usage: sluice-ctl/);
});
