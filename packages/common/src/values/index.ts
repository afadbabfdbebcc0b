/**
 * g3proxy's value syntax as typed parsers. Each parser takes a value as it comes out of YAML (keys of
 * maps already lowercase snake_case) and returns a typed, frozen value or throws a ValueError whose
 * `path` locates the problem inside the value.
 */
export { ValueError, within } from './errors.js';
export { parseList, asBool, asString, asU8, asU16, asU32, asUsize, asF64, isMap } from './primitives.js';
export { parseDuration, parseSize, parseSizeU32 } from './humanize.js';
export { parseRateLimitQuota, parseRandomRatio, type RateLimitQuota } from './rate.js';
export { PortSet, parsePorts, parsePortRange, type PortRange } from './ports.js';
export {
  ipBytes,
  normalizeIp,
  ipFamily,
  parseIpAddr,
  parseIpNetwork,
  parseIpv4,
  formatIpv4,
  formatIpv6,
  type IpNetwork,
  type IpFamily,
} from './ip.js';
export { IpNetworkTable } from './ip-table.js';
export { parseDomain, parseHost, normalizeDomain, type Host } from './host.js';
export {
  parseUpstreamAddr,
  parseUpstreamAddrWithPort,
  parseWeightedUpstream,
  parsePickPolicy,
  formatUpstreamAddr,
  type UpstreamAddr,
  type WeightedUpstream,
  type PickPolicy,
} from './upstream.js';
export {
  type AclAction,
  ACL_ACTIONS,
  parseAclAction,
  aclActionFromName,
  isForbidden,
  isLogged,
  stricterAction,
  aclStrictness,
} from './acl/action.js';
export { NetworkAcl, parseNetworkAcl, defaultEgressAcl, type NetworkAclKind } from './acl/network.js';
export { PortAcl, parsePortAcl } from './acl/port.js';
export { HostFilterSet, parseHostFilterSet } from './acl/host-filter.js';
export { compileRustRegex } from './acl/regex.js';
export {
  UserAgentFilter,
  parseUserAgentFilter,
  ProxyRequestFilter,
  parseProxyRequestFilter,
  parseProxyRequestType,
  type ProxyRequestType,
} from './acl/request.js';
export {
  parseTcpKeepalive,
  parseTcpMiscOpts,
  parseUdpMiscOpts,
  parseSocketBuffer,
  parseTcpConnect,
  parseHappyEyeballs,
  parseHttpKeepalive,
  parseProxyProtocolVersion,
  type TcpKeepalive,
  type TcpMiscOpts,
  type UdpMiscOpts,
  type SocketBuffer,
  type TcpConnect,
  type HappyEyeballs,
  type HttpKeepalive,
  type ProxyProtocolVersion,
} from './socket.js';
export {
  parseTcpSpeedLimit,
  parseUdpSpeedLimit,
  parseGlobalStreamLimit,
  parseGlobalDatagramLimit,
  type TcpSpeedLimit,
  type UdpSpeedLimit,
  type GlobalStreamLimit,
  type GlobalDatagramLimit,
} from './speed-limit.js';
export {
  parseResolveStrategy,
  parseResolveRedirection,
  ResolveRedirection,
  DEFAULT_RESOLVE_STRATEGY,
  type ResolveStrategy,
  type QueryStrategy,
  type PickStrategy,
  type ResolveRedirectionTarget,
} from './resolve.js';
export {
  parseListen,
  parseUdpListen,
  parseEnvSockaddr,
  listenInstanceCount,
  type ListenSpec,
  type UdpListenSpec,
  type ListenScale,
  type EnvSockaddr,
  type EnvSockaddrOptions,
} from './listen.js';
export { isValidObjectName, parseObjectName } from './names.js';
export { parseUsernameParams, UsernameParams, type EgressUpstream } from './username-params.js';
export { VALUE_PARSERS, type ValueParserName } from './registry.js';
