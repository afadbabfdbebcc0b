import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ParseContext } from '../../runtime/object-def.js';
import { routeUpstreamSelect, routeUpstreamType, type RouteUpstreamConfig } from './index.js';

const ctx: ParseContext = { object: {} as ParseContext['object'], baseDir: '/', fail: (p, why) => { throw new Error(`${p.join('/')}: ${why}`); } };

describe('route_upstream rules', () => {
  const cfg = routeUpstreamType.parse({
    name: 'r', type: 'route_upstream', default_next: 'dflt',
    exact_match: [{ next: 'exact', hosts: ['www.example.com', '192.0.2.7'] }],
    subnet_match: { subnet: ['192.0.2.0/24'], wide: '10.0.0.0/8' },
    child_match: [{ next: 'child', domains: ['example.com'] }, { next: 'deeper', domains: 'a.example.com' }],
    suffix_match: [{ next: 'suffix', suffixes: ['-cdn.net'] }],
    regex_match: [{ next: 'regex', rules: [{ parent: 'example.org', regex: '^abc' }, 'foo[0-9]+\\.test$'] }],
  }, ctx) as RouteUpstreamConfig;
  const sel = (h: string, f: 0 | 4 | 6 = 0) => routeUpstreamSelect(cfg, h, f);

  it('exact beats everything', () => {
    assert.equal(sel('www.example.com'), 'exact');
    assert.equal(sel('192.0.2.7', 4), 'exact');
  });
  it('subnet longest prefix for IPs', () => {
    assert.equal(sel('192.0.2.8', 4), 'subnet');
    assert.equal(sel('10.1.2.3', 4), 'wide');
    assert.equal(sel('11.1.2.3', 4), 'dflt');
  });
  it('child match: most specific parent wins, the domain itself included', () => {
    assert.equal(sel('example.com'), 'child');
    assert.equal(sel('x.y.example.com'), 'child');
    assert.equal(sel('b.a.example.com'), 'deeper');
    assert.equal(sel('notexample.com'), 'dflt');
  });
  it('suffix and regex', () => {
    assert.equal(sel('img-cdn.net'), 'suffix');
    assert.equal(sel('abcdef.example.org'), 'regex');
    assert.equal(sel('xabc.example.org'), 'dflt');
    assert.equal(sel('foo12.test'), 'regex');
  });
  it('lists every next for the graph', () => {
    assert.deepEqual(routeUpstreamType.dependsOn!(cfg).escaper!.sort(), ['child', 'deeper', 'dflt', 'exact', 'regex', 'subnet', 'suffix', 'wide']);
  });
});
