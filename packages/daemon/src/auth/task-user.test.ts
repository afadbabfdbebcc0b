import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConnectTuning } from '../escape/direct_fixed/config.js';
import { TaskContext } from '../task/task.js';
import { buildTaskOverrides, userConnectOptions } from './task-user.js';
import { parseUserConfig } from './user-config.js';
import { remoteUdpTtl, unappliedUserOptions } from './user-socket-opts.js';

function taskOf(user: Record<string, unknown>): TaskContext {
  const t = new TaskContext('TcpConnect', 's', 'HttpProxy', '', '');
  t.userResolve = buildTaskOverrides(parseUserConfig({ name: 'u', token: null, ...user }));
  return t;
}

test('a user without overrides hands the escaper\'s options through unchanged', () => {
  const opts = { tuning: parseConnectTuning({}) };
  assert.equal(buildTaskOverrides(parseUserConfig({ name: 'u', token: null })), undefined);
  assert.equal(userConnectOptions(opts, taskOf({})), opts);
});

test('tcp_connect only tightens the escaper\'s; keepalive and no_delay replace it', () => {
  const opts = { tuning: parseConnectTuning({ tcp_connect: { max_retry: 1, each_timeout: '5s' } }) };
  const t = userConnectOptions(opts, taskOf({
    tcp_connect: { max_retry: 4, each_timeout: '1s' },
    tcp_remote_keepalive: { enable: true, idle_time: '30s' },
    tcp_remote_misc_opts: { no_delay: false },
  })).tuning;
  assert.equal(t.maxAttempts, 2, 'the escaper allows fewer tries than the user asks');
  assert.equal(t.eachTimeoutMs, 1000);
  assert.deepEqual(t.keepAlive, { enable: true, idleMs: 30_000 });
  assert.equal(t.noDelay, false);
});

test('options Node cannot set are listed by key and option', () => {
  const c = parseUserConfig({
    name: 'u', token: null,
    tcp_remote_misc_opts: { no_delay: true, tos: 16, mark: 3 },
    tcp_remote_keepalive: { enable: true, probe_count: 3 },
    udp_client_misc_opts: { ttl: 9 },
    udp_remote_misc_opts: { hop_limit: 9, tos: 8 },
  });
  assert.deepEqual(unappliedUserOptions(c), [
    'tcp_remote_misc_opts.type_of_service', 'tcp_remote_misc_opts.netfilter_mark', 'tcp_remote_keepalive.probe_count', 'udp_remote_misc_opts.type_of_service',
  ]);
});

test('udp_remote_misc_opts: the remote UDP socket takes the smaller TTL of the escaper and the user', () => {
  const u = parseUserConfig({ name: 'u', token: null, udp_remote_misc_opts: { ttl: 20, hop_limit: 30 } });
  const o = buildTaskOverrides(u);
  assert.deepEqual(o?.udpRemoteMiscOpts, { timeToLive: 20, hopLimit: 30 });
  assert.equal(remoteUdpTtl(undefined, o?.udpRemoteMiscOpts, false), 20, 'the user alone');
  assert.equal(remoteUdpTtl(undefined, o?.udpRemoteMiscOpts, true), 30, 'IPv6 takes hop_limit');
  assert.equal(remoteUdpTtl({ timeToLive: 8 }, o?.udpRemoteMiscOpts, false), 8, 'the escaper caps the user');
  assert.equal(remoteUdpTtl({ timeToLive: 64 }, o?.udpRemoteMiscOpts, false), 20);
  assert.equal(remoteUdpTtl({ timeToLive: 64 }, undefined, false), 64, 'no user value: the escaper\'s');
  assert.equal(remoteUdpTtl({ timeToLive: 64 }, undefined, true), 64, 'either key stands in for the other');
  assert.equal(remoteUdpTtl(undefined, undefined, false), undefined);
});
