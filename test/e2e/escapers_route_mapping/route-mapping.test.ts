/**
 * route_mapping end to end: the number id a client chooses (http_proxy's egress_path_selection_header) picks the
 * next escaper from `next` — 1 the first, 0 the last, larger ids wrap — and with no id a random one. The next
 * escapers are direct_fixed bound to different loopback addresses, so the origin's view of the source address
 * tells which one carried a request, as does the task log's next_bind_ip.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { baseConfig, curl, startDaemon, type DaemonHandle } from '@sluice/testkit';
import { startAddrOrigin } from '../escapers/peers.js';

const bound = (name: string, ip: string) => `  - name: ${name}
    type: direct_fixed
    resolver: default
    bind_ip: ${ip}
    egress_network_filter: { default: allow, allow: 127.0.0.0/8 }
`;

describe('route_mapping', () => {
  let origin: Awaited<ReturnType<typeof startAddrOrigin>>;
  let d: DaemonHandle;
  let proxy: string;

  before(async () => {
    origin = await startAddrOrigin('127.0.0.1');
    d = await startDaemon({ files: { 'main.yaml': `
${baseConfig({ escapers: `${bound('e2', '127.0.0.2')}${bound('e3', '127.0.0.3')}${bound('e4', '127.0.0.4')}
  - name: mapped
    type: route_mapping
    next: [e2, e3, e4]
` })}server:
  - name: http
    type: http_proxy
    listen: 127.0.0.1:0
    escaper: mapped
    egress_path_selection_header: X-Egress-Path
` } });
    proxy = `http://127.0.0.1:${await d.port('http')}`;
  });

  after(async () => {
    await d?.stop();
    await origin?.close();
  });

  const forward = (path: string, id?: string) => curl(['-x', proxy, ...(id === undefined ? [] : ['-H', `X-Egress-Path: ${id}`]), `${origin.url}${path}`]);
  const tunnel = (path: string, id: string) => curl(['-p', '-x', proxy, '--proxy-header', `X-Egress-Path: ${id}`, `${origin.url}${path}`]);

  it('the chosen id sends forwarded requests to that escaper (1 first, 0 last, wrapping past the end)', async () => {
    const cases: Array<[string, string]> = [['1', '127.0.0.2'], ['2', '127.0.0.3'], ['3', '127.0.0.4'], ['0', '127.0.0.4'], ['4', '127.0.0.2']];
    for (const [id, from] of cases) {
      const r = await forward(`/fwd-${id}`, id);
      assert.equal(r.status, 200, `id ${id}: ${r.stderr}`);
      assert.equal(r.body, `from ${from}`, `id ${id}`);
      const log = await d.waitForTask((l) => l.fields.uri === `${origin.url}/fwd-${id}`);
      assert.equal(log.fields.next_bind_ip, from, `id ${id}: task log next_bind_ip`);
      assert.equal(log.fields.escaper, 'mapped');
    }
  });

  it('CONNECT tunnels follow the id from the CONNECT request', async () => {
    assert.equal((await tunnel('/t2', '2')).body, 'from 127.0.0.3');
    assert.equal((await tunnel('/t3', '3')).body, 'from 127.0.0.4');
    assert.equal((await tunnel('/t1', '1')).body, 'from 127.0.0.2');
  });

  it('without an id each request goes to one of the next escapers, not always the same', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 24 && seen.size < 3; i++) {
      const r = await forward(`/any-${i}`);
      assert.equal(r.status, 200, r.stderr);
      assert.match(r.body, /^from 127\.0\.0\.[234]$/);
      seen.add(r.body);
    }
    // 24 uniform picks over 3 land on one node with probability 3·3^-24
    assert.ok(seen.size >= 2, `only ${[...seen].join(', ')} seen`);
  });

  it('a non-numeric id is refused with 400 before any escaper is used', async () => {
    const r = await forward('/bad', 'two');
    assert.equal(r.status, 400);
    const log = await d.waitForTask((l) => l.fields.uri === `${origin.url}/bad`);
    assert.equal(log.fields.next_bind_ip, undefined);
  });
});

/**
 * A user's egress_path_id_map (g3: escaper name → string id, the user's choice in place of the client's): the
 * map names route_select's next escaper, so each user's tasks leave through a fixed one of the three bound
 * direct_fixed escapers, over HTTP basic auth (forward and CONNECT) and SOCKS5 username/password alike.
 * route_mapping reads only number ids; for a user with a map the client's selection header is ignored, as g3
 * lets the user's selection stand in for the client's.
 */
