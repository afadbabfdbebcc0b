/**
 * The auditor's `h2_interception` map (g3's "h2 interception" value, sphinx values/dpi.rst): every g3 key with
 * g3's default.
 *
 * What node:http2 honours and what it cannot:
 * - max_header_list_size, max_concurrent_streams, max_frame_size, stream_window_size: SETTINGS of both sessions
 *   (the client side advertises min(upstream's limit, max_concurrent_streams), as g3 does);
 * - connection_window_size: each session's local connection window (Http2Session.setLocalWindowSize);
 * - upstream_handshake_timeout, client_handshake_timeout, upstream_stream_open_timeout, rsp_header_recv_timeout,
 *   ping_interval, silent_drop_expect_header: enforced by the interceptor;
 * - max_send_buffer_size: accepted and NOT applied. node:http2 has no per-stream send buffer cap; what bounds
 *   memory here is the streams' writable backpressure (a stream stops reading its source while the other
 *   side's flow-control window is closed).
 */
import { asBool, asU32, isMap, parseDuration, parseSize, parseSizeU32, ValueError, within } from '@sluice/common';
import { bool, g3, type FieldSchema } from '../../runtime/schema-util.js';

export interface H2InterceptionConfig {
  readonly maxHeaderListSize: number;
  readonly maxConcurrentStreams: number;
  /** already clamped into HTTP/2's 16KiB..16MiB-1, as g3 (>= 1.11.3) does */
  readonly maxFrameSize: number;
  readonly streamWindowSize: number;
  readonly connectionWindowSize: number;
  /** accepted for g3 compatibility; node:http2 cannot apply it (see the module comment) */
  readonly maxSendBufferSize: number;
  /** all durations in ms */
  readonly upstreamHandshakeTimeout: number;
  readonly upstreamStreamOpenTimeout: number;
  readonly clientHandshakeTimeout: number;
  readonly pingInterval: number;
  readonly rspHeaderRecvTimeout: number;
  readonly silentDropExpectHeader: boolean;
}

const MIN_FRAME_SIZE = 16 * 1024;
const MAX_FRAME_SIZE = 16 * 1024 * 1024 - 1;
/** HTTP/2's largest flow-control window (RFC 9113 §6.9.1) */
const MAX_WINDOW = 2 ** 31 - 1;

export const H2_INTERCEPTION_DEFAULTS: H2InterceptionConfig = Object.freeze({
  maxHeaderListSize: 64 * 1024,
  maxConcurrentStreams: 128,
  maxFrameSize: 256 * 1024,
  streamWindowSize: 1024 * 1024,
  connectionWindowSize: 2 * 1024 * 1024,
  maxSendBufferSize: 8 * 1024 * 1024,
  upstreamHandshakeTimeout: 10_000,
  upstreamStreamOpenTimeout: 10_000,
  clientHandshakeTimeout: 4_000,
  pingInterval: 60_000,
  rspHeaderRecvTimeout: 60_000,
  silentDropExpectHeader: false,
});

const sizeU32 = (d: string) => g3('size_u32', d);
const dur = (d: string) => g3('duration', d);

