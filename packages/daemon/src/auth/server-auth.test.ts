/** The server-facing auth API as the SOCKS server will call it (RFC 1929 check, then one check per command). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SocksReply } from '@sluice/common';
import type { ParseContext } from '../runtime/object-def.js';
import type { Runtime } from '../runtime/runtime.js';
import { EgressPathSelection } from '../escape/egress-path.js';
import { TaskContext } from '../task/task.js';
import { BasicUserGroup } from './group.js';
import { parseUserGroupConfig } from './group-config.js';
import { authenticateUser, authorizeTask, ConnAuthMemo } from './server-auth.js';

const ctx = { baseDir: '/tmp', fail: (_p: string[], why: string) => { throw new Error(why); } } as unknown as ParseContext;

function runtimeWith(groups: BasicUserGroup[]): Runtime {
  const rt = { plog: { warn() {}, info() {} }, gen: { maps: { user_group: new Map(groups.map((g) => [g.name, g])) } } };
  return rt as unknown as Runtime;
}

const cfg = (v: Record<string, unknown>) => parseUserGroupConfig(v, ctx, 'basic');
const task = () => new TaskContext('TcpConnect', 'socks', 'SocksProxy', '127.0.0.1:5555', '127.0.0.1:1080');
const up = (host: string, port: number) => ({ host, port, ipFamily: (/^[0-9.]+$/.test(host) ? 4 : 0) as 0 | 4 });

test('authenticateUser: right and wrong passwords, unknown users, anonymous fallback', async () => {
  const closed = new BasicUserGroup(cfg({ name: 'closed', static_users: [{ name: 'bar', token: '$1$rnfSARNK$DJNIbbMpjjSmral92rE3k1' }] }), runtimeWith([]));
  const open = new BasicUserGroup(cfg({ name: 'open', static_users: [{ name: 'bar', token: '$1$rnfSARNK$DJNIbbMpjjSmral92rE3k1' }], anonymous_user: { name: 'guest' } }), runtimeWith([]));
  const rt = runtimeWith([closed, open]);
  const client = { clientIp: '127.0.0.1' };
  const ok = await authenticateUser(rt, 'closed', 'bar', 'toor', client);
  assert.ok(ok.ok && ok.user.name === 'bar');
  const bad = await authenticateUser(rt, 'closed', 'bar', 'nope', client);
  assert.ok(!bad.ok && bad.error.code === 'CLIENT_AUTH_FAILED' && bad.error.socksReply === SocksReply.NotAllowed);
  assert.ok(!bad.ok && !bad.error.message.includes('nope'), 'the password never reaches a message');
  assert.equal((await authenticateUser(rt, 'closed', 'who', 'x', client)).ok, false);
  const anon = await authenticateUser(rt, 'open', 'who', 'x', client);
  assert.ok(anon.ok && anon.user.name === 'guest');
  const wrongForKnown = await authenticateUser(rt, 'open', 'bar', 'nope', client);
  assert.equal(wrongForKnown.ok, false, 'a known user with a wrong password does not fall back to anonymous');
  assert.equal((await authenticateUser(rt, 'missing', 'bar', 'toor', client)).ok, false);
});

test('authorizeTask: SOCKS request types, destinations and alive counting', async () => {
  const g = new BasicUserGroup(cfg({
    name: 'g',
    static_users: [{ name: 'u', token: null, proxy_request_filter: ['SocksTcpConnect'], dst_port_filter: [443], request_max_alive: 1 }],
  }), runtimeWith([]));
  const user = g.user('u')!;
  const input = (port: number, requestType: 'SocksTcpConnect' | 'SocksUdpAssociate' = 'SocksTcpConnect') =>
    ({ serverName: 'socks', requestType, clientIp: '127.0.0.1', upstream: up('example.net', port), newConnection: true });
  const denied = await authorizeTask(user, task(), input(22));
  assert.equal(denied?.code, 'FORBIDDEN_DESTINATION');
  assert.equal(denied?.socksReply, SocksReply.NotAllowed);
  assert.equal((await authorizeTask(user, task(), input(443, 'SocksUdpAssociate')))?.code, 'FORBIDDEN_BY_RULE');
  const t = task();
  assert.equal(await authorizeTask(user, t, input(443)), null);
  assert.equal(t.user, 'u');
  assert.equal(t.userGroup, 'g');
  assert.equal((await authorizeTask(user, task(), input(443)))?.code, 'CLIENT_RATE_LIMITED', 'request_max_alive 1');
  t.onFinish?.(t);
  const t3 = task();
  assert.equal(await authorizeTask(user, t3, input(443)), null, 'the slot is free once the task finished');
  t3.onFinish?.(t3);
  const stats = user.statsFor('socks', 'socks_tcp_connect');
  assert.equal(stats.forbiddenDestDenied, 1);
  assert.equal(user.statsFor('socks', 'socks_udp_associate').forbiddenProtoBanned, 1);
  assert.equal(stats.forbiddenFullyLoaded, 1);
  assert.equal(stats.requestTotal, 2);
  // what the StatsD emitter reads: user.* per server and request type, user.upstream.* per escaper
  const t2 = task();
  assert.equal(await authorizeTask(user, t2, input(443)), null);
  t2.escaper = 'direct';
  t2.rRdBytes = 5;
  t2.cWrBytes = 7;
  t2.onFinish?.(t2);
  const entries: Array<Record<string, unknown>> = [];
  g.forEachUserStats((e) => entries.push({ ...e }));
  const tcp = entries.find((e) => e.request === 'socks_tcp_connect')!;
  assert.equal(tcp.connection, 'socks');
  assert.equal(tcp.server, 'socks');
  assert.equal(tcp.userGroup, 'g');
  assert.equal(tcp.userType, 'Static');
  assert.equal((tcp.stats as { outBytes: number }).outBytes, 7);
  const upstreamEntry = entries.find((e) => e.escaper === 'direct')!;
  assert.equal((upstreamEntry.stats as { upstreamInBytes: number }).upstreamInBytes, 5);
});

test('authorizeTask: egress_path_id_map replaces the client\'s own choice, keeps username-param upstreams', async () => {
  const g = new BasicUserGroup(cfg({
    name: 'g',
    static_users: [
      { name: 'mapped', token: null, egress_path_id_map: { pick: 'e3', float: 7 } },
      { name: 'plain', token: null },
    ],
  }), runtimeWith([]));
  const input = { serverName: 'http', requestType: 'HttpForward' as const, clientIp: '127.0.0.1', upstream: up('example.net', 80), newConnection: true };
  const t1 = task();
  assert.equal(await authorizeTask(g.user('mapped')!, t1, input), null);
  assert.equal(t1.egressPath?.selectStringId('pick'), 'e3');
  assert.equal(t1.egressPath?.selectStringId('float'), '7', 'a number id is kept as its text');
  assert.equal(t1.egressPath?.fromUser, true);
  const t2 = task();
  assert.equal(await authorizeTask(g.user('mapped')!, t2, input), null);
  assert.equal(t2.egressPath, t1.egressPath, 'one selection object shared by the user\'s tasks');

  // a header number id read before the auth step is dropped; an upstream from username params is kept
  const t3 = task();
  t3.egressPath = new EgressPathSelection();
  t3.egressPath.setNumberId('pick', 2);
  t3.egressPath.setUpstream('proxy', { host: 'peer.local', port: 8080, ipFamily: 0 });
  assert.equal(await authorizeTask(g.user('mapped')!, t3, input), null);
  assert.equal(t3.egressPath?.selectNumberId('pick', 3), undefined);
  assert.equal(t3.egressPath?.selectStringId('pick'), 'e3');
  assert.deepEqual(t3.egressPath?.selectUpstream('proxy'), { host: 'peer.local', port: 8080, ipFamily: 0 });
  assert.notEqual(t3.egressPath, t1.egressPath, 'the shared selection is never written to');
  assert.equal(t1.egressPath?.selectUpstream('proxy'), undefined);

  // a user without a map leaves the client's choice alone
  const t4 = task();
  t4.egressPath = new EgressPathSelection();
  t4.egressPath.setNumberId('pick', 2);
  assert.equal(await authorizeTask(g.user('plain')!, t4, input), null);
  assert.equal(t4.egressPath.selectNumberId('pick', 3), 1);
});

test('egress_path_id_map values must be string ids', () => {
  assert.throws(() => cfg({ name: 'g', static_users: [{ name: 'u', token: null, egress_path_id_map: { pick: ['a'] } }] }), /egress_path_id_map\.pick/);
  assert.throws(() => cfg({ name: 'g', static_users: [{ name: 'u', token: null, egress_path_id_map: 'e3' }] }), /egress_path_id_map must be a map/);
});

test('authorizeTask with a connection memo: the same answers as without, per host and per user', async () => {
  const g = new BasicUserGroup(cfg({
    name: 'g',
    static_users: [
      { name: 'a', token: null, dst_host_filter_set: { exact: ['ok.example'] } },
      { name: 'b', token: null },
    ],
  }), runtimeWith([]));
  const memo = new ConnAuthMemo();
  const input = (host: string) => ({ serverName: 'http', requestType: 'HttpForward' as const, clientIp: '127.0.0.1', upstream: up(host, 80), newConnection: false });
  const run = (user: string, host: string) => {
    const t = task();
    const r = authorizeTask(g.user(user)!, t, input(host), false, memo);
    assert.ok(!(r instanceof Promise), 'answered synchronously');
    t.onFinish?.(t);
    return r === null ? 'ok' : r.code;
  };
  assert.equal(run('a', 'ok.example'), 'ok');
  assert.equal(run('a', 'ok.example'), 'ok', 'remembered answer');
  assert.equal(run('a', 'no.example'), 'FORBIDDEN_DESTINATION');
  assert.equal(run('a', 'no.example'), 'FORBIDDEN_DESTINATION', 'remembered refusal');
  assert.equal(run('b', 'no.example'), 'ok', 'another user on the connection is checked by its own rules');
  assert.equal(run('a', 'no.example'), 'FORBIDDEN_DESTINATION');
  // counters follow the user and request type even though the memo caches them
  const statsA = g.user('a')!.statsFor('http', 'http_forward');
  const statsB = g.user('b')!.statsFor('http', 'http_forward');
  assert.equal(statsA.requestTotal, 2);
  assert.equal(statsA.forbiddenDestDenied, 3);
  assert.equal(statsB.requestTotal, 1);
  assert.equal(statsA.requestAlive, 0, 'each finished task gave its slot back');
  assert.equal(statsB.requestAlive, 0);
});
