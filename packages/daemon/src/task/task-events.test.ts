import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { flushFinishedTasks, Logger, registerLogDriver } from '../log/hub.js';
import type { DriverSpec } from '../log/log-config.js';
import type { LogRecord } from '../log/record.js';
import { FtpOverHttpTask } from './ftp-task.js';
import { HttpForwardTask } from './http-task.js';
import { parseTaskLogEvents, TASK_LOG_EVENTS_OFF, TaskEvents } from './task-events.js';
import { finishTask, taskLogFields } from './task-log.js';
import { TaskContext } from './task.js';
import { UdpTask } from './udp-task.js';

const captured: LogRecord[] = [];
registerLogDriver('capture-events', () => ({ name: 'capture-events', record: (r) => void captured.push(r), close: async () => {} }));
const spec = { driver: 'capture-events', channelSize: 64, ioErrorSamplingOffset: 0 } as unknown as DriverSpec;
const logger = new Logger('task', 'lt-test', spec, { daemonName: 'd', pid: 1 });

const ctx = { baseDir: '/', fail: (p: string[], m: string): never => { throw new Error(`${p.join('.')}: ${m}`); } } as never;
const keysOf = (r: LogRecord) => r.fields.map(([k]) => k).filter((k) => !['daemon_name', 'log_type', 'pid'].includes(k));

function tcpTask(events: TaskEvents): TaskContext {
  const t = new TaskContext('TcpConnect', 'srv', 'HttpProxy', '127.0.0.1:5000', '127.0.0.1:8080');
  t.events = events;
  t.upstream = { host: 'example.net', port: 443, ipFamily: 0 };
  return t;
}

describe('parseTaskLogEvents', () => {
  it('defaults to off (one shared frozen value) and reads the three keys', () => {
    assert.equal(parseTaskLogEvents({}, ctx), TASK_LOG_EVENTS_OFF);
    assert.deepEqual(parseTaskLogEvents({ flush_task_log_on_created: true, task_log_flush_interval: '2s' }, ctx),
      { onCreated: true, onConnected: false, flushIntervalMs: 2000 });
    assert.equal(parseTaskLogEvents({ task_log_flush_interval: 0 }, ctx), TASK_LOG_EVENTS_OFF);
    assert.throws(() => parseTaskLogEvents({ task_log_flush_interval: 'soon' }, ctx), /task_log_flush_interval/);
  });
});

