/**
 * User authentication and per-user policy through http_proxy, end to end: the real daemon, curl and raw
 * sockets, a loopback origin. Limits are checked by counting refusals, never by timing (except the speed
 * limit, with a wide bound).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  curl, rawExchange, readUntil, tcpConnect, startDaemon, startEchoServer, startOrigin, type DaemonHandle, type Origin,
} from '@sluice/testkit';
import { dynamicUsers, mainYaml, TOOR_FAST } from './config.js';

const WRONG = 'Wr0ng-Pa55word-xyz';
/** curl through a CONNECT tunnel, reporting the proxy's CONNECT status */
const CONNECT = ['-p', '-w', '\n%{http_connect}'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('user_auth', () => {
  let d: DaemonHandle;
  let origin: Origin;
  let origin2: Origin;
  let echo: { port: number; close(): Promise<void> };
  let port: number;
  let anonPort: number;
  let proxy: string;

  const get = (user: string, url: string, extra: string[] = []) => curl(['-x', proxy, '-U', user, ...extra, url]);

  before(async () => {
    origin = await startOrigin();
    origin2 = await startOrigin();
    echo = await startEchoServer();
    d = await startDaemon({ files: { 'main.yaml': mainYaml(origin.port), 'dynamic_users.json': dynamicUsers() } });
    port = await d.port('http');
    anonPort = await d.port('anon');
    proxy = `http://127.0.0.1:${port}`;
  });
  after(async () => {
    await d?.stop();
    await origin?.close();
    await origin2?.close();
    await echo?.close();
  });

  it('answers 407 with the realm when credentials are missing or wrong', async () => {
    const raw = await rawExchange(port, `GET ${origin.url}/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.match(raw, /^HTTP\/1\.1 407 /);
    assert.match(raw, /\r\nProxy-Authenticate: Basic realm="sluice-test"\r\n/);
    assert.equal((await get(`root:${WRONG}`, `${origin.url}/`)).status, 407);
    assert.equal((await get(`nobody:toor`, `${origin.url}/`)).status, 407);
    assert.equal((await get('locked:', `${origin.url}/`)).status, 407, 'a user without a token can never log in');
    const log = await d.waitForLog((l) => l.fields.user === 'root' && l.fields.reason === 'ClientAuthFailed');
    assert.equal(log.fields.server_name, 'http');
  });

  it('accepts g3 example tokens: salted md5/sha1, md5-crypt, sha512-crypt, xcrypt_hash', async () => {
    for (const u of ['root', 'crypt6', 'xcrypt', 'foo', 'bar']) {
      const r = await get(`${u}:toor`, `${origin.url}/hello`);
      assert.equal(r.status, 200, u);
      assert.equal(r.body, 'hello');
    }
    const log = await d.waitForLog((l) => l.fields.user === 'crypt6' && l.fields.task_type === 'HttpForward');
    assert.equal(log.fields.rsp_status, '200');
    // static users win over dynamic users of the same name: the dynamic root has token null
    assert.equal((await get(`root:${WRONG}`, `${origin.url}/`)).status, 407);
  });

  it('authenticates through a CONNECT tunnel and never forwards Proxy-Authorization', async () => {
    const r = await get('root:toor', `${origin.url}/headers`);
    assert.equal(r.status, 200);
    const headers = JSON.parse(r.body) as Record<string, string>;
    assert.equal(headers['proxy-authorization'], undefined);
    const t = await get('root:toor', `${origin.url}/hello`, ['-p']);
    assert.equal(t.status, 200);
    await d.waitForLog((l) => l.fields.user === 'root' && l.fields.task_type === 'TcpConnect');
  });

  it('reads username params: user+key=value authenticates as the base name', async () => {
    assert.equal((await get('root+country=us:toor', `${origin.url}/hello`)).status, 200);
    assert.equal((await get('root+country=us:nope', `${origin.url}/hello`)).status, 407);
  });

  it('uses the anonymous user when no credentials are sent', async () => {
    const r = await curl(['-x', `http://127.0.0.1:${anonPort}`, `${origin.url}/hello`]);
    assert.equal(r.status, 200);
    await d.waitForLog((l) => l.fields.user === 'guest' && l.fields.server_name === 'anon');
    assert.equal((await curl(['-x', `http://127.0.0.1:${anonPort}`, `${origin2.url}/hello`])).status, 403);
  });

  it('refuses an expired user and a blocked one (after its delay)', async () => {
    assert.equal((await get('expired:x', `${origin.url}/`)).status, 403);
    assert.equal((await get('later:x', `${origin.url}/hello`)).status, 200);
    const t0 = Date.now();
    const r = await get('blocked:x', `${origin.url}/`);
    assert.equal(r.status, 403);
    assert.ok(Date.now() - t0 >= 280, 'blocked users are answered after block_and_delay');
    const log = await d.waitForLog((l) => l.fields.user === 'blocked');
    assert.equal(log.fields.reason, 'CanceledAsUserBlocked');
  });

  it('applies dst_host_filter_set (exact, child, regex; missed = forbid) with resolve_redirection', async () => {
    const p = origin.port;
    for (const host of ['allowed.test', 'a.kids.test', 're1.test']) {
      const r = await get('sites:x', `http://${host}:${p}/hello`);
      assert.equal(r.status, 200, host);
    }
    for (const host of ['denied.test', 'rex.test', '127.0.0.1']) {
      assert.equal((await get('sites:x', `http://${host}:${p}/hello`)).status, 403, host);
    }
    // CONNECT is filtered the same way
    assert.equal((await get('sites:x', `http://denied.test:${p}/hello`, CONNECT)).status, 403);
    const log = await d.waitForLog((l) => l.fields.user === 'sites' && l.fields.uri === `http://denied.test:${p}/hello`);
    assert.equal(log.fields.reason, 'ForbiddenByRule');
  });

  it('applies dst_port_filter', async () => {
    assert.equal((await get('ports:x', `${origin.url}/hello`)).status, 200);
    assert.equal((await get('ports:x', `${origin2.url}/hello`)).status, 403);
  });

  it('applies proxy_request_filter (forward allowed, CONNECT banned)', async () => {
    assert.equal((await get('forward_only:x', `${origin.url}/hello`)).status, 200);
    assert.equal((await get('forward_only:x', `${origin.url}/hello`, CONNECT)).status, 403);
  });

  it('applies http_user_agent_filter (listed products forbidden)', async () => {
    assert.equal((await get('no_curl:x', `${origin.url}/hello`)).status, 403);
    assert.equal((await get('no_curl:x', `${origin.url}/hello`, ['-A', 'Mozilla/5.0 (X11)'])).status, 200);
  });

  it('request_rate_limit 3/m: exactly 3 of 6 requests pass', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await get('req_limited:x', `${origin.url}/hello`)).status);
    assert.equal(statuses.filter((s) => s === 200).length, 3, statuses.join(','));
    assert.equal(statuses.filter((s) => s === 429).length, 3, statuses.join(','));
  });

  it('connection_rate_limit 2/m counts connections, not requests', async () => {
    // one connection with three requests uses one token
    const keep = await curl(['-x', proxy, '-U', 'conn_limited:x', `${origin.url}/hello`, `${origin.url}/hello`, `${origin.url}/hello`]);
    assert.equal(keep.status, 200);
    assert.equal(keep.body, 'hello\n200hello\n200hello');
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await get('conn_limited:x', `${origin.url}/hello`)).status);
    assert.deepEqual(statuses.filter((s) => s === 200).length, 1, statuses.join(','));
    assert.deepEqual(statuses.filter((s) => s === 429).length, 2, statuses.join(','));
  });

  it('request_max_alive 1: a second tunnel is refused while the first is open', async () => {
    const auth = `Proxy-Authorization: Basic ${Buffer.from('one_alive:x').toString('base64')}\r\n`;
    const open = async () => {
      const s = await tcpConnect(port);
      s.write(`CONNECT 127.0.0.1:${echo.port} HTTP/1.1\r\nHost: x\r\n${auth}\r\n`);
      const head = await new Promise<string>((resolve) => s.once('data', (b: Buffer) => resolve(b.toString('latin1'))));
      return { s, status: Number(head.split(' ')[1]) };
    };
    const first = await open();
    assert.equal(first.status, 200);
    const second = await open();
    assert.equal(second.status, 429);
    second.s.destroy();
    first.s.destroy();
    // the slot frees once the first task has finished
    let third = 0;
    for (let i = 0; i < 40 && third !== 200; i++) {
      await sleep(50);
      const t = await open();
      third = t.status;
      t.s.destroy();
    }
    assert.equal(third, 200);
  });

  it('ingress_network_filter of a user: 127.0.0.2 refused, 127.0.0.1 allowed (built-in)', async () => {
    assert.equal((await get('lan_only:x', `${origin.url}/hello`, ['--interface', '127.0.0.2'])).status, 403);
    assert.equal((await get('lan_only:x', `${origin.url}/hello`)).status, 200);
  });

  it('log_rate_limit 1/m: three requests, one task log line', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await get('quiet:x', `${origin.url}/hello?q=${i}`)).status, 200);
    await d.waitForLog((l) => l.fields.user === 'quiet');
    await sleep(200);
    assert.equal(d.taskLogs().filter((l) => l.fields.user === 'quiet').length, 1);
  });

  it('log_uri_max_chars of the user truncates the logged URI', async () => {
    const url = `${origin.url}/a-rather-long-path/that/goes/on`;
    assert.equal((await get('short_uri:x', url)).status, 200);
    const log = await d.waitForLog((l) => l.fields.user === 'short_uri');
    assert.equal(log.fields.uri, url.slice(0, 24));
  });

  // The upload half of the same limit inside tunnels: the relay takes the client socket over from the
  // request parser, and the limit installed under it at authentication must survive that.
  for (const via of ['http_proxy CONNECT', 'SOCKS5'] as const) {
    it(`tcp_sock_speed_limit slows an upload through a ${via} tunnel`, async () => {
      let received = 0;
      let doneAt = 0;
      const n = 192 * 1024;
      const sink = createServer((c) => c.on('data', (d: Buffer) => {
        received += d.length;
        if (received >= n && !doneAt) doneAt = Date.now();
      }));
      await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
      const sinkPort = (sink.address() as AddressInfo).port;
      const s = await tcpConnect(via === 'SOCKS5' ? await d.port('socks') : port);
      try {
        if (via === 'SOCKS5') {
          s.write(Buffer.from([5, 1, 2]));
          await readUntil(s, (b) => b.length >= 2);
          s.removeAllListeners('data');
          s.write(Buffer.concat([Buffer.from([1, 4]), Buffer.from('slow'), Buffer.from([1]), Buffer.from('x')]));
          assert.equal((await readUntil(s, (b) => b.length >= 2))[1], 0, 'RFC 1929 auth accepted');
          s.removeAllListeners('data');
          s.write(Buffer.from([5, 1, 0, 1, 127, 0, 0, 1, sinkPort >> 8, sinkPort & 0xff]));
          assert.equal((await readUntil(s, (b) => b.length >= 10))[1], 0, 'SOCKS5 CONNECT succeeded');
        } else {
          const auth = Buffer.from('slow:x').toString('base64');
          s.write(`CONNECT 127.0.0.1:${sinkPort} HTTP/1.1\r\nHost: 127.0.0.1:${sinkPort}\r\nProxy-Authorization: Basic ${auth}\r\n\r\n`);
          const head = (await readUntil(s, (b) => b.includes('\r\n\r\n'))).toString('latin1');
          assert.match(head, /^HTTP\/1\.1 200 /);
        }
        s.removeAllListeners('data');
        const t0 = Date.now();
        s.write(Buffer.alloc(n, 0x61));
        for (let i = 0; i < 150 && !doneAt; i++) await sleep(50);
        assert.ok(doneAt, `the sink got ${received} of ${n} bytes`);
        // 192 KiB at 64 KiB/s: about 3 s; unthrottled it is a few ms
        assert.ok(doneAt - t0 >= 1800, `uploaded in ${doneAt - t0}ms`);
      } finally {
        s.destroy();
        sink.close();
      }
    });
  }

  it('tcp_sock_speed_limit slows a download (16 KiB per 256 ms slice)', async () => {
    const n = 256 * 1024;
    const t0 = Date.now();
    const r = await get('slow:x', `${origin.url}/bytes?n=${n}`, ['-o', '/dev/null']);
    const ms = Date.now() - t0;
    assert.equal(r.status, 200);
    // 256 KiB at 64 KiB/s: the origin's 64 KiB pieces each wait about 1s for the budget, except the
    // last one, so about 3s; bound it well below that
    assert.ok(ms >= 2000, `took ${ms}ms`);
  });

  it('picks up a source file edited while running; a broken file keeps the old users', async () => {
    assert.equal((await get('baz:toor', `${origin.url}/hello`)).status, 407);
    d.writeFile('dynamic_users.json', dynamicUsers([{ name: 'baz', token: TOOR_FAST }]));
    let ok = 0;
    for (let i = 0; i < 60 && ok !== 200; i++) {
      await sleep(100);
      ok = (await get('baz:toor', `${origin.url}/hello`)).status;
    }
    assert.equal(ok, 200);
    d.writeFile('dynamic_users.json', '[{"name": "baz", ');
    await sleep(900);
    assert.equal((await get('baz:toor', `${origin.url}/hello`)).status, 200, 'a failed fetch keeps the users');
    assert.ok(d.stderr.includes('keeping'), d.stderr);
    const cache = JSON.parse(readFileSync(join(d.dir, 'users.cache.json'), 'utf8')) as Array<{ name: string }>;
    assert.ok(cache.some((u) => u.name === 'baz'));
  });

  it('lists and publishes users over the control socket', async () => {
    const st = await d.call<string[]>('user_group_list_static_user', { name: 'default' });
    assert.ok(st.includes('root') && st.includes('crypt6'));
    await d.call('user_group_publish_user', { name: 'default', contents: JSON.stringify([{ name: 'pub', token: TOOR_FAST }]) });
    assert.deepEqual(await d.call<string[]>('user_group_list_dynamic_user', { name: 'default' }), ['pub']);
    assert.equal((await get('pub:toor', `${origin.url}/hello`)).status, 200);
    await assert.rejects(d.call('user_group_publish_user', { name: 'default', contents: '[{"token": null}]' }), /name/);
  });

  it('authenticates SOCKS5 clients (RFC 1929) and applies the same user rules', async () => {
    const socks = `socks5h://127.0.0.1:${await d.port('socks')}`;
    const viaSocks = (user: string, url: string) => curl(['-x', socks, '-U', user, url]);
    const ok = await viaSocks('root:toor', `${origin.url}/hello`);
    assert.equal(ok.status, 200);
    assert.equal(ok.body, 'hello');
    await d.waitForLog((l) => l.fields.server_name === 'socks' && l.fields.user === 'root' && l.fields.task_type === 'TcpConnect');
    assert.equal((await viaSocks(`root:${WRONG}`, `${origin.url}/hello`)).status, 0, 'a wrong password ends the SOCKS negotiation');
    assert.equal((await viaSocks('pub:toor', `${origin.url}/hello`)).status, 200, 'published users too');
    const denied = await viaSocks('sites:x', `http://denied.test:${origin.port}/hello`);
    assert.equal(denied.status, 0);
    assert.match(denied.stderr, /not allowed|ruleset|denied|\(2\)/i, denied.stderr);
    assert.equal((await viaSocks('sites:x', `http://allowed.test:${origin.port}/hello`)).status, 200);
    assert.equal((await viaSocks('forward_only:x', `${origin.url}/hello`)).status, 0, 'SocksTcpConnect is not in its proxy_request_filter');
    const log = await d.waitForLog((l) => l.fields.server_name === 'socks' && l.fields.user === 'forward_only');
    assert.equal(log.fields.reason, 'ForbiddenByRule');
  });

  it('never writes a password to any log', async () => {
    const all = d.stdoutLines.join('\n') + d.stderr;
    for (const secret of ['toor', WRONG, Buffer.from('root:toor').toString('base64'), Buffer.from(`root:${WRONG}`).toString('base64')]) {
      assert.ok(!all.includes(secret), `log contains ${secret}`);
    }
  });
});

