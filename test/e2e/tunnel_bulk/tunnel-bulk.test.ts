/**
 * Bulk traffic through tunnels (http_proxy CONNECT and SOCKS5 CONNECT) against a real echo origin. A busy
 * tunnel direction switches from Node's default reads to a read buffer of its own (serve/own-read-buffer.ts);
 * these tests push enough bytes to switch both directions, make the client read slowly so every pipe
 * backpressures, let the tunnel go quiet for long enough that its buffers shrink, then burst again — and check
 * every byte arrived intact and in order, and that the task log counted them all.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectTunnel, readUntil, startDaemon, startEchoServer, tcpConnect, type DaemonHandle } from '@sluice/testkit';

const YAML = `
runtime:
  server_offline_delay: 0
  task_wait_delay: 0
log: stdout
resolver:
  - name: default
    type: c-ares
escaper:
  - name: direct
    type: direct_fixed
    resolver: default
    egress_network_filter:
      default: allow
      allow: 127.0.0.1
server:
  - name: http
    type: http_proxy
    listen: 127.0.0.1:0
    escaper: direct
    task_idle_check_interval: 2s
    task_idle_max_count: 10
  - name: socks
    type: socks_proxy
    listen: 127.0.0.1:0
    escaper: direct
    task_idle_check_interval: 2s
    task_idle_max_count: 10
`;

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function socks5Connect(proxyPort: number, targetPort: number): Promise<Socket> {
  const s = await tcpConnect(proxyPort);
  s.write(Buffer.from([5, 1, 0]));
  await readUntil(s, (b) => b.length >= 2);
  s.removeAllListeners('data');
  const req = Buffer.from([5, 1, 0, 1, 127, 0, 0, 1, targetPort >> 8, targetPort & 0xff]);
  s.write(req);
  const reply = await readUntil(s, (b) => b.length >= 10);
  s.removeAllListeners('data');
  assert.equal(reply[1], 0, `SOCKS5 reply code ${reply[1]}`);
  return s;
}

/**
 * Send `data` through `s` (an echo comes back) while reading the echo slowly: the reader pauses for a moment
 * after every 1 MiB, so the echo backs up through the proxy to the writer. Resolves with what came back.
 */
function echoSlowly(s: Socket, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let got = 0;
    let sincePause = 0;
    const timer = setTimeout(() => reject(new Error(`echo incomplete after 30s: ${got} of ${data.length} bytes`)), 30_000);
    s.on('error', reject);
    s.on('data', (d: Buffer) => {
      parts.push(d);
      got += d.length;
      sincePause += d.length;
      if (got >= data.length) {
        clearTimeout(timer);
        s.removeAllListeners('data');
        resolve(Buffer.concat(parts));
      } else if (sincePause >= 1 << 20) {
        sincePause = 0;
        s.pause();
        setTimeout(() => s.resume(), 30);
      }
    });
    void (async () => {
      for (let off = 0; off < data.length; off += 256 * 1024) {
        if (!s.write(data.subarray(off, off + 256 * 1024))) await new Promise((r) => s.once('drain', r));
      }
    })();
  });
}

describe('bulk tunnels', () => {
  let d: DaemonHandle;
  let echo: Awaited<ReturnType<typeof startEchoServer>>;

  before(async () => {
    echo = await startEchoServer();
    d = await startDaemon({ files: { 'main.yaml': YAML } });
  });
  after(async () => {
    await d?.stop();
    await echo?.close();
  });

  const cases: Array<[string, () => Promise<Socket>]> = [
    ['http_proxy CONNECT', async () => (await connectTunnel(await d.port('http'), `127.0.0.1:${echo.port}`)).socket],
    ['SOCKS5 CONNECT', async () => socks5Connect(await d.port('socks'), echo.port)],
  ];

  for (const [name, open] of cases) {
    it(`${name}: a busy tunnel relays every byte in order both ways, through backpressure and after going quiet`, async () => {
      const s = await open();
      const first = randomBytes(24 << 20);
      const back1 = await echoSlowly(s, first);
      assert.equal(back1.length, first.length);
      assert.equal(sha(back1), sha(first), 'first burst came back intact');
      // quiet for more than two idle checks: the tunnel's read buffers shrink (and it is not closed as idle)
      await sleep(4500);
      const second = randomBytes(8 << 20);
      const back2 = await echoSlowly(s, second);
      assert.equal(sha(back2), sha(second), 'second burst came back intact');
      // small writes after the bursts still go through one by one
      for (const word of ['ping', 'pong']) {
        s.write(word);
        const got = await readUntil(s, (b) => b.length >= word.length);
        s.removeAllListeners('data');
        assert.equal(got.toString(), word);
      }
      s.end();
      const total = first.length + second.length + 8;
      const rec = await d.waitForTask((r) => r.fields.server_name === (name.startsWith('SOCKS') ? 'socks' : 'http') && Number(r.fields.c_rd_bytes) >= total, 10_000);
      // the client side also counts the CONNECT request or SOCKS handshake and their replies
      const handshake = (n: unknown): number => Number(n) - total;
      assert.ok(handshake(rec.fields.c_rd_bytes) >= 0 && handshake(rec.fields.c_rd_bytes) < 200, `c_rd_bytes ${rec.fields.c_rd_bytes}`);
      assert.ok(handshake(rec.fields.c_wr_bytes) >= 0 && handshake(rec.fields.c_wr_bytes) < 200, `c_wr_bytes ${rec.fields.c_wr_bytes}`);
      assert.equal(Number(rec.fields.r_wr_bytes), total, 'every relayed byte is counted upstream');
      assert.equal(Number(rec.fields.r_rd_bytes), total);
    });
  }
});
