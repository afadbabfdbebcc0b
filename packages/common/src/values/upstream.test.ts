import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalizeDomain, parseDomain, parseHost } from './host.js';
import { assertValueError } from './test-helpers.js';
import { formatUpstreamAddr, parsePickPolicy, parseUpstreamAddr, parseUpstreamAddrWithPort, parseWeightedUpstream } from './upstream.js';

describe('domains and hosts', () => {
  it('lowercases, applies IDNA and drops a trailing dot', () => {
    assert.equal(parseDomain('WWW.Example.COM'), 'www.example.com');
    assert.equal(parseDomain('bücher.de'), 'xn--bcher-kva.de');
    assert.equal(parseDomain('example.com.'), 'example.com');
    assert.equal(parseDomain('_sip._tcp.example.com'), '_sip._tcp.example.com');
    assert.equal(parseDomain('.example.com', true), 'example.com');
    assert.equal(parseDomain('localhost'), 'localhost');
    assert.equal(normalizeDomain('a..b'), null);
  });
  it('explains invalid domains', () => {
    assertValueError(() => parseDomain('a..b'), /empty label/);
    assertValueError(() => parseDomain(`${'a'.repeat(64)}.com`), /longer than 63/);
    assertValueError(() => parseDomain(`${'a.'.repeat(130)}com`), /max 253/);
    assertValueError(() => parseDomain('exa$mple.com'), /label 'exa\$mple'/);
    assertValueError(() => parseDomain('*.example.com'), /label '\*'/);
    assertValueError(() => parseDomain('10.0.0.1'), /is an IP address, a domain name is needed/);
    assertValueError(() => parseDomain('1.2.3.400'), /ends in a number/);
    assertValueError(() => parseDomain(3), /must be a string/);
  });
  it('tells IPs from domains', () => {
    assert.deepEqual(parseHost('Example.org'), { host: 'example.org', ipFamily: 0 });
    assert.deepEqual(parseHost('::FFFF:1.2.3.4'), { host: '1.2.3.4', ipFamily: 4 });
    assert.deepEqual(parseHost('2001:DB8::1'), { host: '2001:db8::1', ipFamily: 6 });
    assertValueError(() => parseHost('1.2.3.400'), /neither an IP address nor a valid domain name/);
  });
});

describe('parseUpstreamAddr', () => {
  it('reads host[:port] forms', () => {
    assert.deepEqual(parseUpstreamAddr('Example.COM:8080', 0), { host: 'example.com', port: 8080, ipFamily: 0 });
    assert.deepEqual(parseUpstreamAddr('example.com', 3128), { host: 'example.com', port: 3128, ipFamily: 0 });
    assert.deepEqual(parseUpstreamAddr('10.0.0.1:1080', 3128), { host: '10.0.0.1', port: 1080, ipFamily: 4 });
    assert.deepEqual(parseUpstreamAddr('[2001:db8::1]:443', 0), { host: '2001:db8::1', port: 443, ipFamily: 6 });
    assert.deepEqual(parseUpstreamAddr('[2001:db8::1]', 80), { host: '2001:db8::1', port: 80, ipFamily: 6 });
    assert.deepEqual(parseUpstreamAddr('2001:db8::1', 80), { host: '2001:db8::1', port: 80, ipFamily: 6 });
    assert.deepEqual(parseUpstreamAddr('[::ffff:10.1.1.1]:53', 0), { host: '10.1.1.1', port: 53, ipFamily: 4 });
    assert.deepEqual(parseUpstreamAddr('example.com', 0), { host: 'example.com', port: 0, ipFamily: 0 });
    assert.equal(formatUpstreamAddr(parseUpstreamAddr('[::1]:8', 0)), '[::1]:8');
    assert.equal(formatUpstreamAddr(parseUpstreamAddr('a.b', 0)), 'a.b');
  });
  it('validates ports and hosts', () => {
    assertValueError(() => parseUpstreamAddr('example.com:0', 80), /port 0 .* out of range/);
    assertValueError(() => parseUpstreamAddr('example.com:65536', 80), /out of range/);
    assertValueError(() => parseUpstreamAddr('example.com:http', 80), /invalid port 'http'/);
    // without brackets the last group is part of the address, never a port (same as g3proxy)
    assert.deepEqual(parseUpstreamAddr('2001:db8::1:443', 80), { host: '2001:db8::1:443', port: 80, ipFamily: 6 });
    assertValueError(() => parseUpstreamAddr('fe80::zz', 80), /not a valid IPv6 address.*\[addr\]:port/);
    assertValueError(() => parseUpstreamAddr('[example.com]:80', 80), /not an IPv6 address/);
    assertValueError(() => parseUpstreamAddr('[::1', 80), /without a closing/);
    assertValueError(() => parseUpstreamAddr('bad_host!:80', 80), /not a valid domain name/);
    assertValueError(() => parseUpstreamAddr('', 80), /must not be empty/);
    assertValueError(() => parseUpstreamAddrWithPort('example.com'), /needs a port/);
    assert.equal(parseUpstreamAddrWithPort('example.com', 80).port, 80);
  });
  it('reads weighted upstreams', () => {
    assert.deepEqual(parseWeightedUpstream('a.example:1', 0), { addr: { host: 'a.example', port: 1, ipFamily: 0 }, weight: 1 });
    assert.deepEqual(parseWeightedUpstream({ addr: '10.0.0.1', weight: 2.5 }, 3128), {
      addr: { host: '10.0.0.1', port: 3128, ipFamily: 4 },
      weight: 2.5,
    });
    assertValueError(() => parseWeightedUpstream({ weight: 2 }, 0), /needs an addr/);
    assertValueError(() => parseWeightedUpstream({ addr: 'x:0' }, 0), /out of range/, ['addr']);
    assertValueError(() => parseWeightedUpstream({ addr: 'x', weight: 'heavy' }, 0), /expected a number/, ['weight']);
  });
});

describe('parsePickPolicy', () => {
  it('reads names and aliases', () => {
    assert.equal(parsePickPolicy(undefined, 'ketama'), 'ketama');
    assert.equal(parsePickPolicy(undefined), 'random');
    assert.equal(parsePickPolicy('Round-Robin'), 'round_robin');
    assert.equal(parsePickPolicy('rr'), 'round_robin');
    assert.equal(parsePickPolicy('sequence'), 'serial');
    assert.equal(parsePickPolicy('jump_hash'), 'jump_hash');
    assert.equal(parsePickPolicy('rendezvous'), 'rendezvous');
    assertValueError(() => parsePickPolicy('fastest'), /unknown pick policy 'fastest'/);
    assertValueError(() => parsePickPolicy('constructor'), /unknown pick policy/);
  });
});