describe('user_auth with the user group in an included directory (hybrid layout)', () => {
  let d: DaemonHandle;
  let origin: Origin;

  before(async () => {
    origin = await startOrigin();
    const fast = `{salt: ${TOOR_FAST.salt}, md5: ${TOOR_FAST.md5}, sha1: ${TOOR_FAST.sha1}}`;
    d = await startDaemon({
      files: {
        'main.yaml': `log: stdout
resolver: [{name: default, type: c-ares}]
escaper:
  - {name: direct, type: direct_fixed, resolver: default, egress_network_filter: {default: allow, allow: 127.0.0.1}}
user-group: user-group.d/
server:
  - {name: http, type: http_proxy, listen: 127.0.0.1:0, escaper: direct, user_group: default}
`,
        'user-group.d/default.yaml': `name: default
static_users:
  - name: root
    token: ${fast}
    dst_port_filter: [80, 443]
  - name: test
    token: ${fast}
    tcp_sock_speed_limit: 1M
    tcp_all_download_speed_limit: 1200K
source: {type: file, path: dynamic_users.json}
`,
        'user-group.d/dynamic_users.json': dynamicUsers([{ name: 'limited', token: TOOR_FAST, tcp_conn_limit: { shift_millis: 8, north: '10M', south: '10M' }, udp_relay_limit: '1M' }]),
      },
    });
  });
  after(async () => {
    await d?.stop();
    await origin?.close();
  });

  it('authenticates static and dynamic users from the included files', async () => {
    const proxy = `http://127.0.0.1:${await d.port('http')}`;
    for (const u of ['test', 'foo', 'bar', 'limited']) {
      let s = 0;
      // the dynamic users arrive with the first fetch, right after start
      for (let i = 0; i < 40 && s !== 200; i++) {
        s = (await curl(['-x', proxy, '-U', `${u}:toor`, `${origin.url}/hello`])).status;
        if (s !== 200) await sleep(50);
      }
      assert.equal(s, 200, u);
    }
    assert.equal((await curl(['-x', proxy, '-U', 'root:toor', `${origin.url}/hello`])).status, 403, 'root may only reach ports 80 and 443');
  });

  it('a reload applies changed static users in place', async () => {
    const proxy = `http://127.0.0.1:${await d.port('http')}`;
    assert.equal((await curl(['-x', proxy, '-U', 'newbie:x', `${origin.url}/hello`])).status, 407);
    d.writeFile('user-group.d/default.yaml', `name: default
static_users:
  - name: root
    token: null
  - name: newbie
    token: null
source: {type: file, path: dynamic_users.json}
`);
    await d.call('reload_config');
    assert.equal((await curl(['-x', proxy, '-U', 'newbie:x', `${origin.url}/hello`])).status, 200);
    assert.equal((await curl(['-x', proxy, '-U', 'root:anything', `${origin.url}/hello`])).status, 200, 'root lost its port filter and token');
    assert.equal((await curl(['-x', proxy, '-U', 'test:toor', `${origin.url}/hello`])).status, 407, 'removed users are gone');
    assert.equal((await curl(['-x', proxy, '-U', 'foo:toor', `${origin.url}/hello`])).status, 200, 'dynamic users stay');
  });
});

