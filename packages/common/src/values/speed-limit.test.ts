import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseGlobalStreamLimit, parseTcpSpeedLimit, parseUdpSpeedLimit } from './speed-limit.js';
import { assertValueError } from './test-helpers.js';

describe('parseTcpSpeedLimit', () => {
  it('reads a size as both directions per 1024 ms', () => {
    assert.deepEqual(parseTcpSpeedLimit('10M'), { enabled: true, shiftMillis: 10, maxUpload: 10_000_000, maxDownload: 10_000_000 });
    assert.deepEqual(parseTcpSpeedLimit(65536), { enabled: true, shiftMillis: 10, maxUpload: 65536, maxDownload: 65536 });
  });
  it('reads the map form; without shift the limit is off', () => {
    assert.deepEqual(parseTcpSpeedLimit({ shift: 8, north: '1Ki', south: '4Ki' }), {
      enabled: true,
      shiftMillis: 8,
      maxUpload: 1024,
      maxDownload: 4096,
    });
    assert.deepEqual(parseTcpSpeedLimit({ upload: '1M', download: '1M' }), { enabled: false, shiftMillis: 0, maxUpload: 1e6, maxDownload: 1e6 });
  });
  it('refuses the /s suffix, a zero limit and large shifts', () => {
    assertValueError(() => parseTcpSpeedLimit('10M/s'), /no '\/s' suffix/);
    assertValueError(() => parseTcpSpeedLimit({ shift_millis: 10, upload: '1M' }), /download limit must not be 0/);
    assertValueError(() => parseTcpSpeedLimit({ shift_millis: 13, upload: 1, download: 1 }), /too large \(max 12/);
    assertValueError(() => parseTcpSpeedLimit(0), /must not be 0/);
    assertValueError(() => parseTcpSpeedLimit({ upload: '1.5M' }), /whole number/, ['upload']);
  });
});

describe('parseUdpSpeedLimit', () => {
  it('reads sizes and packet counts', () => {
    assert.deepEqual(parseUdpSpeedLimit('1M'), {
      enabled: true,
      shiftMillis: 10,
      maxUploadBytes: 1e6,
      maxDownloadBytes: 1e6,
      maxUploadPackets: 0,
      maxDownloadPackets: 0,
    });
    assert.deepEqual(parseUdpSpeedLimit({ shift: 10, upload_packets: 100, south_packets: 200, north_bytes: '64K' }), {
      enabled: true,
      shiftMillis: 10,
      maxUploadBytes: 64_000,
      maxDownloadBytes: 0,
      maxUploadPackets: 100,
      maxDownloadPackets: 200,
    });
    assertValueError(() => parseUdpSpeedLimit({ upload: 1 }), /unknown key 'upload'/, ['upload']);
  });
});

describe('parseGlobalStreamLimit', () => {
  it('reads a size per second or the map form', () => {
    assert.deepEqual(parseGlobalStreamLimit('100M'), { replenishIntervalMs: 1000, replenishBytes: 1e8, maxBurstBytes: 1e8 });
    assert.deepEqual(parseGlobalStreamLimit({ replenish_interval: '100ms', replenish_bytes: '1M', max_burst_bytes: '5M' }), {
      replenishIntervalMs: 100,
      replenishBytes: 1e6,
      maxBurstBytes: 5e6,
    });
    assert.equal(parseGlobalStreamLimit({ replenish_bytes: '1M', max_burst_bytes: 10 }).maxBurstBytes, 1e6);
    assertValueError(() => parseGlobalStreamLimit({ max_burst_bytes: 10 }), /needs a non-zero replenish_bytes/);
  });
});
