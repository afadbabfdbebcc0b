import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Runtime } from '../../runtime/runtime.js';
import type { ParseContext } from '../../runtime/object-def.js';
import { parseUserGroupConfig } from '../group-config.js';
import { FactsUserGroup } from './facts-group.js';

const ctx = { baseDir: '/tmp', fail: (_p: string[], why: string) => { throw new Error(why); } } as unknown as ParseContext;
const runtime = { plog: { warn() {}, info() {} } } as unknown as Runtime;

test('facts group: exact facts beat networks and parent domains', () => {
  const cfg = parseUserGroupConfig({
    name: 'f',
    type: 'facts',
    static_users: [
      { name: 'lan', token: null, match_by_facts: [{ net: '192.168.0.0/16' }, { 'child-domain': 'corp.example' }] },
      { name: 'printer', token: null, match_by_facts: ['ip:192.168.1.9', 'domain:www.corp.example'] },
    ],
  }, ctx, 'facts');
  const g = new FactsUserGroup(cfg, runtime);
  assert.equal(g.matchFacts('192.168.1.9', undefined)?.name, 'printer');
  assert.equal(g.matchFacts('192.168.7.7', undefined)?.name, 'lan');
  assert.equal(g.matchFacts('10.0.0.1', 'www.corp.example')?.name, 'printer');
  assert.equal(g.matchFacts('10.0.0.1', 'git.corp.example')?.name, 'lan');
  assert.equal(g.matchFacts('10.0.0.1', 'example.org'), undefined);
  g.destroy();
});