describe('user metrics over StatsD', () => {
  let d: DaemonHandle;
  let origin: Origin;
  const lines: string[] = [];
  let udp: import('node:dgram').Socket;

  before(async () => {
    const { createSocket } = await import('node:dgram');
    udp = createSocket('udp4');
    udp.on('message', (m) => lines.push(...m.toString('utf8').split('\n').filter(Boolean)));
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
    origin = await startOrigin();
    d = await startDaemon({
      files: {
        'main.yaml': `log: stdout
stat:
  target_udp: 127.0.0.1:${udp.address().port}
  emit_interval: 100ms
resolver: [{name: default, type: c-ares}]
escaper:
  - {name: direct, type: direct_fixed, resolver: default, egress_network_filter: {default: allow, allow: 127.0.0.1}}
user_group:
  - name: metered
    static_users:
      - name: alice
        token: null
        dst_port_filter: [${origin.port}]
        explicit_sites:
          - {id: origin, exact_match: 127.0.0.1, emit_stats: true}
server:
  - {name: http, type: http_proxy, listen: 127.0.0.1:0, escaper: direct, user_group: metered}
`,
      },
    });
  });
  after(async () => {
    await d?.stop();
    await origin?.close();
    udp?.close();
  });

  /** sum of a counter over the lines carrying all `tags` */
  const sum = (name: string, tags: string[]) =>
    lines.filter((l) => l.startsWith(`${name}:`) && tags.every((t) => l.includes(t))).reduce((n, l) => n + Number(l.slice(name.length + 1).split('|')[0]), 0);

  it('emits user.*, user.upstream.* and user.site.* with g3 tags', async () => {
    const proxy = `http://127.0.0.1:${await d.port('http')}`;
    for (let i = 0; i < 2; i++) assert.equal((await curl(['-x', proxy, '-U', 'alice:x', `${origin.url}/hello`])).status, 200);
    assert.equal((await curl(['-x', proxy, '-U', 'alice:x', 'http://127.0.0.1:1/'])).status, 403);
    const tags = ['user_group:metered', 'user:alice', 'user_type:Static', 'server:http', 'request:http_forward'];
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && (sum('g3proxy.user.request.total', tags) < 2 || sum('g3proxy.user.forbidden.dest_denied', ['user:alice']) < 1)) {
      await sleep(50);
    }
    assert.equal(sum('g3proxy.user.request.total', tags), 2);
    assert.equal(sum('g3proxy.user.forbidden.dest_denied', ['user:alice']), 1);
    assert.ok(sum('g3proxy.user.upstream.traffic.in.bytes', ['user:alice', 'escaper:direct']) > 0);
    assert.equal(sum('g3proxy.user.site.origin.request.total', ['user:alice']), 2);
  });
});
