import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseResolveRedirection, parseResolveStrategy } from './resolve.js';
import { assertValueError } from './test-helpers.js';

describe('parseResolveStrategy', () => {
  it('reads a query string or a map, case-insensitively', () => {
    assert.deepEqual(parseResolveStrategy('ipv6only'), { query: 'Ipv6Only', pick: 'Random' });
    assert.deepEqual(parseResolveStrategy('Ipv4-First'), { query: 'Ipv4First', pick: 'Random' });
    assert.deepEqual(parseResolveStrategy({ query: 'IPV6FIRST', pick: 'first' }), { query: 'Ipv6First', pick: 'Serial' });
    assert.deepEqual(parseResolveStrategy({ pick: 'Serial' }), { query: 'Ipv4First', pick: 'Serial' });
    assert.deepEqual(parseResolveStrategy({}), { query: 'Ipv4First', pick: 'Random' });
  });
  it('names the choices on error', () => {
    assertValueError(() => parseResolveStrategy('ipv5'), /unknown resolve query strategy .*Ipv4Only/);
    assertValueError(() => parseResolveStrategy({ pick: 'last' }), /unknown resolve pick strategy/, ['pick']);
    assertValueError(() => parseResolveStrategy(4), /must be a string or a map/);
  });
});

describe('parseResolveRedirection', () => {
  it('reads the map form', () => {
    const r = parseResolveRedirection({ 'a.example.com': '10.0.0.1', 'b.example.com': ['10.0.0.2', '2001:db8::2', '::ffff:10.0.0.3'], 'c.example.com': 'D.example.net' });
    assert.deepEqual(r.lookup('a.example.com'), { kind: 'ips', ipv4: ['10.0.0.1'], ipv6: [] });
    assert.deepEqual(r.lookup('b.example.com'), { kind: 'ips', ipv4: ['10.0.0.2', '10.0.0.3'], ipv6: ['2001:db8::2'] });
    assert.deepEqual(r.lookup('c.example.com'), { kind: 'domain', domain: 'd.example.net' });
    assert.equal(r.lookup('x.example.com'), undefined);
  });
  it('reads the list form with exact and parent entries', () => {
    const r = parseResolveRedirection([
      { exact: 'svc.local', to: ['192.168.0.1'] },
      { parent: 'internal.example', to: 'internal.example.net' },
      { parent: 'deep.internal.example', to: 'other.example' },
    ]);
    assert.deepEqual(r.lookup('svc.local'), { kind: 'ips', ipv4: ['192.168.0.1'], ipv6: [] });
    assert.deepEqual(r.lookup('www.internal.example'), { kind: 'domain', domain: 'www.internal.example.net' });
    assert.deepEqual(r.lookup('internal.example'), { kind: 'domain', domain: 'internal.example.net' });
    assert.deepEqual(r.lookup('a.deep.internal.example'), { kind: 'domain', domain: 'a.other.example' });
    assert.equal(r.lookup('notinternal.example'), undefined);
    assert.equal(r.isEmpty, false);
  });
  it('reports errors with their path', () => {
    assertValueError(() => parseResolveRedirection([{ exact: 'a.com' }]), /needs a to/, ['0']);
    assertValueError(() => parseResolveRedirection([{ to: '1.1.1.1' }]), /needs an exact or a parent/, ['0']);
    assertValueError(() => parseResolveRedirection([{ parent: 'a.com', to: '1.1.1.1' }]), /is an IP address/, ['0', 'to']);
    assertValueError(() => parseResolveRedirection({ 'a.com': ['1.1.1.1', 'b.com'] }), /'b.com' is not a valid IP address/, ['a.com', '1']);
    assertValueError(() => parseResolveRedirection({ 'bad host': '1.1.1.1' }), /not a valid domain/, ['bad host']);
    assertValueError(() => parseResolveRedirection('a.com'), /must be a map or a list/);
  });
});
