/**
 * The stdout driver's fast path (formatting straight from the task) must print exactly what the generic path
 * (taskLogFields → record → formatStdoutLine) prints, for every task kind.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SluiceError } from '@sluice/common';
import { FtpOverHttpTask } from '../task/ftp-task.js';
import { HttpForwardTask } from '../task/http-task.js';
import { TaskContext } from '../task/task.js';
import { taskLogFields } from '../task/task-log.js';
import { UdpTask } from '../task/udp-task.js';
import { formatStdoutLine, StdoutDriver } from './stdout-driver.js';
import type { LogValue } from './record.js';

const common = { daemonName: 'grp', pid: 4242 };
const stripTime = (line: string) => line.slice(line.indexOf(' ', 16));

function generic(t: TaskContext, total: number, msg: string): string {
  const fields: Array<[string, LogValue]> = taskLogFields(t, total);
  fields.unshift(['daemon_name', common.daemonName], ['log_type', 'Task'], ['pid', common.pid]);
  return formatStdoutLine({ logType: 'Task', level: 'info', ts: Date.now(), fields, msg });
}

function fast(t: TaskContext, total: number, msg: string): string {
  const stats = { total: 0, pass: 0, drop: 0, passBytes: 0 } as never;
  const d = new StdoutDriver(stats, 1);
  let captured = '';
  (d as unknown as { sink: { full: boolean; push(l: string): number } }).sink = { full: false, push: (l: string) => (captured = l).length };
  d.writeTask(t, total, msg, common);
  return captured;
}

describe('stdout fast path', () => {
  const cases: Array<[string, () => TaskContext]> = [
    ['http forward', () => {
      const t = new HttpForwardTask('HttpForward', 'http', 'HttpProxy', '127.0.0.1:5000', '127.0.0.1:3128');
      t.method = 'GET'; t.uri = 'http://example.com/a b'; t.userAgent = 'curl/8.0, x'; t.rspStatus = 200; t.originStatus = 200;
      t.upstream = { host: 'example.com', port: 80, ipFamily: 0 }; t.escaper = 'direct'; t.user = 'alice'; t.waitTime = 0.2;
      t.durRspRecvHdr = 3.5; t.reuseConnection = true; t.cRdBytes = 10; t.rWrBytes = 20;
      return t;
    }],
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
  ];
  for (const [name, make] of cases) {
    it(`prints the same line for ${name}`, () => {
      const t = make();
      const msg = t.error ? `${t.error.code}: ${t.error.message}` : '';
      assert.equal(stripTime(fast(t, 12.5, msg)), stripTime(generic(t, 12.5, msg)));
    });
  }
});
