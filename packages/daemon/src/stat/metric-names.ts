/**
 * Every metric sluice emits, with its StatsD type and tags (after the `daemon_group` tag every metric has).
 * The emitter's names and these must agree; tests check the wire against this list, and doc/metrics.md and
 * the Grafana dashboard against it.
 */
export interface MetricSpec {
  name: string;
  type: 'counter' | 'gauge';
  tags: readonly string[];
  note?: string;
}

const SERVER = ['server', 'online', 'stat_id', '(extra_metrics_tags)'] as const;
const ESCAPER = ['escaper', 'stat_id', '(extra_metrics_tags)'] as const;
const USER = ['user_group', 'user', 'user_type', 'stat_id', 'server'] as const;
const USER_UP = ['user_group', 'user', 'user_type', 'stat_id', 'escaper', 'transport'] as const;
const RESOLVER = ['resolver', 'stat_id', 'rr_type'] as const;
const LOGGER = ['logger', 'stat_id'] as const;

const c = (name: string, tags: readonly string[], note?: string): MetricSpec => ({ name, type: 'counter', tags, note });
const g = (name: string, tags: readonly string[], note?: string): MetricSpec => ({ name, type: 'gauge', tags, note });

const USER_SUFFIXES = (p: string): MetricSpec[] => [
  c(`${p}connection.total`, [...USER, 'connection']),
  g(`${p}l7.connection.alive`, [...USER, 'connection']),
  c(`${p}request.total`, [...USER, 'request']),
  g(`${p}request.alive`, [...USER, 'request']),
  c(`${p}request.ready`, [...USER, 'request']),
  c(`${p}request.reuse`, [...USER, 'request']),
  c(`${p}request.renew`, [...USER, 'request']),
  c(`${p}traffic.in.bytes`, [...USER, 'request']),
  c(`${p}traffic.in.packets`, [...USER, 'request']),
  c(`${p}traffic.out.bytes`, [...USER, 'request']),
  c(`${p}traffic.out.packets`, [...USER, 'request']),
  c(`${p}upstream.traffic.in.bytes`, USER_UP),
  c(`${p}upstream.traffic.in.packets`, USER_UP),
  c(`${p}upstream.traffic.out.bytes`, USER_UP),
  c(`${p}upstream.traffic.out.packets`, USER_UP),
];

const ONCE = 'sent once non-zero';

