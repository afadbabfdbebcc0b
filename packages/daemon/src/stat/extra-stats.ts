/**
 * Counter shapes that the emitter reads when an object has them. Resolvers, route escapers and the emitter
 * agree on these without the emitter knowing each type.
 */

/** Route escapers (route_*): `route.request.passed|failed`. Expose as `routeStats` on the escaper. */
export class RouteStats {
  requestPassed = 0;
  requestFailed = 0;
}

/** One resolver's counters for one record type (`rr_type` tag). */
export class ResolverQueryStats {
  total = 0;
  cached = 0;
  driver = 0;
  driverTimeout = 0;
  driverRefused = 0;
  driverMalformed = 0;
  serverRefused = 0;
  serverMalformed = 0;
  serverNotFound = 0;
  serverServFail = 0;
  // gauges
  cacheCapacity = 0;
  cacheLength = 0;
  doingCapacity = 0;
  doingLength = 0;
}

/** A resolver that splits its counters by record type exposes them as `queryStats`. */
export interface ResolverQueryStatsSource {
  queryStats: { A: ResolverQueryStats; AAAA: ResolverQueryStats };
}

export function hasRouteStats(o: unknown): o is { routeStats: RouteStats } {
  return (o as { routeStats?: unknown } | null)?.routeStats instanceof RouteStats;
}

export function hasResolverQueryStats(o: unknown): o is ResolverQueryStatsSource {
  const q = (o as Partial<ResolverQueryStatsSource> | null)?.queryStats;
  return !!q && q.A instanceof ResolverQueryStats && q.AAAA instanceof ResolverQueryStats;
}