/** Schema of the auditor's `h2_interception` key. */
export const H2_INTERCEPTION_FIELD: FieldSchema = {
  type: 'object',
  additionalProperties: false,
  'x-aliases': { max_header_size: 'max_header_list_size' },
  description:
    'HTTP/2 interception settings (g3\'s h2 interception map). `max_send_buffer_size` is accepted but not applied: ' +
    'node:http2 has no send buffer cap; memory is bounded by flow control and stream backpressure instead.',
  properties: {
    max_header_list_size: sizeU32('Max header list size (SETTINGS_MAX_HEADER_LIST_SIZE); alias max_header_size (default 64KiB).'),
    max_concurrent_streams: g3('u32', 'Max concurrent streams the client may open; the upstream\'s own limit lowers it (default 128).'),
    max_frame_size: sizeU32('Max frame size, clamped into 16KiB..16MiB-1 (default 256KiB).'),
    stream_window_size: sizeU32('INITIAL_WINDOW_SIZE of each stream (default 1MiB).'),
    connection_window_size: sizeU32('Window size of the whole connection (default 2MiB).'),
    max_send_buffer_size: g3('size', 'Max send buffer size (default 8MiB). Accepted for compatibility, not applied by sluice.'),
    upstream_handshake_timeout: dur('Timeout of the HTTP/2 handshake with the upstream (default 10s).'),
    upstream_stream_open_timeout: dur('Timeout for opening a stream to the upstream (default 10s).'),
    client_handshake_timeout: dur('Timeout of the HTTP/2 handshake with the client (default 4s).'),
    ping_interval: dur('Interval of the PING frames sent to the upstream (default 60s).'),
    rsp_header_recv_timeout: dur('Max time between the whole request sent and the whole response header received (default 60s).'),
    silent_drop_expect_header: bool('Drop an `Expect` request header silently instead of replying 417 Expectation Failed (default false).'),
  },
};

type Setter = (c: Mutable, v: unknown) => void;
type Mutable = { -readonly [K in keyof H2InterceptionConfig]: H2InterceptionConfig[K] };

const window = (v: unknown): number => {
  const n = parseSizeU32(v);
  if (n > MAX_WINDOW) throw new ValueError(`window size ${n} is larger than HTTP/2 allows (${MAX_WINDOW})`);
  return n;
};

const SETTERS: Record<string, Setter> = {
  max_header_list_size: (c, v) => { c.maxHeaderListSize = parseSizeU32(v); },
  max_header_size: (c, v) => { c.maxHeaderListSize = parseSizeU32(v); },
  max_concurrent_streams: (c, v) => { c.maxConcurrentStreams = asU32(v); },
  max_frame_size: (c, v) => { c.maxFrameSize = Math.min(MAX_FRAME_SIZE, Math.max(MIN_FRAME_SIZE, parseSizeU32(v))); },
  stream_window_size: (c, v) => { c.streamWindowSize = window(v); },
  connection_window_size: (c, v) => { c.connectionWindowSize = window(v); },
  max_send_buffer_size: (c, v) => { c.maxSendBufferSize = parseSize(v); },
  upstream_handshake_timeout: (c, v) => { c.upstreamHandshakeTimeout = parseDuration(v); },
  upstream_stream_open_timeout: (c, v) => { c.upstreamStreamOpenTimeout = parseDuration(v); },
  client_handshake_timeout: (c, v) => { c.clientHandshakeTimeout = parseDuration(v); },
  ping_interval: (c, v) => { c.pingInterval = parseDuration(v); },
  rsp_header_recv_timeout: (c, v) => { c.rspHeaderRecvTimeout = parseDuration(v); },
  silent_drop_expect_header: (c, v) => { c.silentDropExpectHeader = asBool(v); },
};

/** Parses `h2_interception` (absent/null = all defaults). Keys are matched the g3 way (lowercase, `-` as `_`). */
export function parseH2Interception(raw: unknown): H2InterceptionConfig {
  if (raw === undefined || raw === null) return H2_INTERCEPTION_DEFAULTS;
  if (!isMap(raw)) throw new ValueError('h2_interception must be a map');
  const c: Mutable = { ...H2_INTERCEPTION_DEFAULTS };
  for (const [key, value] of Object.entries(raw)) {
    const name = key.toLowerCase().replace(/-/g, '_');
    const set = Object.hasOwn(SETTERS, name) ? SETTERS[name] : undefined;
    if (!set) throw new ValueError(`unknown key '${key}' in h2_interception (known keys: ${Object.keys(SETTERS).join(', ')})`, [key]);
    within(key, () => set(c, value));
  }
  return Object.freeze(c);
}