export const METRICS: readonly MetricSpec[] = [
  c('server.connection.total', SERVER),
  c('server.task.total', SERVER),
  g('server.task.alive', SERVER),
  c('server.forbidden.auth_failed', SERVER, ONCE),
  c('server.forbidden.dest_denied', SERVER, ONCE),
  c('server.forbidden.user_blocked', SERVER, ONCE),
  c('server.traffic.in.bytes', [...SERVER, 'transport'], 'sent once the server has read bytes'),
  c('server.traffic.out.bytes', [...SERVER, 'transport']),
  c('server.traffic.in.packets', [...SERVER, 'transport'], 'UDP only'),
  c('server.traffic.out.packets', [...SERVER, 'transport'], 'UDP only'),
  c('server.task.untrusted_total', SERVER, ONCE),
  g('server.task.untrusted_alive', SERVER, 'with untrusted_total'),
  c('server.traffic.untrusted_in.bytes', [...SERVER, 'transport'], 'with untrusted_total'),
  g('listen.instance.count', SERVER),
  c('listen.accepted', SERVER),
  c('listen.dropped', SERVER),
  c('listen.timeout', SERVER),
  c('listen.failed', SERVER),
  c('escaper.task.total', ESCAPER),
  c('escaper.connection.attempt', ESCAPER),
  c('escaper.connection.establish', ESCAPER),
  c('escaper.tcp.connect.attempt', ESCAPER, ONCE),
  c('escaper.tcp.connect.establish', ESCAPER, ONCE),
  c('escaper.tcp.connect.success', ESCAPER, ONCE),
  c('escaper.tcp.connect.error', ESCAPER, ONCE),
  c('escaper.tcp.connect.timeout', ESCAPER, ONCE),
  c('escaper.tls.handshake.success', ESCAPER, ONCE),
  c('escaper.tls.handshake.error', ESCAPER, ONCE),
  c('escaper.tls.handshake.timeout', ESCAPER, ONCE),
  c('escaper.tls.peer.closure.orderly', ESCAPER, ONCE),
  c('escaper.tls.peer.closure.abortive', ESCAPER, ONCE),
  c('escaper.forbidden.ip_blocked', ESCAPER, ONCE),
  c('escaper.traffic.in.bytes', [...ESCAPER, 'transport'], 'sent once the escaper has written bytes'),
  c('escaper.traffic.out.bytes', [...ESCAPER, 'transport']),
  c('escaper.traffic.in.packets', [...ESCAPER, 'transport'], 'UDP only'),
  c('escaper.traffic.out.packets', [...ESCAPER, 'transport'], 'UDP only'),
  c('route.request.passed', ['escaper', 'stat_id'], 'route escapers'),
  c('route.request.failed', ['escaper', 'stat_id'], `route escapers, ${ONCE}`),
  ...USER_SUFFIXES('user.'),
  c('user.forbidden.auth_failed', USER, ONCE),
  c('user.forbidden.user_expired', USER, ONCE),
  c('user.forbidden.user_blocked', USER, ONCE),
  c('user.forbidden.fully_loaded', USER, ONCE),
  c('user.forbidden.rate_limited', USER, ONCE),
  c('user.forbidden.proto_banned', USER, ONCE),
  c('user.forbidden.src_blocked', USER, ONCE),
  c('user.forbidden.dest_denied', USER, ONCE),
  c('user.forbidden.ip_blocked', USER, ONCE),
  c('user.forbidden.ua_blocked', USER, ONCE),
  c('user.forbidden.log_skipped', USER, ONCE),
  ...USER_SUFFIXES('user.site.<site_id>.'),
  c('resolver.query.total', RESOLVER, 'rr_type only from resolvers that split by record type'),
  c('resolver.query.cached', RESOLVER, ONCE),
  c('resolver.query.driver.total', RESOLVER, ONCE),
  c('resolver.query.driver.timeout', RESOLVER, ONCE),
  c('resolver.query.driver.refused', RESOLVER, ONCE),
  c('resolver.query.driver.malformed', RESOLVER, ONCE),
  c('resolver.query.server.refused', RESOLVER, ONCE),
  c('resolver.query.server.malformed', RESOLVER, ONCE),
  c('resolver.query.server.not_found', RESOLVER, ONCE),
  c('resolver.query.server.serv_fail', RESOLVER, ONCE),
  g('resolver.memory.cache.capacity', RESOLVER),
  g('resolver.memory.cache.length', RESOLVER),
  g('resolver.memory.doing.capacity', RESOLVER),
  g('resolver.memory.doing.length', RESOLVER),
  c('logger.message.total', LOGGER),
  c('logger.message.pass', LOGGER),
  c('logger.traffic.pass', LOGGER, 'bytes'),
  c('logger.message.drop', [...LOGGER, 'drop_type'], ONCE),
  g('process.event_loop.delay', ['quantile'], 'ms; quantile min|max|mean|0.50|0.80|0.90|0.95|0.99'),
  g('process.event_loop.utilization', [], '0..1 since the last emit'),
  g('process.memory.rss', [], 'bytes'),
  g('process.memory.heap_total', [], 'bytes'),
  g('process.memory.heap_used', [], 'bytes'),
  g('process.memory.external', [], 'bytes'),
  g('process.handles.active', [], 'handles and requests keeping the loop alive'),
];

/** Does `name` (as sent, without the prefix) match one of METRICS (site ids in `user.site.<id>.`)? */
export function isKnownMetric(name: string): boolean {
  const n = name.replace(/^user\.site\.[^.]+\./, 'user.site.<site_id>.');
  return METRICS.some((m) => m.name === n);
}
