/**
 * The stdout driver's fast path (a compiled formatter per task class; ASCII lines with µs durations written
 * as latin1 bytes) must produce exactly the bytes the generic path (taskLogFields → record → formatStdoutLine →
 * UTF-8) produces, for every task kind and for values that need escaping or multi-byte UTF-8.
 */
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SluiceError } from '@sluice/common';
import { FtpOverHttpTask } from '../task/ftp-task.js';
import { HttpForwardTask } from '../task/http-task.js';
import { TaskContext } from '../task/task.js';
import { taskLogFields } from '../task/task-log.js';
import { UdpTask } from '../task/udp-task.js';
import { newLoggerStats, type LogValue } from './record.js';
import { FdSink, formatStdoutLine, StdoutDriver } from './stdout-driver.js';

const common = { daemonName: 'grp', pid: 4242 };
/** the line without its time (`Mmm dd hh:mm:ss.mmm`, 19 bytes) */
const stripTime = (line: Buffer) => line.subarray(19);

function generic(t: TaskContext, total: number, msg: string): Buffer {
  const fields: Array<[string, LogValue]> = taskLogFields(t, total);
  fields.unshift(['daemon_name', common.daemonName], ['log_type', 'Task'], ['pid', common.pid]);
  return Buffer.from(formatStdoutLine({ logType: 'Task', level: 'info', ts: Date.now(), fields, msg }), 'utf8');
}

async function fast(t: TaskContext, total: number, msg: string): Promise<{ line: Buffer; passBytes: number }> {
  const chunks: Buffer[] = [];
  const out = new Writable({ write: (c: Buffer, _e, cb) => { chunks.push(c); cb(); } });
  const sink = new FdSink(out);
  const stats = newLoggerStats();
  const d = new StdoutDriver(stats, 1, { sink });
  d.writeTask(t, total, msg, common);
  await sink.drained();
  return { line: Buffer.concat(chunks), passBytes: stats.passBytes };
}

function httpTask(): HttpForwardTask {
  const t = new HttpForwardTask('HttpForward', 'http', 'HttpProxy', '127.0.0.1:5000', '127.0.0.1:3128');
  t.method = 'GET'; t.uri = 'http://example.com/a b'; t.userAgent = 'curl/8.0, x'; t.rspStatus = 200; t.originStatus = 200;
  t.upstream = { host: 'example.com', port: 80, ipFamily: 0 }; t.escaper = 'direct'; t.user = 'alice'; t.waitTime = 0.2;
  t.durRspRecvHdr = 3.5; t.reuseConnection = true; t.cRdBytes = 10; t.rWrBytes = 20_123_456_789;
  return t;
}

describe('stdout fast path', () => {
  const cases: Array<[string, () => TaskContext]> = [
    ['http forward', httpTask],
    ['tcp connect with error', () => {
      const t = new TaskContext('TcpConnect', 'http', 'HttpProxy', '[::1]:5000', '[::1]:3128');
      t.upstream = { host: '::1', port: 443, ipFamily: 6 }; t.error = new SluiceError('UPSTREAM_CONNECT_REFUSED', 'refused\nline');
      t.stage = 'Connecting'; t.tcpConnectTries = 2;
      return t;
    }],
    ['udp associate', () => {
      const t = new UdpTask('UdpAssociate', 'socks', 'SocksProxy', '127.0.0.1:6000', '127.0.0.1:1080');
      t.udpClientAddr = '127.0.0.1:6001'; t.cRdPackets = 3; t.reason = 'ClosedByClient';
      return t;
    }],
    ['ftp over http', () => {
      const t = new FtpOverHttpTask('FtpOverHttp', 'http', 'HttpProxy', '127.0.0.1:5000', '127.0.0.1:3128');
      t.method = 'GET'; t.uri = 'ftp://h/p'; t.rspStatus = 200; t.ftpC.peerAddr = '127.0.0.1:21'; t.ftpC.connectTries = 1; t.ftpDRdBytes = 99;
      return t;
    }],
    ['µs durations only (the latin1 path)', () => {
      const t = httpTask();
      t.durReqSendHdr = 0.000_5; t.durReqSendAll = 0.25; t.pipelineWait = 999.999_6; t.tcpConnectSpend = 1_500;
      return t;
    }],
    ['a non-ASCII server and escaper name with µs durations', () => {
      const t = new HttpForwardTask('HttpForward', 'pr\u00f8xy', 'HttpProxy', '127.0.0.1:5000', '127.0.0.1:3128');
      t.escaper = '\u76f4\u8fde'; t.waitTime = 0.05; t.method = 'GET'; t.uri = 'http://h/';
      return t;
    }],
    ['non-ASCII, CR/LF, surrogates', () => {
      const t = httpTask();
      t.uri = 'http://example.com/caf\u00e9/\u4e2d\u6587?q=\r\nx'; // Latin-1, CJK, CR LF
      t.userAgent = 'emoji \u{1F600} lone \ud800 end'; // a surrogate pair and a lone surrogate
      t.user = 'm\u00fcller';
      return t;
    }],
  ];
  for (const [name, make] of cases) {
    it(`writes the same bytes for ${name}`, async () => {
      const t = make();
      const msg = t.error ? `${t.error.code}: ${t.error.message}` : '';
      const got = await fast(t, 12.5, msg);
      const want = generic(t, 12.5, msg);
      assert.equal(stripTime(got.line).toString('utf8'), stripTime(want).toString('utf8'));
      assert.deepEqual(stripTime(got.line), stripTime(want), 'byte for byte');
      assert.equal(got.passBytes, want.length, 'logger.traffic.pass counts bytes');
    });
  }
  it('an error message with non-ASCII text takes the UTF-8 path, with the same bytes', async () => {
    const t = httpTask();
    t.error = new SluiceError('UPSTREAM_CONNECT_REFUSED', 'caf\u00e9 refus\u00e9');
    const msg = `${t.error.code}: ${t.error.message}`;
    assert.deepEqual(stripTime((await fast(t, 0.3, msg)).line), stripTime(generic(t, 0.3, msg)));
  });

  it('formats a line too long for the batch room as a string, with the same bytes', async () => {
    const t = httpTask();
    t.uri = `http://example.com/${'a'.repeat(20_000)}`;
    const got = await fast(t, 1, '');
    assert.deepEqual(stripTime(got.line), stripTime(generic(t, 1, '')));
  });
});
