/**
 * Malformed and refused SOCKS handshakes against the real daemon: each case checks the exact bytes answered
 * (an RFC 1928 / SOCKS4 reply, or none), that the connection is closed, the task log reason, and that the
 * daemon still serves a good CONNECT afterwards.
 */
import { connect, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { scenarioDir, startDaemon, startEchoServer, type DaemonHandle } from '@sluice/testkit';

const here = scenarioDir(import.meta.url);
const B = (...b: number[]) => Buffer.from(b);

/** Send `parts` (with a pause between them), collect everything answered until the server closes (bounded). */
function exchange(port: number, parts: Buffer[], opts: { halfClose?: boolean; timeoutMs?: number } = {}): Promise<{ data: Buffer; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const s: Socket = connect(port, '127.0.0.1');
    const got: Buffer[] = [];
    const t = setTimeout(() => {
      s.destroy();
      resolve({ data: Buffer.concat(got), closed: false });
    }, opts.timeoutMs ?? 3000);
    s.on('data', (d) => got.push(d));
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(t);
      resolve({ data: Buffer.concat(got), closed: true });
    });
    s.on('connect', async () => {
      try {
        for (const p of parts) {
          s.write(p);
          await new Promise((r) => setTimeout(r, 20));
        }
        if (opts.halfClose) s.end();
      } catch (e) {
        reject(e);
      }
    });
  });
}

const GREET = B(5, 1, 0);
const SELECTED = B(5, 0);

