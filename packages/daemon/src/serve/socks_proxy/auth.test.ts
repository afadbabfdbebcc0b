/**
 * RFC 1929 through the server's negotiation, in process: a SocksProxyServer with a fake runtime (task logs
 * captured, an escaper that connects to a loopback echo server) fed by real loopback sockets.
 */
import { createServer, connect, type Server as NetServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { encodeSocks5Request, encodeUserPassAuth, CMD_CONNECT } from '@sluice/protocol';
import type { Escaper } from '../../escape/types.js';
import type { TaskContext } from '../../task/task.js';
import { StaticSocksUsers } from './auth.js';
import type { SocksProxyServer } from './server.js';
import { startHarness, talk, type Harness } from './test-support.js';

const B = (...b: number[]) => Buffer.from(b);

describe('socks_proxy username/password (RFC 1929)', () => {
  let echo: NetServer;
  let h: Harness;
  let port: number;
  let logs: Array<Map<string, unknown>>;
  let server: SocksProxyServer;

  before(async () => {
    echo = createServer((s) => s.pipe(s).on('error', () => {}));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    const echoPort = (echo.address() as AddressInfo).port;
    const escaper = {
      name: 'fake',
      tcpConnect: (task: TaskContext) => new Promise((resolve, reject) => {
        const s = connect(echoPort, '127.0.0.1', () => resolve({ socket: s, info: { tcpConnectTries: 1, tcpConnectSpendMs: 0, escaper: 'fake' } }));
        s.once('error', reject);
        task.nextPeerAddr = `127.0.0.1:${echoPort}`;
      }),
    };
    h = await startHarness(escaper as unknown as Partial<Escaper>);
    ({ server, port, logs } = h);
    server.setAuthenticator(new StaticSocksUsers({ alice: 'secret' }));
  });
  after(async () => {
    await h.close();
    await new Promise((r) => echo.close(r));
  });

  it('offers only username/password: a no-auth greeting gets X\'FF\'', async () => {
    const r = await talk(port, [B(5, 1, 0)], [2, 0]);
    assert.deepEqual(r.data, B(5, 0xff));
    assert.equal(r.closed, true);
    assert.equal(logs.at(-1)!.get('reason'), 'ClientAuthFailed');
  });

  it('a wrong password gets status 1 and a close, logged with the user', async () => {
    const r = await talk(port, [B(5, 2, 0, 2), encodeUserPassAuth('alice', 'nope')], [2, 2, 0]);
    assert.deepEqual(r.data, B(5, 2, 1, 1));
    assert.equal(r.closed, true);
    assert.equal(logs.at(-1)!.get('reason'), 'ClientAuthFailed');
    assert.equal(logs.at(-1)!.get('user'), 'alice');
    assert.equal(server.stats.forbiddenAuthFailed >= 2, true);
  });

  it('an unknown user is refused the same way', async () => {
    const r = await talk(port, [B(5, 1, 2), encodeUserPassAuth('mallory', 'secret')], [2, 2, 0]);
    assert.deepEqual(r.data, B(5, 2, 1, 1));
    assert.equal(r.closed, true);
  });

  it('the right password logs in; the login and the request may arrive in one write', async () => {
    const req = encodeSocks5Request(CMD_CONNECT, '127.0.0.1', 7);
    const r = await talk(port, [Buffer.concat([B(5, 1, 2), encodeUserPassAuth('alice', 'secret'), req]), Buffer.from('hi')], [2 + 2 + 10, 2]);
    assert.deepEqual(r.data.subarray(0, 6), B(5, 2, 1, 0, 5, 0));
    assert.equal(r.data.subarray(14).toString(), 'hi');
    r.socket.destroy();
    const deadline = Date.now() + 2000;
    while (!logs.some((l) => l.get('user') === 'alice' && l.get('task_type') === 'TcpConnect' && l.get('reason') !== 'ClientAuthFailed') && Date.now() < deadline) {
      await new Promise((res) => setTimeout(res, 10));
    }
    const ok = logs.find((l) => l.get('user') === 'alice' && l.get('reason') !== 'ClientAuthFailed');
    assert.ok(ok, 'a task log of the logged-in user');
    assert.equal(ok.get('upstream'), '127.0.0.1:7');
  });

  it('SOCKS4 cannot authenticate, so it is rejected (X\'5B\')', async () => {
    const r = await talk(port, [B(4, 1, 0, 80, 127, 0, 0, 1, 0)], [8, 0]);
    assert.deepEqual(r.data, B(0, 0x5b, 0, 0, 0, 0, 0, 0));
    assert.equal(r.closed, true);
  });

  it('StaticSocksUsers compares exactly', () => {
    const u = new StaticSocksUsers(new Map([['bob', 'pw']]));
    assert.equal(u.authenticate('bob', 'pw'), true);
    assert.equal(u.authenticate('bob', 'pw '), false);
    assert.equal(u.authenticate('bo', 'pw'), false);
  });
});
