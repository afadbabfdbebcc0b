/** The process log is a winston logger; sluice's drivers are winston transports (captured output, loopback only). */
import { createSocket } from 'node:dgram';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import winston from 'winston';
import TransportStream from 'winston-transport';
import { ProcessLogger } from './process-log.js';
import { newLoggerStats } from './record.js';
import { StdoutDriver } from './stdout-driver.js';
import { SyslogDriver } from './syslog-driver.js';
import { recordFromInfo } from './transport.js';

async function until(pred: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('process log through winston', () => {
  it('writes each line synchronously through the stdout driver (a winston transport) on its winston logger', () => {
    const lines: string[] = [];
    const plog = new ProcessLogger(1, false, (l) => lines.push(l));
    const [only] = plog.winston.transports;
    assert.ok(only instanceof StdoutDriver && only instanceof TransportStream, 'the stderr transport is the stdout driver');
    plog.warn('disk almost full');
    plog.info('reload done');
    plog.debug('not at -v');
    assert.equal(lines.length, 2, 'written before log() returned, debug filtered by winston level');
    assert.match(lines[0]!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z WARN disk almost full\n$/);
    assert.match(lines[1]!, / INFO reload done\n$/);
    // metadata given to winston becomes fields of the record
    plog.winston.log('info', 'with meta', { server: 'http' });
    assert.match(lines[2]!, / INFO with meta, server: http\n$/);
  });

  it('with -s writes journald priority prefixes', () => {
    const lines: string[] = [];
    const plog = new ProcessLogger(3, true, (l) => lines.push(l));
    plog.error('e');
    plog.info('i');
    plog.log('trace', 't');
    assert.deepEqual(lines, ['<3>e\n', '<6>i\n', '<7>t\n']);
  });

  it('sends process lines to an added sluice driver (syslog over loopback UDP) and to any winston transport', async () => {
    const got: string[] = [];
    const udp = createSocket('udp4');
    udp.on('message', (m) => got.push(m.toString()));
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
    const stats = newLoggerStats();
    const syslog = new SyslogDriver(stats, {
      target: { kind: 'udp', host: '127.0.0.1', port: udp.address().port }, emitHostname: false, appendReportTs: false, ident: 'g3proxy', channelSize: 8,
    });
    const seen: unknown[] = [];
    class Capture extends TransportStream {
      override log(info: unknown, next: () => void): void {
        seen.push(info);
        next();
      }
    }
    const plog = new ProcessLogger(0, false, () => {});
    plog.add(syslog);
    plog.add(new Capture());
    try {
      plog.warn('upstream pool exhausted');
      await until(() => got.length === 1);
      assert.match(got[0]!, /^<28>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d g3proxy\[\d+\]: upstream pool exhausted$/, 'RFC 3164, daemon.warning');
      assert.equal(stats.pass, 1);
      assert.equal((seen[0] as { message: string }).message, 'upstream pool exhausted');
    } finally {
      await syslog.close();
      await new Promise<void>((r) => udp.close(() => r()));
    }
  });

  it('a driver works as the transport of a plain winston logger', async () => {
    const lines: string[] = [];
    const stats = newLoggerStats();
    const drv = new StdoutDriver(stats, 1, { writeLine: (l) => lines.push(l) });
    const logger = winston.createLogger({ level: 'info', transports: [drv] });
    logger.info('hello', { task_id: 'ab', n: 3 });
    logger.debug('dropped by winston level');
    await until(() => lines.length === 1);
    assert.match(lines[0]!, / INFO hello, n: 3, task_id: ab\n$/, 'g3 stdout format, keys sorted');
    assert.equal(stats.total, 1);
  });

  it('maps winston info objects onto log records', () => {
    const r = recordFromInfo({ level: 'warning', message: 'm', log_type: 'Escape', obj: { a: 1 }, ok: true, [Symbol.for('level')]: 'warning' });
    assert.equal(r.level, 'warn');
    assert.equal(r.logType, 'Escape');
    assert.equal(r.msg, 'm');
    assert.deepEqual(r.fields, [['log_type', 'Escape'], ['obj', '{"a":1}'], ['ok', true]]);
    assert.equal(recordFromInfo({ level: 'silly', message: 1 }).level, 'debug');
    assert.equal(recordFromInfo({ level: 'info', message: 'x' }).logType, 'Process');
  });
});
