import { createSocket } from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ParseContext } from '../../runtime/object-def.js';
import type { Runtime } from '../../runtime/runtime.js';
import { TaskContext } from '../../task/task.js';
import type { Escaper } from '../types.js';
import { decode } from './msgpack.js';
import { routeQueryType, type RouteQueryConfig } from './index.js';

const ctx: ParseContext = { object: {} as ParseContext['object'], baseDir: '/', fail: (p, why) => { throw new Error(`${p.join('/')}: ${why}`); } };

/** Leaf escapers that "connect" by reporting their own name. */
function fakeRuntime(): Runtime {
  const leaf = (name: string) => ({ name, tcpConnect: async () => ({ socket: null, info: { escaper: name, tcpConnectTries: 0, tcpConnectSpendMs: 0 } }) }) as unknown as Escaper;
  return { escaper: leaf, plog: { warn() {} } } as unknown as Runtime;
}

describe('route_query', () => {
  const agent = createSocket('udp4');
  const queries: Array<Map<string, unknown>> = [];
  let mode: 'answer' | 'silent' | 'unknown-node' = 'answer';
  let agentPort = 0;

  before(async () => {
    agent.on('message', (msg, r) => {
      const q = decode(msg) as Map<string, unknown>;
      queries.push(q);
      if (mode === 'silent') return;
      const id = q.get('id') as Buffer;
      const node = mode === 'answer' ? 'b' : 'zz';
      // {id, nodes: [node], ttl: 60}
      agent.send(Buffer.concat([Buffer.from([0x83, 0xa2]), Buffer.from('id'), Buffer.from([0xc4, 16]), id,
        Buffer.from([0xa5]), Buffer.from('nodes'), Buffer.from([0x91, 0xa0 | node.length]), Buffer.from(node),
        Buffer.from([0xa3]), Buffer.from('ttl'), Buffer.from([60])]), r.port, r.address);
    });
    await new Promise<void>((r) => agent.bind(0, '127.0.0.1', r));
    agentPort = agent.address().port;
  });
  after(() => agent.close());

  const make = () => {
    const cfg = routeQueryType.parse({
      name: 'q', type: 'route_query', query_allowed_next: ['a', 'b'], fallback_node: 'a',
      query_peer_addr: `127.0.0.1:${agentPort}`, query_pass_client_ip: true, cache_request_timeout: '300ms',
    }, ctx) as RouteQueryConfig;
    return routeQueryType.create(cfg, fakeRuntime());
  };
  const via = async (e: ReturnType<typeof make>, host: string) => {
    const task = new TaskContext('TcpConnect', 's', 'HttpProxy', '127.0.0.9:5555', '127.0.0.1:80');
    task.user = 'alice';
    const c = await e.tcpConnect(task, { host, port: 80, ipFamily: 0 }, new AbortController().signal);
    return c.info.escaper;
  };

  it('follows the agent, sends user/host/client_ip, and caches the answer', async () => {
    mode = 'answer';
    const e = make();
    try {
      assert.equal(await via(e, 'x.example'), 'b');
      const q = queries.at(-1)!;
      assert.equal(q.get('user'), 'alice');
      assert.equal(q.get('host'), 'x.example');
      assert.equal(q.get('client_ip'), '127.0.0.9');
      assert.equal((q.get('id') as Buffer).length, 16);
      const n = queries.length;
      assert.equal(await via(e, 'x.example'), 'b');
      assert.equal(queries.length, n, 'second task served from the cache');
      assert.equal(e.routeStats.requestPassed, 2);
    } finally {
      e.destroy();
    }
  });

  it('falls back when the agent is silent (within cache_request_timeout) or names a node not allowed', async () => {
    const e = make();
    try {
      mode = 'silent';
      const t0 = performance.now();
      assert.equal(await via(e, 'silent.example'), 'a');
      const ms = performance.now() - t0;
      assert.ok(ms >= 250 && ms < 1500, `waited ${ms}ms`);
      mode = 'unknown-node';
      assert.equal(await via(e, 'other.example'), 'a');
    } finally {
      e.destroy();
    }
  });
});
