/** The emitter against a fake live generation and a loopback UDP collector: deltas, gauges, tags, lifecycle. */
import { createSocket } from 'node:dgram';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { newEscaperStats } from '../escape/types.js';
import type { Logger } from '../log/hub.js';
import type { LiveObject, RoleName } from '../runtime/object-def.js';
import { StatsEmitter, type StatSource } from './emitter.js';
import { ResolverQueryStats, RouteStats } from './extra-stats.js';
import { isKnownMetric } from './metric-names.js';
import { ServerStats } from './server-stats.js';
import { parseStatConfig } from './stat-config.js';
import { UserStats, type UserStatsEntry } from './user-stats.js';

interface Line { name: string; value: number; type: string; tags: string[] }

function parse(buf: Buffer[]): Line[] {
  const out: Line[] = [];
  for (const b of buf) {
    for (const l of b.toString().split('\n')) {
      if (!l) continue;
      const m = /^([^:]+):([^|]+)\|(\w+)\|#(.*)$/.exec(l)!;
      out.push({ name: m[1]!, value: Number(m[2]), type: m[3]!, tags: m[4]!.split(',') });
    }
  }
  return out;
}

async function collector() {
  const got: Buffer[] = [];
  const s = createSocket('udp4');
  s.on('message', (m) => got.push(m));
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  return { got, port: s.address().port, close: () => new Promise<void>((r) => s.close(() => r())) };
}

async function settle(got: Buffer[], n: number): Promise<void> {
  const end = Date.now() + 3000;
  while (got.length < n && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 30));
}

describe('stat config', () => {
  it('parses g3 keys and defaults', () => {
    assert.equal(parseStatConfig(undefined), null);
    const d = parseStatConfig({})!;
    assert.deepEqual(d.target, { kind: 'udp', host: '127.0.0.1', port: 8125 });
    assert.equal(d.prefix, 'g3proxy');
    assert.equal(d.emitIntervalMs, 200);
    assert.equal(d.cacheSize, 256 * 1024);
    const c = parseStatConfig({ target: { unix: { path: '/run/statsd.sock' } }, prefix: 'p', emit_duration: '1s', max_segment_size: '2KiB' })!;
    assert.deepEqual(c.target, { kind: 'unix', path: '/run/statsd.sock' });
    assert.equal(c.emitIntervalMs, 1000);
    assert.equal(c.maxSegmentSize, 2048);
    assert.throws(() => parseStatConfig({ nope: 1 }), /stat\/nope: invalid key/);
  });
});

