/** The `log:` options around the drivers: io_error_sampling_offset, fluentd's flush_interval, async_thread_number. */
import { createServer, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FluentdDriver } from './fluentd-driver.js';
import { LogHub } from './hub.js';
import { parseFluentdOptions, parseLogConfig } from './log-config.js';
import { decodeMsgpack } from './msgpack.js';
import { newLoggerStats, type LogRecord } from './record.js';

async function until(pred: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const rec = (id: string): LogRecord => ({ logType: 'Escape', level: 'info', ts: Date.now(), fields: [['task_id', id]], msg: '' });

describe('io_error_sampling_offset', () => {
  it('reports the first I/O error of a logger, then one in every 2^n', async () => {
    const warnings: string[] = [];
    // a syslog socket path nobody listens on: every send fails
    const cfg = parseLogConfig({ escape: { syslog: { target_unix: '/nonexistent/sluice-test-log' }, io_error_sampling_offset: 2 } });
    const hub = new LogHub(cfg, 'grp', (m) => warnings.push(m));
    const logger = hub.forEscaper('direct');
    try {
      for (let i = 0; i < 9; i++) logger.log('Escape', [['task_id', String(i)]]);
      await until(() => logger.stats.dropPeerUnreachable === 9);
      assert.equal(warnings.length, 3, `errors 1, 5 and 9 reported: ${warnings.join(' | ')}`);
      assert.match(warnings[0]!, /^logger le-direct: I\/O error #1 \(1 in 4 reported\): /);
      assert.match(warnings[2]!, /I\/O error #9 /);
    } finally {
      await hub.close();
    }
  });

  it('with 0 reports every error; the journal driver reports none (as g3)', async () => {
    const warnings: string[] = [];
    const hub = new LogHub(parseLogConfig({
      escape: { syslog: { target_unix: '/nonexistent/sluice-test-log' }, io_error_sampling_offset: 0 },
      resolve: { journal: { path: '/nonexistent/sluice-test-journal' } },
    }), 'grp', (m) => warnings.push(m));
    const esc = hub.forEscaper('e');
    const res = hub.forResolver('r');
    try {
      for (let i = 0; i < 3; i++) {
        esc.log('Escape', [['i', i]]);
        res.log('Resolve', [['i', i]]);
      }
      await until(() => esc.stats.dropPeerUnreachable === 3 && res.stats.dropPeerUnreachable === 3);
      assert.equal(warnings.length, 3);
      assert.ok(warnings.every((w) => w.startsWith('logger le-e: ')));
    } finally {
      await hub.close();
    }
  });
});

describe('fluentd flush_interval', () => {
  it('gathers entries for flush_interval and writes them as one chunk', async () => {
    const chunks: Array<{ at: number; entries: number }> = [];
    let peer: Socket | undefined;
    const server = createServer((s) => {
      peer = s;
      s.on('data', (d: Buffer) => {
        let n = 0;
        for (let off = 0; off < d.length; n++) off = decodeMsgpack(d, off)[1];
        chunks.push({ at: Date.now(), entries: n });
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    const stats = newLoggerStats();
    const drv = new FluentdDriver(stats, { ...parseFluentdOptions({ address: `127.0.0.1:${port}`, flush_interval: '300ms' }, 16, '/'), tcpKeepalive: { enabled: false, idleTimeMs: 0 } });
    try {
      drv.record(rec('first')); // connects, and sends what it holds at once on connecting
      await until(() => chunks.length === 1);
      const t0 = Date.now();
      drv.record(rec('second'));
      drv.record(rec('third'));
      drv.record(rec('fourth'));
      await new Promise((r) => setTimeout(r, 150));
      assert.equal(chunks.length, 1, 'nothing written before flush_interval');
      await until(() => chunks.length === 2);
      assert.ok(chunks[1]!.at - t0 >= 250, `flushed after ${chunks[1]!.at - t0} ms`);
      assert.equal(chunks[1]!.entries, 3, 'three entries in one write');
      assert.equal(stats.pass, 4);
    } finally {
      await drv.close();
      peer?.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});

describe('async_thread_number', () => {
  it('is accepted and changes nothing (one event loop: there are no logger threads to size)', () => {
    const base = parseLogConfig({ default: { syslog: { target_udp: '127.0.0.1:514' }, async_channel_size: 64 } });
    const withThreads = parseLogConfig({ default: { syslog: { target_udp: '127.0.0.1:514' }, async_channel_size: 64, async_thread_number: 4 } });
    assert.deepEqual(withThreads, base);
    assert.throws(() => parseLogConfig({ default: { syslog: {}, async_thread_number: -1 } }), /async_thread_number/);
  });
});
