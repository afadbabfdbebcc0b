import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseIpv4 } from '../ip.js';
import { assertValueError } from '../test-helpers.js';
import { defaultEgressAcl, parseNetworkAcl } from './network.js';

describe('egress network ACL', () => {
  it('forbids the built-in ranges when nothing is configured, permits the rest', () => {
    const acl = defaultEgressAcl();
    assert.equal(acl.missedAction, 'permit');
    for (const ip of ['0.0.0.0', '127.0.0.1', '127.255.0.9', '169.254.169.254', '::', '::1', 'fe80::1', 'febf::1', '100::1', '::ffff:127.0.0.1']) {
      assert.equal(acl.check(ip), 'forbid', ip);
    }
    for (const ip of ['8.8.8.8', '10.0.0.1', '192.168.1.1', '2001:db8::1', '100:0:0:1::1', '0.0.0.1']) {
      assert.equal(acl.check(ip), 'permit', ip);
    }
  });
  it('lets an explicit permit reach loopback (the test-config idiom), more specific wins', () => {
    const acl = parseNetworkAcl({ default: 'allow', allow: '127.0.0.1' }, 'egress');
    assert.equal(acl.check('127.0.0.1'), 'permit');
    assert.equal(acl.check('127.0.0.2'), 'forbid');
    assert.equal(acl.check('::1'), 'forbid');
    assert.equal(acl.check('1.1.1.1'), 'permit');
    // the same network as a built-in replaces it
    const wide = parseNetworkAcl({ permit: '127.0.0.0/8' }, 'egress');
    assert.equal(wide.check('127.0.0.2'), 'permit');
    assert.equal(wide.check('1.1.1.1'), 'forbid');
  });
  it('treats a bare record or list as permitted, everything else forbidden', () => {
    const acl = parseNetworkAcl(['10.0.0.0/8', '2001:db8::/32'], 'egress');
    assert.equal(acl.missedAction, 'forbid');
    assert.equal(acl.check('10.1.2.3'), 'permit');
    assert.equal(acl.check('2001:db8::5'), 'permit');
    assert.equal(acl.check('11.0.0.1'), 'forbid');
    assert.equal(parseNetworkAcl('192.168.0.0/16', 'egress').check('192.168.3.3'), 'permit');
  });
  it('keeps logging actions and the later of two records for one network', () => {
    const acl = parseNetworkAcl({ forbid_log: ['10.0.0.0/8'], permit_log: '10.1.0.0/16', default: 'permit' }, 'egress');
    assert.equal(acl.check('10.2.0.1'), 'forbid_log');
    assert.equal(acl.check('10.1.0.1'), 'permit_log');
    const raw = parseNetworkAcl({ Default: 'Allow', 'Forbid-Log': '1.2.3.4' }, 'plain');
    assert.equal(raw.check('1.2.3.4'), 'forbid_log');
    assert.equal(raw.check('1.2.3.5'), 'permit');
    const later = parseNetworkAcl({ forbid: '10.0.0.0/8', permit: '10.0.0.0/8' }, 'plain');
    assert.equal(later.check('10.0.0.1'), 'permit');
  });
  it('forbids text that is not an IP and checks uint32 addresses', () => {
    const acl = parseNetworkAcl({ default: 'permit' }, 'egress');
    assert.equal(acl.check('localhost'), 'forbid');
    assert.equal(acl.checkV4(parseIpv4('127.0.0.1')), 'forbid');
    assert.equal(acl.checkV4(parseIpv4('8.8.4.4')), 'permit');
    assert.equal(acl.lookup('8.8.4.4'), undefined);
    assert.equal(acl.lookup('127.0.0.1'), 'forbid');
  });
});

describe('other network ACL kinds', () => {
  it('ingress permits loopback by default', () => {
    const acl = parseNetworkAcl({ allow: '192.168.0.0/16' }, 'ingress');
    assert.equal(acl.check('127.0.0.1'), 'permit');
    assert.equal(acl.check('::1'), 'permit');
    assert.equal(acl.check('127.0.0.2'), 'forbid');
    assert.equal(acl.check('192.168.1.1'), 'permit');
    assert.equal(acl.check('10.0.0.1'), 'forbid');
    assert.equal(parseNetworkAcl({ forbid: '127.0.0.1' }, 'ingress').check('127.0.0.1'), 'forbid');
  });
  it('dst_subnet uses the egress bans, plain has none', () => {
    assert.equal(parseNetworkAcl({ default: 'allow' }, 'dst_subnet').check('169.254.1.1'), 'forbid');
    assert.equal(parseNetworkAcl({ default: 'allow' }, 'dst_subnet').check('100::1'), 'forbid');
    assert.equal(parseNetworkAcl({ default: 'allow' }, 'plain').check('127.0.0.1'), 'permit');
  });
  it('reports bad records with their path', () => {
    assertValueError(() => parseNetworkAcl({ forbid: ['1.1.1.1', '2.2.2.2', 'nope'] }, 'egress'), /'nope' is not a valid IP/, ['forbid', '2']);
    assertValueError(() => parseNetworkAcl({ deny: '10.0.0.1/8' }, 'egress'), /host bits/, ['deny']);
    assertValueError(() => parseNetworkAcl({ block: '10.0.0.0/8' }, 'egress'), /'block' is not an ACL action/, ['block']);
    assertValueError(() => parseNetworkAcl({ default: 'maybe' }, 'egress'), /unknown ACL action 'maybe'/, ['default']);
    assertValueError(() => parseNetworkAcl([42], 'egress'), /must be an IP or CIDR string/, ['0']);
    assertValueError(() => parseNetworkAcl(undefined, 'ingress'), /ingress network filter value is missing/);
    assert.equal(parseNetworkAcl(undefined, 'egress').check('8.8.8.8'), 'permit');
    assert.equal(parseNetworkAcl(undefined, 'egress').check('127.0.0.1'), 'forbid');
  });
});
