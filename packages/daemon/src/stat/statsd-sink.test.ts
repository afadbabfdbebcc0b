/** The StatsD sink under hot-shots: bind_ip as the source address, cache_size as the bytes held before a send. */
import { createSocket } from 'node:dgram';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Logger } from '../log/hub.js';
import type { LiveObject } from '../runtime/object-def.js';
import { StatsEmitter } from './emitter.js';
import { ServerStats } from './server-stats.js';
import { parseStatConfig } from './stat-config.js';
import { StatsdSink } from './statsd-sink.js';

async function collector() {
  const got: Array<{ msg: Buffer; from: string }> = [];
  const s = createSocket('udp4');
  s.on('message', (msg, rinfo) => got.push({ msg, from: rinfo.address }));
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  return { got, port: s.address().port, close: () => new Promise<void>((r) => s.close(() => r())) };
}

async function until(pred: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const write = (s: StatsdSink, text: string) => new Promise<void>((r) => s.write(text, () => r()));

describe('StatsD sink', () => {
  it('sends from bind_ip (stat: target_udp: {address, bind_ip}) through the emitter', async () => {
    const col = await collector();
    const server = { name: 'http', online: true, stats: new ServerStats(), config: { raw: null }, listening: () => [] };
    const source = { objects: (role: string) => (role === 'server' ? [server] : []) as unknown as LiveObject[], logs: { loggers: () => [] as Logger[] } };
    // all of 127.0.0.0/8 is local on Linux: a second loopback address shows the bind took effect
    const cfg = parseStatConfig({ target_udp: { address: `127.0.0.1:${col.port}`, bind_ip: '127.0.0.2' } })!;
    const em = new StatsEmitter(cfg, source, 'grp');
    try {
      server.stats.taskTotal = 1;
      em.emitOnce();
      await until(() => col.got.length > 0);
      assert.ok(col.got.every((g) => g.from === '127.0.0.2'), `sent from ${col.got.map((g) => g.from).join(',')}`);
      assert.match(col.got.map((g) => g.msg.toString()).join(''), /^g3proxy\.server\.task\.total:1\|c\|#daemon_group:grp,server:http/m);
    } finally {
      await em.stop();
      await col.close();
    }
  });

  it('holds up to cache_size bytes and sends early when the next batch would not fit', async () => {
    const col = await collector();
    const sink = new StatsdSink({ kind: 'udp', host: '127.0.0.1', port: col.port }, 100);
    try {
      await write(sink, `a:1|c\n${'x'.repeat(40)}:1|c\n`); // 51 bytes
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(col.got.length, 0, 'under cache_size: nothing sent before flush()');
      assert.equal(sink.cached, 51);
      await write(sink, `b:${'y'.repeat(50)}|c\n`); // 55 more: over 100, so the first batch goes now
      await until(() => col.got.length === 1);
      assert.equal(col.got[0]!.msg.toString().slice(0, 6), 'a:1|c\n');
      assert.equal(sink.cached, 55);
      sink.flush();
      await until(() => col.got.length === 2);
      assert.deepEqual(sink.counters, { sent: 2, failed: 0 });
    } finally {
      sink.destroy();
      await col.close();
    }
  });

  it('counts and reports sends that fail', async () => {
    const errors: Error[] = [];
    const dead = new StatsdSink({ kind: 'unix', path: '/nonexistent/statsd.sock' }, 64, (e) => errors.push(e));
    try {
      await write(dead, 'a:1|c\n');
      dead.flush();
      await until(() => dead.counters.failed === 1);
      assert.equal(errors.length, 1);
    } finally {
      dead.destroy();
    }
  });
});
