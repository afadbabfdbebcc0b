/**
 * StatsD end to end: the real daemon with `stat:` pointed at a UDP and at a Unix datagram listener owned by the
 * test; known traffic through an http_proxy; the metric names, the DogStatsD tags in g3's order and the sums
 * of the counter deltas are checked against what was sent.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isKnownMetric } from '@sluice/daemon';
import { baseConfig, curl, startDaemon, startOrigin, type DaemonHandle, type Origin } from '@sluice/testkit';
import { parseStatsd, sumCounter, udpCapture, unixCapture, type DatagramCapture } from './capture.js';

const yaml = (stat: string) => `
${baseConfig()}stat:
${stat}
server:
  - name: http
    type: http_proxy
    listen: 127.0.0.1:0
    escaper: direct
    extra_metrics_tags: {site: lab}
`;

describe('statsd over UDP', () => {
  let cap: DatagramCapture;
  let d: DaemonHandle;
  let origin: Origin;
  before(async () => {
    origin = await startOrigin();
    cap = await udpCapture();
    d = await startDaemon({ group: 'obs', files: { 'main.yaml': yaml(`  target_udp: 127.0.0.1:${cap.port}\n  emit_interval: 100ms`) } });
  });
  after(async () => {
    await d?.stop();
    await cap?.close();
    await origin?.close();
  });

  it('sends g3 names, tags in g3 order and deltas that add up to the traffic', async () => {
    const port = await d.port('http');
    for (let i = 0; i < 2; i++) {
      const r = await curl(['-x', `http://127.0.0.1:${port}`, `${origin.url}/hello`]);
      assert.equal(r.status, 200);
    }
    // a request body of known size: server.traffic.in.bytes must count at least it
    const post = await curl(['-x', `http://127.0.0.1:${port}`, '--data-binary', 'x'.repeat(1000), `${origin.url}/echo`]);
    assert.equal(post.status, 200);
    const done = (all: Buffer[]) => sumCounter(parseStatsd(all), 'g3proxy.server.task.total', ['server:http']) >= 3
      && sumCounter(parseStatsd(all), 'g3proxy.logger.message.total') >= 3;
    await cap.waitFor(done, 8000);
    // two more rounds: later deltas must be 0, not repeats of the totals
    const seen = cap.datagrams.length;
    await cap.waitFor((all) => all.length > seen + 2, 3000);
    const lines = parseStatsd(cap.datagrams);

    for (const l of lines) {
      assert.ok(l.name.startsWith('g3proxy.'), l.name);
      assert.ok(isKnownMetric(l.name.slice('g3proxy.'.length)), `unknown metric ${l.name}`);
      assert.equal(l.tags[0], 'daemon_group:obs', `${l.name}: daemon_group first`);
    }
    const task = lines.find((l) => l.name === 'g3proxy.server.task.total')!;
    assert.equal(task.type, 'c');
    assert.deepEqual(task.tags.slice(0, 3), ['daemon_group:obs', 'server:http', 'online:y']);
    assert.match(task.tags[3]!, /^stat_id:\d+$/);
    assert.equal(task.tags[4], 'site:lab', 'extra_metrics_tags after the object tags');

    assert.equal(sumCounter(lines, 'g3proxy.server.task.total', ['server:http']), 3);
    assert.equal(sumCounter(lines, 'g3proxy.server.connection.total', ['server:http']), 3);
    assert.equal(sumCounter(lines, 'g3proxy.listen.accepted', ['server:http']), 3);
    assert.equal(sumCounter(lines, 'g3proxy.escaper.task.total', ['escaper:direct']), 3);
    assert.equal(sumCounter(lines, 'g3proxy.logger.message.total', ['logger:lt-http']), 3);
    assert.equal(sumCounter(lines, 'g3proxy.logger.message.pass', ['logger:lt-http']), 3);
    const inBytes = lines.filter((l) => l.name === 'g3proxy.server.traffic.in.bytes');
    assert.ok(inBytes.length > 0);
    assert.ok(inBytes.every((l) => l.tags.at(-1) === 'transport:tcp'), 'transport is the last, per-metric tag');
    assert.ok(sumCounter(lines, 'g3proxy.server.traffic.in.bytes', ['server:http']) >= 1000, 'the POST body was read');
    assert.ok(sumCounter(lines, 'g3proxy.server.traffic.out.bytes', ['server:http']) >= 1000, 'the echo was written');
    // gauges: absolute values; no task left alive
    const alive = lines.filter((l) => l.name === 'g3proxy.server.task.alive');
    assert.equal(alive.at(-1)!.type, 'g');
    assert.equal(alive.at(-1)!.value, 0);
    // the last round of counters carries zero deltas
    const lastTask = lines.filter((l) => l.name === 'g3proxy.server.task.total').at(-1)!;
    assert.equal(lastTask.value, 0);
    // sluice's own process metrics
    const delay = lines.filter((l) => l.name === 'g3proxy.process.event_loop.delay');
    assert.ok(delay.some((l) => l.tags.includes('quantile:0.99')));
    assert.ok(lines.some((l) => l.name === 'g3proxy.process.memory.heap_used' && l.value > 0));
    assert.ok(lines.some((l) => l.name === 'g3proxy.process.handles.active' && l.value > 0));
    // datagrams stay within max_segment_size (1400 for UDP)
    assert.ok(cap.datagrams.every((b) => b.length <= 1400));
  });
});

describe('statsd over a Unix socket', () => {
  let cap: DatagramCapture;
  let d: DaemonHandle;
  let origin: Origin;
  before(async () => {
    origin = await startOrigin();
    cap = unixCapture('statsd.sock');
    d = await startDaemon({ files: { 'main.yaml': yaml(`  target_unix: ${cap.path}\n  prefix: edge.proxy\n  emit_duration: 50ms`) } });
  });
  after(async () => {
    await d?.stop();
    await cap?.close();
    await origin?.close();
  });

  it('uses the prefix, an empty daemon_group and the same deltas', async () => {
    const port = await d.port('http');
    for (let i = 0; i < 2; i++) assert.equal((await curl(['-x', `http://127.0.0.1:${port}`, `${origin.url}/hello`])).status, 200);
    await cap.waitFor((all) => sumCounter(parseStatsd(all), 'edge.proxy.server.task.total') >= 2, 8000);
    const lines = parseStatsd(cap.datagrams);
    assert.ok(lines.every((l) => l.name.startsWith('edge.proxy.') && l.tags[0] === 'daemon_group:'));
    assert.equal(sumCounter(lines, 'edge.proxy.escaper.task.total', ['escaper:direct']), 2);
    assert.ok(cap.datagrams.every((b) => b.length <= 4096));
  });
});
