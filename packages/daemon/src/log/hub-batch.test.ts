/**
 * Finish records are written in batches (log/hub.ts): within FLUSH_MS by the timer, at once when MAX_WAITING
 * are waiting, and before the drivers close.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HttpForwardTask } from '../task/http-task.js';
import { LogHub, registerLogDriver } from './hub.js';
import type { DriverSpec, LogConfig } from './log-config.js';
import type { LogRecord } from './record.js';

const captured: LogRecord[] = [];
registerLogDriver('capture-batch', () => ({ name: 'capture-batch', record: (r) => void captured.push(r), close: async () => {} }));

const task = (i: number) => {
  const t = new HttpForwardTask('HttpForward', 'srv', 'HttpProxy', `127.0.0.1:${5000 + i}`, '127.0.0.1:8080');
  t.method = 'GET';
  return t;
};

describe('batched finish records', () => {
  it('waits for the timer, flushes at once when 512 wait, and flushes before close', async () => {
    captured.length = 0;
    const spec = { driver: 'capture-batch', channelSize: 64, ioErrorSamplingOffset: 0 } as unknown as DriverSpec;
    const hub = new LogHub({ default: spec } as LogConfig, 'd');
    const logger = hub.forServer('srv');
    logger.logTask(task(0), 1, '');
    assert.equal(captured.length, 0, 'not written synchronously');
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(captured.length, 1, 'written by the timer');

    captured.length = 0;
    for (let i = 0; i < 511; i++) logger.logTask(task(i), 1, '');
    assert.equal(captured.length, 0);
    logger.logTask(task(511), 1, '');
    assert.equal(captured.length, 512, 'the 512th waiting record flushes them all');
    assert.deepEqual(captured.slice(0, 2).map((r) => r.fields.find(([k]) => k === 'client_addr')![1]), ['127.0.0.1:5000', '127.0.0.1:5001'], 'in order');

    captured.length = 0;
    logger.logTask(task(0), 1, 'last words');
    await hub.close();
    assert.equal(captured.length, 1, 'close writes what waits');
    assert.equal(captured[0]!.msg, 'last words');
  });
});
