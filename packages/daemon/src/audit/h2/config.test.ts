import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VALUE_PARSERS } from '@sluice/common';
import { createValidator, registerValueParsers, type RawNode } from '@sluice/config';
import { H2_INTERCEPTION_DEFAULTS, H2_INTERCEPTION_FIELD, parseH2Interception } from './config.js';

describe('parseH2Interception', () => {
  it('gives g3\'s defaults when the key is absent', () => {
    const c = parseH2Interception(undefined);
    assert.equal(c, H2_INTERCEPTION_DEFAULTS);
    assert.equal(c.maxHeaderListSize, 65536);
    assert.equal(c.maxConcurrentStreams, 128);
    assert.equal(c.maxFrameSize, 256 * 1024);
    assert.equal(c.streamWindowSize, 1024 * 1024);
    assert.equal(c.connectionWindowSize, 2 * 1024 * 1024);
    assert.equal(c.maxSendBufferSize, 8 * 1024 * 1024);
    assert.equal(c.upstreamHandshakeTimeout, 10_000);
    assert.equal(c.upstreamStreamOpenTimeout, 10_000);
    assert.equal(c.clientHandshakeTimeout, 4_000);
    assert.equal(c.pingInterval, 60_000);
    assert.equal(c.rspHeaderRecvTimeout, 60_000);
    assert.equal(c.silentDropExpectHeader, false);
  });

  it('reads every key, the max_header_size alias and g3 key spellings', () => {
    const c = parseH2Interception({
      'Max-Header-Size': '32KiB',
      max_concurrent_streams: '64',
      stream_window_size: '256KiB',
      connection_window_size: 4194304,
      max_send_buffer_size: '1MiB',
      upstream_handshake_timeout: '3s',
      upstream_stream_open_timeout: '2s',
      client_handshake_timeout: '1500ms',
      ping_interval: '30s',
      rsp_header_recv_timeout: '1m',
      silent_drop_expect_header: 'yes',
    });
    assert.equal(c.maxHeaderListSize, 32 * 1024);
    assert.equal(c.maxConcurrentStreams, 64);
    assert.equal(c.streamWindowSize, 256 * 1024);
    assert.equal(c.connectionWindowSize, 4 * 1024 * 1024);
    assert.equal(c.maxSendBufferSize, 1024 * 1024);
    assert.equal(c.upstreamHandshakeTimeout, 3000);
    assert.equal(c.upstreamStreamOpenTimeout, 2000);
    assert.equal(c.clientHandshakeTimeout, 1500);
    assert.equal(c.pingInterval, 30_000);
    assert.equal(c.rspHeaderRecvTimeout, 60_000);
    assert.equal(c.silentDropExpectHeader, true);
    assert.ok(Object.isFrozen(c));
  });

  it('clamps max_frame_size into HTTP/2\'s range, as g3 >= 1.11.3', () => {
    assert.equal(parseH2Interception({ max_frame_size: 1024 }).maxFrameSize, 16 * 1024);
    assert.equal(parseH2Interception({ max_frame_size: '64MiB' }).maxFrameSize, 16 * 1024 * 1024 - 1);
  });

  it('rejects unknown keys, bad values and windows HTTP/2 cannot express', () => {
    assert.throws(() => parseH2Interception({ max_streams: 1 }), /unknown key 'max_streams'/);
    assert.throws(() => parseH2Interception({ ping_interval: 'soon' }), /duration/);
    assert.throws(() => parseH2Interception({ stream_window_size: '3GiB' }), /window size/);
    assert.throws(() => parseH2Interception('on'), /must be a map/);
  });

  it('has a schema listing every key with a description', () => {
    const props = (H2_INTERCEPTION_FIELD as unknown as { properties: Record<string, { description: string }> }).properties;
    assert.deepEqual(Object.keys(props).sort(), [
      'client_handshake_timeout', 'connection_window_size', 'max_concurrent_streams', 'max_frame_size',
      'max_header_list_size', 'max_send_buffer_size', 'ping_interval', 'rsp_header_recv_timeout',
      'silent_drop_expect_header', 'stream_window_size', 'upstream_handshake_timeout', 'upstream_stream_open_timeout',
    ]);
    for (const [k, v] of Object.entries(props)) assert.ok(v.description.length > 10, k);
  });

  it('validates through the config loader: aliases and spellings normalised, bad values refused', () => {
    registerValueParsers(VALUE_PARSERS);
    const schema = { type: 'object', additionalProperties: false, properties: { h2_interception: H2_INTERCEPTION_FIELD } };
    const node = { keyPathPrefix: ['auditor'], locate: () => ({ file: 'main.yaml', line: 1 }) } as unknown as RawNode;
    const validate = createValidator<{ h2_interception: unknown }>(schema);
    const out = validate({ h2_interception: { 'Max-Header-Size': '32KiB', ping_interval: '5s' } }, node);
    assert.deepEqual(Object.keys(out.h2_interception as object).sort(), ['max_header_list_size', 'ping_interval']);
    const c = parseH2Interception(out.h2_interception);
    assert.equal(c.maxHeaderListSize, 32 * 1024);
    assert.equal(c.pingInterval, 5000);
    assert.throws(() => validate({ h2_interception: { ping_interval: 'soon' } }, node));
    assert.throws(() => validate({ h2_interception: { no_such_key: 1 } }, node));
  });
});
