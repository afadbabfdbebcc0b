import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SluiceError } from '../errors.js';
import { assertValueError } from './test-helpers.js';
import { parseUsernameParams } from './username-params.js';

describe('parseUsernameParams', () => {
  it('reads keys with aliases and defaults', () => {
    const p = parseUsernameParams({ keys: ['a', 'b', 'c'], floating: 'c', suffix: 'svc.local', socks_port: 20001, auth_strip_suffix: false });
    assert.deepEqual(p.keysForHost, ['a', 'b', 'c']);
    assert.deepEqual(p.floatingKeys, ['c']);
    assert.equal(p.domainSuffix, '.svc.local');
    assert.equal(p.httpPort, 10000);
    assert.equal(p.socks5Port, 20001);
    assert.equal(p.requireHierarchy, true);
    assert.equal(p.separator, '-');
    assert.equal(p.stripSuffixForAuth, false);
    assert.equal(parseUsernameParams({}).socks5Port, 10001);
  });
  it('turns params into the next-hop address', () => {
    const p = parseUsernameParams({ keys_for_host: ['label1', 'label2'], domain_suffix: 'example.net', resolve_sticky_key: 'label3', http_port: 8080, socks5_port: 1080 });
    assert.equal(p.realUsername('test+label1=foo+label2=bar'), 'test');
    assert.deepEqual(p.egressUpstream('test+label1=foo+label2=bar', 'http'), {
      addr: { host: 'foo-bar.example.net', port: 8080, ipFamily: 0 },
      resolveStickyKey: '',
    });
    assert.deepEqual(p.egressUpstream('test+label1=foo+label2=bar+label3=data', 'socks5'), {
      addr: { host: 'foo-bar.example.net', port: 1080, ipFamily: 0 },
      resolveStickyKey: 'data',
    });
    assert.equal(p.egressUpstream('test', 'http'), null);
    assert.equal(p.egressUpstream('test+', 'http'), null);
  });
  it('enforces hierarchy, unknown and duplicate keys', () => {
    const p = parseUsernameParams({ keys_for_host: ['label1', 'label2', 'opt'], floating_keys: ['opt'] });
    assert.equal(p.egressUpstream('u+opt=o1', 'http')!.addr.host, 'o1');
    assert.equal(p.egressUpstream('u+label1=a+opt=o1', 'http')!.addr.host, 'a-o1');
    const invalid = (fn: () => unknown, re: RegExp) =>
      assert.throws(fn, (e: unknown) => e instanceof SluiceError && e.code === 'CLIENT_PROTOCOL_INVALID' && re.test(e.message));
    invalid(() => p.egressUpstream('u+label2=b+opt=o1', 'http'), /needs the keys before it/);
    invalid(() => p.egressUpstream('u+label1=a+label1=b', 'http'), /duplicate key/);
    invalid(() => p.egressUpstream('u+label9=a', 'http'), /unknown username param/);
    invalid(() => p.egressUpstream('u+label1', 'http'), /no '='/);
    invalid(() => p.egressUpstream('u++label1=a', 'http'), /no '='/);
    invalid(() => p.egressUpstream('u+label1=a b', 'http'), /invalid host/);
    const loose = parseUsernameParams({ keys_for_host: ['l1', 'l2'], require_hierarchy: false, reject_unknown_keys: false, reject_duplicate_keys: false });
    assert.equal(loose.egressUpstream('u+l2=b', 'http')!.addr.host, 'b');
    assert.equal(loose.egressUpstream('u+l1=a+l2=b+l2=c', 'http')!.addr.host, 'a-c');
    assert.equal(loose.egressUpstream('u+zz=1', 'http'), null);
  });
  it('pins localhost names to 127.0.0.1', () => {
    const p = parseUsernameParams({ keys_for_host: ['l1'] });
    assert.deepEqual(p.egressUpstream('u+l1=LOCALHOST', 'http')!.addr, { host: '127.0.0.1', port: 10000, ipFamily: 4 });
    assert.deepEqual(p.egressUpstream('u+l1=a.localhost', 'socks5')!.addr, { host: '127.0.0.1', port: 10001, ipFamily: 4 });
  });
  it('checks its own config', () => {
    assertValueError(() => parseUsernameParams({ keys_for_host: ['a'], floating_keys: ['b'] }), /floating key 'b' must also be listed/, ['floating_keys', '0']);
    assertValueError(() => parseUsernameParams({ keys_for_host: ['a', ''] }), /empty key/, ['keys_for_host', '1']);
    assertValueError(() => parseUsernameParams({ port: 1 }), /unknown key 'port'/, ['port']);
    assertValueError(() => parseUsernameParams('a,b'), /must be a map/);
  });
});
