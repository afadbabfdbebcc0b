/** Escaper types, keyed by g3's `type:` string (normalised). A new type is a folder and a line here. */
import { directFixedType } from './direct_fixed/index.js';
import { dummyDenyType } from './dummy_deny/index.js';
import { routeFailoverType } from './route_failover/index.js';

export const ESCAPER_TYPES = {
  direct_fixed: directFixedType,
  dummy_deny: dummyDenyType,
  route_failover: routeFailoverType,
} as const;

export type EscaperTypeName = keyof typeof ESCAPER_TYPES;
