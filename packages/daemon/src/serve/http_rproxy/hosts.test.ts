import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ValueError } from '@sluice/common';
import { parseHosts } from './hosts.js';

describe('http_rproxy hosts', () => {
  it('matches exact hosts and IPs, child domains (longest parent first) and the default', () => {
    const hm = parseHosts([
      { exact_match: ['www.example.net', 'EXAMPLE.net', '10.0.0.1'], upstream: '127.0.0.1:8001' },
      { child_match: 'example.org', upstream: '127.0.0.1' },
      { child_match: '.deep.example.org', upstream: '127.0.0.1:8003', tls_client: {}, tls_name: 'api.internal' },
      { set_default: true, upstream: '[::1]:8004' },
    ], '/');
    assert.equal(hm.get('www.example.net')!.upstream.port, 8001);
    assert.equal(hm.get('example.net')!.upstream.port, 8001);
    assert.equal(hm.get('10.0.0.1')!.upstream.port, 8001);
    assert.equal(hm.get('a.example.org')!.upstream.port, 80);
    const deep = hm.get('x.deep.example.org')!;
    assert.equal(deep.upstream.port, 8003);
    assert.equal(deep.tlsName, 'api.internal');
    assert.ok(deep.tlsClient);
    // the parent itself and look-alikes fall to the default
    assert.equal(hm.get('example.org')!.upstream.port, 8004);
    assert.equal(hm.get('badexample.org')!.upstream.port, 8004);
    assert.equal(hm.get('other.test')!.upstream.host, '::1');
  });

  it('takes a single map as the default site, tls_name defaulting to the upstream host', () => {
    const hm = parseHosts({ upstream: 'backend.internal:8080' }, '/');
    const s = hm.get('anything')!;
    assert.equal(s.upstream.host, 'backend.internal');
    assert.equal(s.tlsName, 'backend.internal');
    assert.equal(s.tlsClient, undefined);
  });

  it('refuses unknown keys, the doc-only services nesting, duplicates, two defaults and a missing upstream', () => {
    const bad = (v: unknown, re: RegExp) => assert.throws(() => parseHosts(v, '/'), (e: unknown) => e instanceof ValueError && re.test(e.message));
    bad([{ exact_match: 'a.test', upstream: 'x', color: 'red' }], /unknown key 'color'/);
    bad([{ exact_match: 'a.test', services: { upstream: 'x' } }], /directly in the host entry/);
    bad([{ exact_match: 'a.test', upstream: 'x' }, { exact_match: 'a.test', upstream: 'y' }], /matched by two entries/);
    bad([{ upstream: 'x' }, { set_default: true, upstream: 'y' }], /default host entry is already set/);
    bad([{ exact_match: 'a.test' }], /upstream is required/);
    bad([], /at least one host/);
  });
});