describe('egress_path_id_map of users', () => {
  let origin: Awaited<ReturnType<typeof startAddrOrigin>>;
  let d: DaemonHandle;
  let http: string;
  let mappedHttp: string;
  let socks: number;
  // password `toor`
  const token = "'$1$rnfSARNK$DJNIbbMpjjSmral92rE3k1'";

  before(async () => {
    origin = await startAddrOrigin('127.0.0.1');
    d = await startDaemon({ files: { 'main.yaml': `
${baseConfig({ escapers: `${bound('e2', '127.0.0.2')}${bound('e3', '127.0.0.3')}${bound('e4', '127.0.0.4')}
  - name: selected
    type: route_select
    next_nodes: [e2, e3, e4]
  - name: mapped
    type: route_mapping
    next: [e2, e3, e4]
` })}user_group:
  - name: users
    type: basic
    static_users:
      - name: to3
        token: ${token}
        egress_path_id_map: { selected: e3 }
      - name: to4
        token: ${token}
        egress_path_id_map:
          selected: e4
          mapped: e4
      - name: free
        token: ${token}
server:
  - name: http
    type: http_proxy
    listen: 127.0.0.1:0
    escaper: selected
    user_group: users
  - name: http_mapped
    type: http_proxy
    listen: 127.0.0.1:0
    escaper: mapped
    user_group: users
    egress_path_selection_header: X-Egress-Path
  - name: socks
    type: socks_proxy
    listen: 127.0.0.1:0
    escaper: selected
    user_group: users
` } });
    http = `http://127.0.0.1:${await d.port('http')}`;
    mappedHttp = `http://127.0.0.1:${await d.port('http_mapped')}`;
    socks = await d.port('socks');
  });

  after(async () => {
    await d?.stop();
    await origin?.close();
  });

  it('HTTP basic auth: each user\'s forwarded requests and CONNECT tunnels leave through the escaper its map names', async () => {
    for (const [user, from] of [['to3', '127.0.0.3'], ['to4', '127.0.0.4']] as const) {
      for (let i = 0; i < 4; i++) {
        const r = await curl(['-x', http, '-U', `${user}:toor`, `${origin.url}/u-${user}-${i}`]);
        assert.equal(r.status, 200, r.stderr);
        assert.equal(r.body, `from ${from}`, `${user} forward #${i}`);
      }
      const log = await d.waitForTask((l) => l.fields.uri === `${origin.url}/u-${user}-0`);
      assert.equal(log.fields.user, user);
      assert.equal(log.fields.next_bind_ip, from);
      const t = await curl(['-p', '-x', http, '-U', `${user}:toor`, `${origin.url}/t-${user}`]);
      assert.equal(t.body, `from ${from}`, `${user} CONNECT`);
    }
  });

  it('SOCKS5 username/password: the same users leave through the same escapers', async () => {
    for (const [user, from] of [['to3', '127.0.0.3'], ['to4', '127.0.0.4']] as const) {
      for (let i = 0; i < 3; i++) {
        const r = await curl(['-x', `socks5://${user}:toor@127.0.0.1:${socks}`, `${origin.url}/s-${user}-${i}`]);
        assert.equal(r.status, 200, r.stderr);
        assert.equal(r.body, `from ${from}`, `${user} over SOCKS5 #${i}`);
      }
    }
    const bad = await curl(['-x', `socks5://to3:wrong@127.0.0.1:${socks}`, `${origin.url}/s-bad`]);
    assert.notEqual(bad.code, 0, 'a wrong password is still refused');
  });

  it('a user without a map keeps the client\'s selection header; a user with a map has it ignored', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await curl(['-x', mappedHttp, '-U', 'free:toor', '-H', 'X-Egress-Path: 2', `${origin.url}/free-${i}`]);
      assert.equal(r.body, 'from 127.0.0.3', 'free: id 2 is the second next escaper');
    }
    // to4's map names a string id for route_mapping, which reads only number ids (g3): the pick is random, and
    // the header (id 1 = 127.0.0.2) no longer pins it
    const seen = new Set<string>();
    for (let i = 0; i < 24 && seen.size < 2; i++) {
      const r = await curl(['-x', mappedHttp, '-U', 'to4:toor', '-H', 'X-Egress-Path: 1', `${origin.url}/pinned-${i}`]);
      assert.equal(r.status, 200, r.stderr);
      seen.add(r.body);
    }
    // were the header honoured, every answer would be from 127.0.0.2; 24 uniform picks all there: 3^-24
    assert.ok(seen.size >= 2, `only ${[...seen].join(', ')} seen`);
  });
});