describe('socks_proxy hostile handshakes', () => {
  let d: DaemonHandle;
  let echo: Awaited<ReturnType<typeof startEchoServer>>;
  let port: number;
  let denyPort: number;
  let seen = 0;

  /** The next task log record written after the previous call (each case makes exactly one). */
  async function nextTask(): Promise<Record<string, string | undefined>> {
    const want = seen + 1;
    await d.waitForLog(() => d.taskLogs().length >= want);
    seen = want;
    return d.taskLogs()[want - 1]!.fields;
  }

  before(async () => {
    echo = await startEchoServer();
    d = await startDaemon({ files: { 'main.yaml': readFileSync(join(here, 'sluice.yaml'), 'utf8') } });
    port = await d.port('socks');
    denyPort = await d.port('socks_deny');
  });
  after(async () => {
    await d?.stop();
    await echo?.close();
  });

  async function stillServes(): Promise<void> {
    const req = Buffer.concat([B(5, 1, 0, 1, 127, 0, 0, 1), B(echo.port >> 8, echo.port & 0xff)]);
    const s = connect(port, '127.0.0.1');
    s.on('error', () => {});
    const got: Buffer[] = [];
    s.on('data', (b) => got.push(b));
    s.write(Buffer.concat([GREET, req, Buffer.from('ping')]));
    const deadline = Date.now() + 3000;
    while (!Buffer.concat(got).includes('ping') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    s.destroy();
    const all = Buffer.concat(got);
    assert.deepEqual(all.subarray(0, 3), B(5, 0, 5, 0, 0).subarray(0, 3), 'method selection then success');
    assert.ok(all.includes('ping'), 'echo came back through the tunnel');
    await nextTask();
  }

  const cases: Array<{ name: string; parts: Buffer[]; reply: Buffer; reason: string; halfClose?: boolean; server?: 'deny' }> = [
    { name: 'wrong version byte', parts: [B(0x47, 0x45, 0x54)], reply: B(), reason: 'InvalidClientProtocol' },
    { name: 'zero methods', parts: [B(5, 0)], reply: B(5, 0xff), reason: 'InvalidClientProtocol' },
    { name: '255 methods, none acceptable', parts: [Buffer.concat([B(5, 255), Buffer.alloc(255, 0x80)])], reply: B(5, 0xff), reason: 'UnimplementedProtocol' },
    { name: 'only username/password offered to a no-auth server', parts: [B(5, 1, 2)], reply: B(5, 0xff), reason: 'UnimplementedProtocol' },
    { name: 'truncated greeting, then close', parts: [B(5, 3, 0)], reply: B(), reason: 'ClosedEarlyByClient', halfClose: true },
    { name: 'truncated greeting, then silence (negotiation_timeout)', parts: [B(5, 255, 0, 1)], reply: B(), reason: 'ClientAppTimeout' },
    { name: 'truncated request, then close', parts: [GREET, B(5, 1, 0, 3, 10, 0x61)], reply: SELECTED, reason: 'ClosedEarlyByClient', halfClose: true },
    { name: 'domain of length 0', parts: [GREET, B(5, 1, 0, 3, 0, 0, 80)], reply: Buffer.concat([SELECTED, B(5, 1, 0, 1, 0, 0, 0, 0, 0, 0)]), reason: 'InvalidClientProtocol' },
    { name: 'domain with a NUL byte', parts: [GREET, B(5, 1, 0, 3, 3, 0x61, 0, 0x62, 0, 80)], reply: Buffer.concat([SELECTED, B(5, 1, 0, 1, 0, 0, 0, 0, 0, 0)]), reason: 'InvalidClientProtocol' },
    { name: 'domain with a control byte', parts: [GREET, B(5, 1, 0, 3, 3, 0x61, 0x0d, 0x62, 0, 80)], reply: Buffer.concat([SELECTED, B(5, 1, 0, 1, 0, 0, 0, 0, 0, 0)]), reason: 'InvalidClientProtocol' },
    { name: 'unknown address type', parts: [GREET, B(5, 1, 0, 2, 1, 2, 3, 4, 0, 80)], reply: Buffer.concat([SELECTED, B(5, 8, 0, 1, 0, 0, 0, 0, 0, 0)]), reason: 'InvalidClientProtocol' },
    { name: 'unknown command', parts: [GREET, B(5, 9, 0, 1, 127, 0, 0, 1, 0, 80)], reply: Buffer.concat([SELECTED, B(5, 7, 0, 1, 0, 0, 0, 0, 0, 0)]), reason: 'UnimplementedProtocol' },
    { name: 'BIND', parts: [GREET, B(5, 2, 0, 1, 127, 0, 0, 1, 0, 80)], reply: Buffer.concat([SELECTED, B(5, 7, 0, 1, 0, 0, 0, 0, 0, 0)]), reason: 'UnimplementedProtocol' },
    { name: 'non-zero reserved byte', parts: [GREET, B(5, 1, 1, 1, 127, 0, 0, 1, 0, 80)], reply: Buffer.concat([SELECTED, B(5, 1, 0, 1, 0, 0, 0, 0, 0, 0)]), reason: 'InvalidClientProtocol' },
    { name: 'wrong version in the request', parts: [GREET, B(4, 1, 0, 1, 127, 0, 0, 1, 0, 80)], reply: Buffer.concat([SELECTED, B(5, 1, 0, 1, 0, 0, 0, 0, 0, 0)]), reason: 'InvalidClientProtocol' },
    { name: 'destination port 0', parts: [GREET, B(5, 1, 0, 1, 127, 0, 0, 1, 0, 0)], reply: Buffer.concat([SELECTED, B(5, 1, 0, 1, 0, 0, 0, 0, 0, 0)]), reason: 'InvalidClientProtocol' },
    { name: 'UDP ASSOCIATE through a deny escaper', parts: [GREET, B(5, 3, 0, 1, 0, 0, 0, 0, 0, 0)], reply: Buffer.concat([SELECTED, B(5, 2, 0, 1, 0, 0, 0, 0, 0, 0)]), reason: 'EscaperNotUsable', server: 'deny' },
    { name: 'SOCKS4 BIND', parts: [B(4, 2, 0, 80, 127, 0, 0, 1, 0)], reply: B(0, 0x5b, 0, 0, 0, 0, 0, 0), reason: 'UnimplementedProtocol' },
    { name: 'SOCKS4 unknown command', parts: [B(4, 7, 0, 80)], reply: B(0, 0x5b, 0, 0, 0, 0, 0, 0), reason: 'UnimplementedProtocol' },
    { name: 'SOCKS4a domain with a control byte', parts: [B(4, 1, 0, 80, 0, 0, 0, 1, 0, 0x61, 0x1b, 0)], reply: B(0, 0x5b, 0, 0, 0, 0, 0, 0), reason: 'InvalidClientProtocol' },
    { name: 'SOCKS4 user id that never ends', parts: [Buffer.concat([B(4, 1, 0, 80, 127, 0, 0, 1), Buffer.alloc(400, 0x61)])], reply: B(0, 0x5b, 0, 0, 0, 0, 0, 0), reason: 'InvalidClientProtocol' },
  ];

  for (const c of cases) {
    it(`${c.name}: answers ${c.reply.length ? c.reply.toString('hex') : 'nothing'}, closes, logs ${c.reason}`, async () => {
      const r = await exchange(c.server === 'deny' ? denyPort : port, c.parts, { halfClose: c.halfClose });
      assert.equal(r.closed, true, 'the server closed the connection');
      assert.equal(r.data.toString('hex'), c.reply.toString('hex'));
      const t = await nextTask();
      assert.equal(t.reason, c.reason);
      assert.equal(t.server_type, 'SocksProxy');
      await stillServes();
    });
  }

  it('a connection that sends nothing is closed at negotiation_timeout without a task log', async () => {
    const before = d.taskLogs().length;
    const r = await exchange(port, [], { timeoutMs: 3000 });
    assert.equal(r.closed, true);
    assert.equal(r.data.length, 0);
    assert.equal(d.taskLogs().length, before);
  });

  it('a burst of garbage connections leaves the daemon serving', async () => {
    const garbage = Array.from({ length: 40 }, (_, i) => exchange(port, [Buffer.alloc(1 + (i % 7), 0x05 + (i % 3))], { timeoutMs: 3000 }));
    const results = await Promise.all(garbage);
    assert.ok(results.every((r) => r.closed));
    await d.waitForLog(() => d.taskLogs().length >= seen + 40, 5000);
    seen = d.taskLogs().length;
    await stillServes();
    assert.equal(d.exitCode, null);
  });
});