describe('StatsEmitter', () => {
  it('emits deltas, gauges, once-non-zero counters, user and route metrics, and a last round for removed objects', async () => {
    const col = await collector();
    const server = { name: 'http', online: true, stats: new ServerStats(), config: { name: 'http', type: 'http_proxy', raw: null, baseDir: '' }, listening: () => [{ address: '127.0.0.1', port: 1 }] };
    const escaper = { name: 'route', stats: newEscaperStats(), routeStats: new RouteStats(), config: { name: 'route', type: 'route_failover', raw: { extra_metrics_tags: { dc: 'x' } }, baseDir: '' } };
    const q = { A: new ResolverQueryStats(), AAAA: new ResolverQueryStats() };
    const resolver = { name: 'dns', stats: { queryTotal: 0, queryCached: 0, queryFailed: 0 }, queryStats: q, config: { name: 'dns', type: 'c-ares', raw: null, baseDir: '' } };
    const us = new UserStats();
    const entry: UserStatsEntry = { userGroup: 'g', user: 'alice', userType: 'Static', server: 'http', escaper: 'route', request: 'http_forward', connection: 'http', stats: us };
    const group = { name: 'g', forEachUserStats: (cb: (e: UserStatsEntry) => void) => cb(entry), config: { name: 'g', type: 'basic', raw: null, baseDir: '' } };
    let servers: unknown[] = [server];
    const source: StatSource = {
      objects: (role: RoleName) => (role === 'server' ? servers : role === 'escaper' ? [escaper] : role === 'resolver' ? [resolver] : role === 'user_group' ? [group] : []) as LiveObject[],
      logs: { loggers: () => [] as Logger[] },
    };
    const em = new StatsEmitter(parseStatConfig({ target_udp: `127.0.0.1:${col.port}`, prefix: 't' })!, source, 'grp');
    try {
      server.stats.taskTotal = 5;
      server.stats.taskAlive = 2;
      escaper.stats.taskTotal = 4;
      escaper.routeStats.requestPassed = 4;
      q.A.total = 3;
      q.A.cacheLength = 7;
      us.requestTotal = 2;
      us.upstreamOutBytes = 10;
      em.emitOnce();
      await settle(col.got, 1);
      let lines = parse(col.got);
      const one = (name: string, tag?: string) => lines.filter((l) => l.name === name && (!tag || l.tags.includes(tag)));
      assert.ok(lines.every((l) => isKnownMetric(l.name.slice(2)) && l.tags[0] === 'daemon_group:grp'), 'known names, daemon_group first');
      assert.equal(one('t.server.task.total')[0]!.value, 5);
      assert.equal(one('t.server.task.alive')[0]!.type, 'g');
      assert.equal(one('t.server.forbidden.dest_denied').length, 0, 'zero forbidden counters are not sent yet');
      assert.equal(one('t.server.traffic.in.bytes').length, 0, 'no traffic yet');
      assert.equal(one('t.listen.instance.count')[0]!.value, 1);
      const esc = one('t.escaper.task.total')[0]!;
      assert.deepEqual(esc.tags.slice(1, 2), ['escaper:route']);
      assert.equal(esc.tags[3], 'dc:x');
      assert.equal(one('t.route.request.passed')[0]!.value, 4);
      const rq = one('t.resolver.query.total')[0]!;
      assert.deepEqual([rq.tags[1], rq.tags.at(-1)], ['resolver:dns', 'rr_type:A']);
      assert.equal(one('t.resolver.query.total', 'rr_type:AAAA').length, 0, 'no AAAA queries yet');
      assert.equal(one('t.resolver.memory.cache.length', 'rr_type:A')[0]!.value, 7);
      const ureq = one('t.user.request.total')[0]!;
      assert.deepEqual(ureq.tags.slice(1, 4), ['user_group:g', 'user:alice', 'user_type:Static']);
      assert.deepEqual(ureq.tags.slice(5), ['server:http', 'request:http_forward']);
      const uup = one('t.user.upstream.traffic.out.bytes')[0]!;
      assert.deepEqual(uup.tags.slice(5), ['escaper:route', 'transport:tcp']);
      assert.equal(uup.value, 10);
      assert.ok(one('t.process.memory.heap_used').length === 1);

      // second round: deltas only; a forbidden counter appears once non-zero
      col.got.length = 0;
      server.stats.taskTotal = 8;
      server.stats.forbiddenDestDenied = 1;
      server.stats.inBytes = 100;
      em.emitOnce();
      await settle(col.got, 1);
      lines = parse(col.got);
      assert.equal(one('t.server.task.total')[0]!.value, 3);
      assert.equal(one('t.server.forbidden.dest_denied')[0]!.value, 1);
      assert.equal(one('t.server.traffic.in.bytes')[0]!.value, 100);
      assert.equal(one('t.escaper.task.total')[0]!.value, 0);

      // the server leaves the generation after one more task: a last round carries it, then it is gone
      col.got.length = 0;
      server.stats.taskTotal = 9;
      servers = [];
      em.emitOnce();
      await settle(col.got, 1);
      lines = parse(col.got);
      assert.equal(one('t.server.task.total')[0]!.value, 1);
      col.got.length = 0;
      em.emitOnce();
      await settle(col.got, 1);
      lines = parse(col.got);
      assert.equal(one('t.server.task.total').length, 0);
    } finally {
      await em.stop();
      await col.close();
    }
  });
});
