import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  parseHappyEyeballs,
  parseHttpKeepalive,
  parseProxyProtocolVersion,
  parseSocketBuffer,
  parseTcpConnect,
  parseTcpKeepalive,
  parseTcpMiscOpts,
  parseUdpMiscOpts,
} from './socket.js';
import { assertValueError } from './test-helpers.js';

describe('parseTcpKeepalive', () => {
  it('reads bool, duration and map forms', () => {
    assert.deepEqual(parseTcpKeepalive(true), { enabled: true, idleTimeMs: 60_000 });
    assert.deepEqual(parseTcpKeepalive(false), { enabled: false, idleTimeMs: 60_000 });
    assert.deepEqual(parseTcpKeepalive('30s'), { enabled: true, idleTimeMs: 30_000 });
    assert.deepEqual(parseTcpKeepalive(10), { enabled: true, idleTimeMs: 10_000 });
    assert.deepEqual(parseTcpKeepalive({ enable: true, idle_time: '2m', probe_interval: '10s', probe_count: 3 }), {
      enabled: true,
      idleTimeMs: 120_000,
      probeIntervalMs: 10_000,
      probeCount: 3,
    });
    // like g3proxy, a map without enable leaves keepalive off
    assert.equal(parseTcpKeepalive({ idle_time: 5 }).enabled, false);
  });
  it('reports bad keys and values', () => {
    assertValueError(() => parseTcpKeepalive({ idle: 5 }), /unknown key 'idle'/, ['idle']);
    assertValueError(() => parseTcpKeepalive({ probe_count: -1 }), /negative/, ['probe_count']);
    assertValueError(() => parseTcpKeepalive('soon'), /unknown duration unit|expected a number/);
  });
});

describe('parseTcpMiscOpts and parseUdpMiscOpts', () => {
  it('reads every key and alias', () => {
    assert.deepEqual(
      parseTcpMiscOpts({ no_delay: 'on', mss: 1400, ttl: '64', hop_limit: 32, tos: 16, traffic_class: 8, congestion_control: 'bbr', mark: 7 }),
      { noDelay: true, maxSegmentSize: 1400, timeToLive: 64, hopLimit: 32, typeOfService: 16, trafficClass: 8, congestionControl: 'bbr', netfilterMark: 7 },
    );
    assert.deepEqual(parseTcpMiscOpts({ max_segment_size: 536, time_to_live: 1, type_of_service: 0, netfilter_mark: 1 }), {
      maxSegmentSize: 536,
      timeToLive: 1,
      typeOfService: 0,
      netfilterMark: 1,
    });
    assert.deepEqual(parseUdpMiscOpts({ ttl: 3, tos: 4, mark: 5 }), { timeToLive: 3, typeOfService: 4, netfilterMark: 5 });
  });
  it('checks ranges and shapes', () => {
    assertValueError(() => parseTcpMiscOpts({ ttl: 256 }), /out of range for a u8/, ['ttl']);
    assertValueError(() => parseTcpMiscOpts({ mss: 70000 }), /out of range/, ['mss']);
    assertValueError(() => parseTcpMiscOpts({ no_delay: 'maybe' }), /expected a boolean/, ['no_delay']);
    assertValueError(() => parseTcpMiscOpts(true), /must be a map/);
    assertValueError(() => parseUdpMiscOpts({ no_delay: true }), /unknown key 'no_delay'/, ['no_delay']);
  });
});

describe('parseSocketBuffer', () => {
  it('reads a size or a map', () => {
    assert.deepEqual(parseSocketBuffer('1Mi'), { recvSize: 1 << 20, sendSize: 1 << 20 });
    assert.deepEqual(parseSocketBuffer({ recv: '64K', write: 4096 }), { recvSize: 64_000, sendSize: 4096 });
    assertValueError(() => parseSocketBuffer({ recv: '1.5K' }), /whole number/, ['recv']);
  });
});

describe('parseTcpConnect and parseHappyEyeballs', () => {
  it('applies g3 defaults', () => {
    assert.deepEqual(parseTcpConnect({}), { maxRetry: 2, maxTries: 3, eachTimeoutMs: 30_000 });
    assert.deepEqual(parseTcpConnect({ max_retry: 0, each_timeout: '5s' }), { maxRetry: 0, maxTries: 1, eachTimeoutMs: 5000 });
    assert.deepEqual(parseHappyEyeballs({}), {
      resolutionDelayMs: 50,
      secondResolutionTimeoutMs: 2000,
      firstAddressFamilyCount: 1,
      connectionAttemptDelayMs: 250,
    });
    const he = parseHappyEyeballs({ first_resolution_delay: '100ms', second_resolution_timeout: 1, first_address_family_count: 2, connection_attempt_delay: '10ms' });
    assert.deepEqual(he, { resolutionDelayMs: 100, secondResolutionTimeoutMs: 1000, firstAddressFamilyCount: 2, connectionAttemptDelayMs: 100 });
    assert.equal(parseHappyEyeballs({ connection_attempt_delay: '1h' }).connectionAttemptDelayMs, 2000);
  });
  it('wants maps', () => {
    assertValueError(() => parseTcpConnect(3), /must be a map/);
    assertValueError(() => parseTcpConnect({ retries: 3 }), /unknown key 'retries'.*max_retry, each_timeout/, ['retries']);
    assertValueError(() => parseHappyEyeballs('fast'), /must be a map/);
  });
});

describe('parseHttpKeepalive and parseProxyProtocolVersion', () => {
  it('reads http keepalive forms', () => {
    assert.deepEqual(parseHttpKeepalive(false), { enabled: false, idleExpireMs: 60_000 });
    assert.deepEqual(parseHttpKeepalive('15s'), { enabled: true, idleExpireMs: 15_000 });
    assert.deepEqual(parseHttpKeepalive({ idle_expire: '2m' }), { enabled: true, idleExpireMs: 120_000 });
    assert.deepEqual(parseHttpKeepalive({ enable: false }), { enabled: false, idleExpireMs: 60_000 });
  });
  it('accepts PROXY protocol 1 and 2 only', () => {
    assert.equal(parseProxyProtocolVersion(1), 1);
    assert.equal(parseProxyProtocolVersion('2'), 2);
    assertValueError(() => parseProxyProtocolVersion(3), /unsupported PROXY protocol version 3/);
    assertValueError(() => parseProxyProtocolVersion('v2'), /expected a u8/);
    assertValueError(() => parseProxyProtocolVersion(true), /must be 1 or 2/);
  });
});
