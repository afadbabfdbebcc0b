/**
 * VALUE_PARSERS: every value parser under a short name. The config loader exposes them through the
 * JSON-Schema keyword `g3value: '<name>'`, so one parser both validates (its ValueError message and path
 * become the schema error) and builds the typed config.
 */
import { parseAclAction } from './acl/action.js';
import { parseHostFilterSet } from './acl/host-filter.js';
import { parseNetworkAcl } from './acl/network.js';
import { parsePortAcl } from './acl/port.js';
import { compileRustRegex } from './acl/regex.js';
import { parseProxyRequestFilter, parseProxyRequestType, parseUserAgentFilter } from './acl/request.js';
import { parseDomain, parseHost } from './host.js';
import { parseDuration, parseSize, parseSizeU32 } from './humanize.js';
import { parseIpAddr, parseIpNetwork } from './ip.js';
import { parseEnvSockaddr, parseListen, parseUdpListen } from './listen.js';
import { parseObjectName } from './names.js';
import { parsePortRange, parsePorts } from './ports.js';
import { asBool, asString, asU16, asU32, asU8, asUsize, parseList } from './primitives.js';
import { parseRandomRatio, parseRateLimitQuota } from './rate.js';
import { parseResolveRedirection, parseResolveStrategy } from './resolve.js';
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
import { parseGlobalDatagramLimit, parseGlobalStreamLimit, parseTcpSpeedLimit, parseUdpSpeedLimit } from './speed-limit.js';
import { formatUpstreamAddr, parsePickPolicy, parseUpstreamAddr, parseUpstreamAddrWithPort, parseWeightedUpstream } from './upstream.js';
import { parseUsernameParams } from './username-params.js';
import { ValueError } from './errors.js';

/** One or more weighted upstreams; with defaultPort 0 each must carry its own port. */
const weightedList = (defaultPort: number) => (v: unknown) =>
  parseList(v, (item) => {
    const w = parseWeightedUpstream(item, defaultPort);
    if (w.addr.port === 0) throw new ValueError(`upstream address '${formatUpstreamAddr(w.addr)}' needs a port ('host:port')`);
    return w;
  });

export const VALUE_PARSERS: Readonly<Record<string, (v: unknown) => unknown>> = Object.freeze({
  // scalars, with g3proxy's leniency (numeric strings, on/off booleans)
  bool: asBool,
  u8: asU8,
  u16: asU16,
  u32: asU32,
  usize: asUsize,
  string: asString,
  // humanize
  duration: parseDuration,
  size: parseSize,
  size_u32: parseSizeU32,
  rate_limit_quota: parseRateLimitQuota,
  random_ratio: parseRandomRatio,
  // network primitives
  ports: parsePorts,
  port_range: parsePortRange,
  ip: parseIpAddr,
  ip_list: (v) => parseList(v, parseIpAddr),
  ip_network: parseIpNetwork,
  domain: (v) => parseDomain(v),
  host: parseHost,
  upstream: (v) => parseUpstreamAddr(v, 0),
  upstream_with_port: (v) => parseUpstreamAddrWithPort(v),
  upstream_port80: (v) => parseUpstreamAddr(v, 80),
  weighted_upstream: (v) => parseWeightedUpstream(v, 0),
  /** tcp_stream / tls_stream upstream: one or more weighted addresses, port required */
  upstream_list: weightedList(0),
  /** proxy_http / proxy_https / divert_tcp proxy_addr: default port 3128 */
  proxy_addr_http: weightedList(3128),
  /** proxy_socks5 / proxy_socks5s proxy_addr: default port 1080 */
  proxy_addr_socks5: weightedList(1080),
  pick_policy: (v) => parsePickPolicy(v),
  env_sockaddr: (v) => parseEnvSockaddr(v),
  listen: (v) => parseListen(v),
  udp_listen: (v) => parseUdpListen(v),
  object_name: parseObjectName,
  regex: compileRustRegex,
  // ACLs
  acl_action: parseAclAction,
  network_acl: (v) => parseNetworkAcl(v, 'plain'),
  network_acl_egress: (v) => parseNetworkAcl(v, 'egress'),
  network_acl_ingress: (v) => parseNetworkAcl(v, 'ingress'),
  network_acl_dst_subnet: (v) => parseNetworkAcl(v, 'dst_subnet'),
  port_acl: parsePortAcl,
  host_filter_set: parseHostFilterSet,
  user_agent_filter: parseUserAgentFilter,
  proxy_request_filter: parseProxyRequestFilter,
  proxy_request_type: parseProxyRequestType,
  // socket and connection options
  tcp_keepalive: parseTcpKeepalive,
  tcp_misc_opts: parseTcpMiscOpts,
  udp_misc_opts: parseUdpMiscOpts,
  socket_buffer: parseSocketBuffer,
  tcp_speed_limit: parseTcpSpeedLimit,
  udp_speed_limit: parseUdpSpeedLimit,
  global_stream_limit: parseGlobalStreamLimit,
  global_datagram_limit: parseGlobalDatagramLimit,
  tcp_connect: parseTcpConnect,
  happy_eyeballs: parseHappyEyeballs,
  http_keepalive: parseHttpKeepalive,
  proxy_protocol: parseProxyProtocolVersion,
  resolve_strategy: parseResolveStrategy,
  resolve_redirection: parseResolveRedirection,
  username_params: parseUsernameParams,
});

export type ValueParserName = keyof typeof VALUE_PARSERS;
