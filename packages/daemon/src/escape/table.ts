/** Escaper types, keyed by g3's `type:` string (normalised). A new type is a folder and a line here. */
import { complyAuditType } from './comply_audit/index.js';
import { directFixedType } from './direct_fixed/index.js';
import { directFloatType } from './direct_float/index.js';
import { dummyDenyType } from './dummy_deny/index.js';
import { proxyFloatType } from './proxy_float/index.js';
import { proxyHttpType } from './proxy_http/index.js';
import { proxyHttpsType } from './proxy_https/index.js';
import { proxySocks5Type } from './proxy_socks5/index.js';
import { proxySocks5sType } from './proxy_socks5s/index.js';
import { routeClientType } from './route_client/index.js';
import { routeFailoverType } from './route_failover/index.js';
import { routeGeoIpType } from './route_geoip/index.js';
import { routeMappingType } from './route_mapping/index.js';
import { routeQueryType } from './route_query/index.js';
import { routeResolvedType } from './route_resolved/index.js';
import { routeSelectType } from './route_select/index.js';
import { routeUpstreamType } from './route_upstream/index.js';
import { trickFloatType } from './trick_float/index.js';

export const ESCAPER_TYPES = {
  direct_fixed: directFixedType,
  dummy_deny: dummyDenyType,
  route_failover: routeFailoverType,
  proxy_http: proxyHttpType,
  proxy_https: proxyHttpsType,
  proxy_socks5: proxySocks5Type,
  proxy_socks5s: proxySocks5sType,
  proxy_float: proxyFloatType,
  direct_float: directFloatType,
  route_upstream: routeUpstreamType,
  route_client: routeClientType,
  route_resolved: routeResolvedType,
  route_geoip: routeGeoIpType,
  route_select: routeSelectType,
  route_mapping: routeMappingType,
  route_query: routeQueryType,
  trick_float: trickFloatType,
  comply_audit: complyAuditType,
} as const;

export type EscaperTypeName = keyof typeof ESCAPER_TYPES;
