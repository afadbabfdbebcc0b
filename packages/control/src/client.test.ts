import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { join } from 'node:path';

import { ControlClient } from './client.js';
import { ControlApiError, ControlRpcError } from './errors.js';
import type { ControlHandlerTable, ControlHandlers } from './methods.js';
import { ControlServer } from './server.js';
import { makeTempDir, sleep, sleepUnref } from './test-support.js';

describe('ControlClient', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let server: ControlServer;
  let path: string;
  const lists: Record<string, string[]> = { server: ['http', 'socks'], escaper: ['direct'] };

  const typed: Pick<ControlHandlerTable, 'list' | 'server_status' | 'reload'> = {
    list: ({ kind }) => lists[kind] ?? [],
    server_status: ({ name }) => {
      if (name !== 'http') throw new Error(`no server named ${name}`);
      return { online: true, alive_task_count: 2, total_conn_count: 10, total_task_count: 12 };
    },
    reload: () => 'success',
  };
  const handlers: ControlHandlers = {
    ...typed,
    slow: async ({ ms }: { ms: number }) => {
      await sleepUnref(ms);
      return ms;
    },
  };

  before(async () => {
    tmp = await makeTempDir();
    path = join(tmp.dir, 'c.sock');
    server = new ControlServer({ path, handlers, version: 'sluice test' });
    await server.start();
  });

  after(async () => {
    await server.close();
    await tmp.cleanup();
  });

  test('typed calls return results; errors become ControlApiError', async () => {
    const client = await ControlClient.connect(path);
    try {
      assert.equal(await client.call('version'), 'sluice test');
      assert.deepEqual(await client.call('list', { kind: 'server' }), ['http', 'socks']);
      const status = await client.call('server_status', { name: 'http' });
      assert.equal(status.total_task_count, 12);
      await assert.rejects(client.call('server_status', { name: 'nope' }), (err: unknown) => {
        assert.ok(err instanceof ControlApiError);
        assert.equal(err.code, -1);
        assert.equal(err.reason, 'no server named nope');
        return true;
      });
      await assert.rejects(client.call('offline'), { name: 'ControlApiError', reason: 'unknown method: offline' });
    } finally {
      await client.close();
    }
  });

  test('overlapping calls resolve to their own replies', async () => {
    const client = await ControlClient.connect(path);
    try {
      const results = await Promise.all([
        client.call<number>('slow', { ms: 80 }),
        client.call<number>('slow', { ms: 5 }),
        client.call('list', { kind: 'escaper' }),
      ]);
      assert.deepEqual(results, [80, 5, ['direct']]);
    } finally {
      await client.close();
    }
  });

  test('a call that outlives timeoutMs rejects with ControlRpcError; the late reply is ignored', async () => {
    const client = await ControlClient.connect(path, { timeoutMs: 50 });
    try {
      await assert.rejects(client.call('slow', { ms: 200 }), (err: unknown) => {
        assert.ok(err instanceof ControlRpcError);
        assert.match(err.message, /slow timed out after 50 ms/);
        return true;
      });
      await sleep(200); // the late reply arrives in here
      assert.deepEqual(await client.call('list', { kind: 'server' }), ['http', 'socks']);
    } finally {
      await client.close();
    }
  });

  test('oversized requests are refused locally', async () => {
    const client = await ControlClient.connect(path);
    try {
      await assert.rejects(client.call('reload', { kind: 'server', name: 'x'.repeat(1024 * 1024) }), /exceeds 1048576 bytes/);
      assert.equal(await client.call('reload', { kind: 'server', name: 'http' }), 'success');
    } finally {
      await client.close();
    }
  });

  test('connecting to a missing socket is a ControlRpcError', async () => {
    await assert.rejects(ControlClient.connect(join(tmp.dir, 'missing.sock')), (err: unknown) => {
      assert.ok(err instanceof ControlRpcError);
      assert.match(err.message, /failed to connect to control socket .*missing\.sock/);
      return true;
    });
  });

  test('calls in flight reject when the daemon goes away; later calls reject at once', async () => {
    const tmp2 = await makeTempDir();
    const path2 = join(tmp2.dir, 'd.sock');
    const doomed = new ControlServer({ path: path2, handlers, version: 'x' });
    await doomed.start();
    const client = await ControlClient.connect(path2);
    const inFlight = assert.rejects(client.call('slow', { ms: 5000 }), {
      name: 'ControlRpcError',
      message: 'control connection closed by the daemon',
    });
    await sleep(20);
    await doomed.close();
    await inFlight;
    await assert.rejects(client.call('version'), { name: 'ControlRpcError' });
    await client.close();
    await tmp2.cleanup();
  });

  test('a peer that answers in text mode (no JSON support) is an rpc error, not a hang', async () => {
    const tmp2 = await makeTempDir();
    const path2 = join(tmp2.dir, 'old.sock');
    const old = createServer((s) => s.once('data', () => s.write('Error: unknown command json\n')));
    await new Promise<void>((resolve) => old.listen(path2, resolve));
    const client = await ControlClient.connect(path2, { timeoutMs: 2000 });
    await assert.rejects(client.call('version'), /unexpected reply from daemon: Error: unknown command json/);
    await client.close();
    await new Promise<void>((resolve) => old.close(() => resolve()));
    await tmp2.cleanup();
  });

  test('close is idempotent and rejects later calls', async () => {
    const client = await ControlClient.connect(path);
    await client.close();
    await client.close();
    await assert.rejects(client.call('version'), /control client closed/);
  });
});
