import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, displayPath, formatConfigError } from './errors.js';

describe('ConfigError', () => {
  test('message: place, object, key path, reason', () => {
    const e = new ConfigError({
      file: join(process.cwd(), 'conf/escaper.d/direct.yaml'),
      line: 12,
      column: 5,
      objectKind: 'escaper',
      objectName: 'direct',
      objectType: 'direct_fixed',
      keyPath: '/egress_net_filter/allow/0',
      why: "invalid IP network 'x'",
    });
    assert.equal(e.message, "conf/escaper.d/direct.yaml:12:5: escaper 'direct' (direct_fixed): /egress_net_filter/allow/0: invalid IP network 'x'");
    assert.ok(e instanceof Error);
    assert.equal(e.name, 'ConfigError');
  });

  test('without a line or an object the message stays short', () => {
    assert.equal(new ConfigError({ file: '/etc/sluice', why: 'no main config file' }).message, '/etc/sluice: no main config file');
    assert.equal(new ConfigError({ file: '/m.yaml', line: 3, column: 1, keyPath: '/servr', why: "unknown key 'servr'" }).message, "/m.yaml:3:1: /servr: unknown key 'servr'");
  });

  test('paths outside the working directory stay absolute', () => {
    assert.equal(displayPath('/definitely/elsewhere/x.yaml'), '/definitely/elsewhere/x.yaml');
    assert.equal(displayPath(join(process.cwd(), 'a', 'b.yaml')), join('a', 'b.yaml'));
  });

  test('combine orders by position and formatConfigError prints the chain', () => {
    const a = new ConfigError({ file: '/c/b.yaml', line: 9, column: 1, why: 'late' });
    const b = new ConfigError({ file: '/c/b.yaml', line: 2, column: 3, why: 'early' });
    const c = new ConfigError({ file: '/c/a.yaml', line: 30, column: 1, why: 'other file' });
    const all = ConfigError.combine([a, b, c]);
    assert.equal(all.why, 'other file');
    assert.equal(all.message, '/c/a.yaml:30:1: other file (and 2 more errors)');
    assert.equal(formatConfigError(all), ['/c/a.yaml:30:1: other file', '  /c/b.yaml:2:3: early', '  /c/b.yaml:9:1: late'].join('\n'));
    assert.equal(ConfigError.combine([a]), a);
  });

  test('formatConfigError also prints plain errors and their causes', () => {
    const inner = new Error('disk on fire');
    assert.equal(formatConfigError(new Error('load failed', { cause: inner })), 'load failed\n  disk on fire');
    assert.equal(formatConfigError('text'), 'text');
  });
});