describe('TaskEvents', () => {
  it('with the keys off: no Created/Connected/Periodic and no task kept; a half-close is still logged, as g3', () => {
    captured.length = 0;
    const ev = new TaskEvents(() => logger);
    ev.configure(undefined);
    const t = tcpTask(ev);
    t.markWait();
    t.markReady();
    assert.equal(ev.relayingCount, 0);
    ev.shutdown(t, 'ClientShutdown');
    finishTask(t, logger);
    flushFinishedTasks(); // finish records are written at the end of the turn
    const events = captured.map((r) => r.fields.find(([k]) => k === 'task_event')![1]);
    assert.deepEqual(events, ['ClientShutdown', 'Finished']);
    ev.stop();
  });

  it('a task its user\'s log_rate_limit skipped writes only its half-close record, as g3', async () => {
    captured.length = 0;
    const ev = new TaskEvents(() => logger);
    ev.configure({ onCreated: true, onConnected: true, flushIntervalMs: 10 });
    const t = tcpTask(ev);
    t.skipLog = true;
    t.markWait();
    t.markReady();
    await new Promise((r) => setTimeout(r, 40));
    ev.shutdown(t, 'ClientShutdown');
    finishTask(t, logger);
    flushFinishedTasks(); // finish records are written at the end of the turn
    ev.finished(t);
    assert.deepEqual(captured.map((r) => r.fields.find(([k]) => k === 'task_event')![1]), ['ClientShutdown']);
    ev.stop();
  });

  it('TcpConnect: Created, Connected, shutdown and Periodic records with g3\'s keys, then Finished', async () => {
    captured.length = 0;
    const ev = new TaskEvents(() => logger);
    ev.configure({ onCreated: true, onConnected: true, flushIntervalMs: 20 });
    const t = tcpTask(ev);
    t.escaper = 'direct';
    t.tcpConnectTries = 1;
    t.nextPeerAddr = '192.0.2.1:443';
    t.stage = 'Connecting';
    t.markWait();
    t.stage = 'Relaying';
    t.markReady();
    t.markReady(); // a second call logs nothing more
    assert.equal(ev.relayingCount, 1);
    t.cRdBytes = 10;
    await new Promise((r) => setTimeout(r, 70));
    const periodic = captured.filter((r) => r.fields.some(([k, v]) => k === 'task_event' && v === 'Periodic'));
    assert.ok(periodic.length >= 2, `${periodic.length} periodic records`);
    ev.shutdown(t, 'UpstreamShutdown');
    t.reason = 'ClosedByUpstream';
    finishTask(t, logger);
    flushFinishedTasks(); // finish records are written at the end of the turn
    assert.equal(ev.relayingCount, 0);
    const n = captured.length;
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(captured.length, n, 'no Periodic record after the finish');
    ev.stop();

    const [created, connected] = captured;
    assert.deepEqual(keysOf(created!).filter((k) => k !== 'wait_time'), ['server_type', 'server_name', 'task_type', 'task_id', 'task_event',
      'stage', 'start_at', 'server_addr', 'client_addr', 'upstream']);
    assert.equal(created!.fields.find(([k]) => k === 'stage')![1], 'Created');
    assert.equal(connected!.fields.find(([k]) => k === 'stage')![1], 'Connected');
    assert.deepEqual(keysOf(connected!).filter((k) => !k.endsWith('_time')), ['server_type', 'server_name', 'task_type', 'task_id',
      'task_event', 'stage', 'start_at', 'server_addr', 'client_addr', 'upstream', 'escaper', 'next_peer_addr', 'tcp_connect_tries']);
    assert.ok(keysOf(periodic[0]!).includes('c_rd_bytes') && keysOf(periodic[0]!).includes('total_time'));
    assert.equal(periodic[0]!.fields.find(([k]) => k === 'c_rd_bytes')![1], 10);
    const shut = captured.find((r) => r.fields.some(([k, v]) => k === 'task_event' && v === 'UpstreamShutdown'))!;
    assert.ok(!keysOf(shut).includes('tcp_connect_tries') && !keysOf(shut).includes('reason'));
    const ids = new Set(captured.map((r) => r.fields.find(([k]) => k === 'task_id')![1]));
    assert.equal(ids.size, 1);
  });

  it('has the key lists of HttpForward, FtpOverHttp, UdpAssociate and UdpConnect', () => {
    captured.length = 0;
    const ev = new TaskEvents(() => logger);
    ev.configure({ onCreated: true, onConnected: true, flushIntervalMs: undefined });
    const h = new HttpForwardTask('HttpForward', 's', 'HttpProxy', 'c:1', 's:2');
    h.events = ev;
    h.method = 'GET';
    h.uri = 'http://x/';
    h.markWait();
    h.markReady();
    const [hc, hn] = captured;
    assert.ok(keysOf(hc!).includes('method') && !keysOf(hc!).includes('escaper'));
    assert.ok(keysOf(hn!).includes('reuse_connection') && !keysOf(hn!).includes('rsp_status'));
    const f = new FtpOverHttpTask('FtpOverHttp', 's', 'HttpProxy', 'c:1', 's:2');
    f.events = ev;
    f.markReady();
    const fc = keysOf(captured.at(-1)!);
    assert.ok(fc.includes('ftp_c_rd_bytes') && fc.includes('ftp_c_connect_tries') === false && !fc.includes('c_rd_bytes') && !fc.includes('ftp_d_rd_bytes'));
    const ua = new UdpTask('UdpAssociate', 's', 'SocksProxy', 'c:1', 's:2');
    ua.events = ev;
    ua.markWait();
    assert.deepEqual(keysOf(captured.at(-1)!).slice(-3), ['tcp_server_addr', 'tcp_client_addr', 'wait_time']);
    ua.markReady();
    const uac = keysOf(captured.at(-1)!);
    assert.deepEqual(uac.slice(-2), ['c_rd_bytes', 'c_rd_packets']);
    assert.ok(!uac.includes('c_wr_bytes') && !uac.includes('next_bind_ip'));
    ev.stop();
  });

  it('keeps the finish record unchanged: task_event Finished in the generic record', () => {
    const t = new TaskContext('TcpConnect', 's', 'HttpProxy', 'c:1', 's:2');
    assert.deepEqual(taskLogFields(t, 1).find(([k]) => k === 'task_event'), ['task_event', 'Finished']);
  });
});
