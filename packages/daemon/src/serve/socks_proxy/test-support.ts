/**
 * In-process harness for socks_proxy tests: a SocksProxyServer on a fake runtime (task log records captured,
 * escaper supplied by the test) fed by a real loopback listener. Not used by the daemon.
 */
import type { TaskContext } from '../../task/task.js';
import { taskLogFields } from '../../task/task-log.js';
import { createServer, connect, type Server as NetServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Escaper } from '../../escape/types.js';
import type { ParseContext } from '../../runtime/object-def.js';
import type { Runtime } from '../../runtime/runtime.js';
import { clientInfoOf } from '../base-server.js';
import { parseSocksProxyConfig } from './config.js';
import { SocksProxyServer } from './server.js';

export interface Harness {
  server: SocksProxyServer;
  port: number;
  logs: Array<Map<string, unknown>>;
  close(): Promise<void>;
}

export async function startHarness(escaper: Partial<Escaper>, extra: Record<string, unknown> = {}): Promise<Harness> {
  const logs: Array<Map<string, unknown>> = [];
  const taskLogger = {
    enabled: true,
    stats: { total: 0, pass: 0, drop: 0 },
    log: (_t: string, f: Array<[string, unknown]>) => logs.push(new Map(f)),
    logTask: (t: TaskContext, total: number) => logs.push(new Map(taskLogFields(t, total))),
  };
  const runtime = {
    escaper: () => escaper,
    logs: {
      forServer: () => taskLogger,
    },
  } as unknown as Runtime;
  const ctx = { object: {}, baseDir: '.', fail: (p: string[], w: string) => { throw new Error(`${p.join('.')}: ${w}`); } } as unknown as ParseContext;
  const server = new SocksProxyServer(parseSocksProxyConfig({ name: 'socks', type: 'socks_proxy', escaper: 'fake', ...extra }, ctx), runtime);
  const front: NetServer = createServer((s) => server.acceptSocket(s, clientInfoOf(s)!));
  await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
  return {
    server,
    port: (front.address() as AddressInfo).port,
    logs,
    close: async () => {
      server.destroy();
      await new Promise((r) => front.close(r));
    },
  };
}

/**
 * Write `parts` in order; after each, wait (bounded) until `expect[i]` more bytes came back. Then wait up to
 * 1s for the server to close. Returns what came back.
 */
export async function talk(port: number, parts: Buffer[], expect: number[]): Promise<{ data: Buffer; closed: boolean; socket: Socket }> {
  const s = connect(port, '127.0.0.1');
  s.on('error', () => {});
  const got: Buffer[] = [];
  let closed = false;
  s.on('data', (d) => got.push(d));
  s.on('close', () => (closed = true));
  await new Promise((r) => s.once('connect', r));
  let want = 0;
  for (let i = 0; i < parts.length; i++) {
    s.write(parts[i]!);
    want += expect[i]!;
    const deadline = Date.now() + 3000;
    while (Buffer.concat(got).length < want && !closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  }
  const deadline = Date.now() + 1000;
  while (!closed && Date.now() < deadline && expect.length > parts.length) await new Promise((r) => setTimeout(r, 10));
  return { data: Buffer.concat(got), closed, socket: s };
}
