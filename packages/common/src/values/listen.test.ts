import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { listenInstanceCount, parseEnvSockaddr, parseListen, parseUdpListen } from './listen.js';
import { assertValueError } from './test-helpers.js';

const base = { backlog: 4096, ipv6Only: false, instance: 1, followCpuAffinity: false };

describe('parseListen', () => {
  it('reads a port, an address and an environment variable', () => {
    assert.deepEqual(parseListen(8080, {}), { host: '::', port: 8080, ipFamily: 6, ...base });
    assert.deepEqual(parseListen('127.0.0.1:3128', {}), { host: '127.0.0.1', port: 3128, ipFamily: 4, ...base });
    assert.deepEqual(parseListen('[::1]:1080', {}), { host: '::1', port: 1080, ipFamily: 6, ...base });
    assert.deepEqual(parseListen('$LISTEN', { LISTEN: '0.0.0.0:9000' }), { host: '0.0.0.0', port: 9000, ipFamily: 4, ...base });
    assert.deepEqual(parseListen('$PORT', { PORT: '9001' }), { host: '::', port: 9001, ipFamily: 6, ...base });
  });
  it('reads the map form', () => {
    const spec = parseListen(
      { addr: '10.0.0.1:443', backlog: 1024, ipv6_only: false, instance: 4, scale: '50%', interface: 'eth0', netfilter_mark: 3, mss: 1400, keepalive: '30s', follow_cpu_affinity: true },
      {},
    );
    assert.deepEqual(spec, {
      host: '10.0.0.1',
      port: 443,
      ipFamily: 4,
      backlog: 1024,
      ipv6Only: false,
      instance: 4,
      scale: { kind: 'factor', factor: 0.5 },
      interface: 'eth0',
      netfilterMark: 3,
      maxSegmentSize: 1400,
      keepalive: { enabled: true, idleTimeMs: 30_000 },
      followCpuAffinity: true,
    });
    assert.ok(Object.isFrozen(spec));
    assert.equal(parseListen({ address: 80, backlog: 4 }, {}).backlog, 4096); // < 8 falls back to the default
    assert.equal(parseListen({ address: 80, instance: 0 }, {}).instance, 1);
    assert.equal(parseListen({ address: '[::]:80', ipv6only: true }, {}).ipv6Only, true);
  });
  it('computes instances from scale', () => {
    const half = parseListen({ address: 80, scale: '1/2' }, {});
    assert.deepEqual(half.scale, { kind: 'fraction', numerator: 1, denominator: 2 });
    assert.equal(listenInstanceCount(half, 8), 4);
    assert.equal(listenInstanceCount(half, 1), 1);
    assert.equal(listenInstanceCount(parseListen({ address: 80, scale: 0.5, instance: 2 }, {}), 2), 2);
    assert.equal(listenInstanceCount(parseListen({ address: 80, scale: 2 }, {}), 3), 6);
  });
  it('takes port 0 as "the kernel picks" (sluice addition)', () => {
    assert.equal(parseListen(0, {}).port, 0);
    const l = parseListen('127.0.0.1:0', {});
    assert.equal(l.host, '127.0.0.1');
    assert.equal(l.port, 0);
  });
  it('explains errors', () => {
    assertValueError(() => parseListen({ backlog: 10 }, {}), /needs an address/);
    assertValueError(() => parseListen({ address: 'proxy.local:80' }, {}), /must be an IP address and port/, ['address']);
    assertValueError(() => parseListen('$NOPE', {}), /environment variable NOPE is not set/);
    assertValueError(() => parseListen({ address: 80, scale: '1/0' }, {}), /divides by zero/, ['scale']);
    assertValueError(() => parseListen({ address: 80, interface: 'a very long name' }, {}), /not a valid interface name/, ['interface']);
    assertValueError(() => parseListen({ address: 80, port: 81 }, {}), /unknown key 'port'/, ['port']);
    assertValueError(() => parseListen(70000, {}), /out of range/);
    assertValueError(() => parseListen(true, {}), /must be a port number or 'ip:port'/);
  });
});

describe('parseUdpListen', () => {
  it('adds socket_buffer and socket_misc_opts', () => {
    assert.deepEqual(parseUdpListen({ address: '[::]:5353', socket_buffer: '1Mi', socket_misc_opts: { ttl: 5 } }, {}), {
      host: '::',
      port: 5353,
      ipFamily: 6,
      ipv6Only: false,
      instance: 1,
      socketBuffer: { recvSize: 1 << 20, sendSize: 1 << 20 },
      socketMiscOpts: { timeToLive: 5 },
    });
    assertValueError(() => parseUdpListen({ address: 53, backlog: 10 }, {}), /unknown key 'backlog'/, ['backlog']);
  });
});

describe('parseEnvSockaddr', () => {
  it('reads ip:port, $ENV and @host:port', () => {
    assert.deepEqual(parseEnvSockaddr('127.0.0.1:8125'), { host: '127.0.0.1', port: 8125, ipFamily: 4, resolveAtLoad: false });
    assert.deepEqual(parseEnvSockaddr('$STATSD', { env: { STATSD: '[::1]:8125' } }), { host: '::1', port: 8125, ipFamily: 6, resolveAtLoad: false });
    assert.deepEqual(parseEnvSockaddr('@statsd.local:8125'), { host: 'statsd.local', port: 8125, ipFamily: 0, resolveAtLoad: true });
    assert.deepEqual(parseEnvSockaddr('@10.0.0.9:514'), { host: '10.0.0.9', port: 514, ipFamily: 4, resolveAtLoad: false });
    assert.deepEqual(parseEnvSockaddr('10.0.0.9', { defaultPort: 514 }), { host: '10.0.0.9', port: 514, ipFamily: 4, resolveAtLoad: false });
  });
  it('explains errors', () => {
    assertValueError(() => parseEnvSockaddr('10.0.0.9'), /needs a port/);
    assertValueError(() => parseEnvSockaddr('statsd.local:8125'), /must be an IP address and port \(use '@statsd.local:8125'/);
    assertValueError(() => parseEnvSockaddr('$X', { env: { X: 'nonsense' } }), /address from environment variable X 'nonsense'/);
    assertValueError(() => parseEnvSockaddr('@statsd.local'), /needs a port/);
    assertValueError(() => parseEnvSockaddr(8125), /must be a string/);
  });
});
