import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { link, lstat, stat, unlink, writeFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { ControlApiError } from './errors.js';
import type { ControlHandlers } from './methods.js';
import { ControlServer } from './server.js';
import { makeTempDir, RawLineClient, sleep, sleepUnref } from './test-support.js';

const VERSION = 'sluice 9.9.9-test';

const handlers: ControlHandlers = {
  echo: (params: unknown) => params,
  fail: () => {
    throw new Error('boom');
  },
  fail_api: () => {
    throw new ControlApiError(-2, 'not today');
  },
  fail_async: async () => {
    await sleep(1);
    throw new Error('async boom');
  },
  sleep: async ({ ms, tag }: { ms: number; tag: string }) => {
    await sleepUnref(ms);
    return tag;
  },
  nothing: () => undefined,
};

describe('ControlServer', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let server: ControlServer;
  let path: string;
  const clients: RawLineClient[] = [];

  async function connect(): Promise<RawLineClient> {
    const client = await RawLineClient.connect(path);
    clients.push(client);
    return client;
  }

  async function jsonClient(): Promise<RawLineClient> {
    const client = await connect();
    client.write('json\n');
    return client;
  }

  before(async () => {
    tmp = await makeTempDir();
    path = join(tmp.dir, 'test_1.sock');
    server = new ControlServer({ path, handlers, version: VERSION });
    await server.start();
  });

  after(async () => {
    for (const c of clients) c.destroy();
    await server.close();
    await tmp.cleanup();
  });

  test('the socket file is a socket, mode 0600', async () => {
    const st = await lstat(path);
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o777, 0o600);
    // the private bind directory is gone
    const { readdir } = await import('node:fs/promises');
    assert.deepEqual(await readdir(tmp.dir), ['test_1.sock']);
  });

  describe('text mode', () => {
    test('pid and version', async () => {
      const c = await connect();
      c.write('pid\n');
      assert.equal(await c.readLine(), String(process.pid));
      c.write('version\n');
      assert.equal(await c.readLine(), VERSION);
    });

    test('commands are case-insensitive and CRLF is accepted', async () => {
      const c = await connect();
      c.write('PID\r\n');
      assert.equal(await c.readLine(), String(process.pid));
    });

    test('set recv_timeout / send_timeout echo k = v; bad values are errors', async () => {
      const c = await connect();
      c.write('SET Recv_Timeout 5\n');
      assert.equal(await c.readLine(), 'recv_timeout = 5');
      c.write('set send_timeout 2\n');
      assert.equal(await c.readLine(), 'send_timeout = 2');
      c.write('set recv_timeout soon\n');
      assert.match(await c.readLine(), /^Error: invalid value for recv_timeout: soon$/);
      c.write('set recv_timeout 0\n');
      assert.match(await c.readLine(), /^Error: invalid value/);
      c.write('set colour blue\n');
      assert.equal(await c.readLine(), 'Error: unknown option colour');
      c.write('set recv_timeout\n');
      assert.match(await c.readLine(), /^Error: usage: set/);
    });

    test('unknown commands get an Error line and the connection stays usable', async () => {
      const c = await connect();
      c.write('frobnicate\n');
      assert.equal(await c.readLine(), 'Error: unknown command frobnicate');
      c.write('pid extra\n');
      assert.equal(await c.readLine(), 'Error: pid takes no argument');
      c.write('\n   \npid\n');
      assert.equal(await c.readLine(), String(process.pid));
    });

    test('quit closes the connection and ignores what follows', async () => {
      const c = await connect();
      c.write('quit\npid\n');
      assert.equal(await c.waitClosed(), true);
      assert.equal(c.unread, '');
    });

    test('capnp is refused with a hint and the connection closed', async () => {
      const c = await connect();
      c.write('capnp\n');
      assert.equal(await c.readLine(), 'Error: capnp is not supported, use json');
      assert.equal(await c.waitClosed(), true);
    });

    test('a 1024-byte command is read; 1025 bytes is an error and closes the connection', async () => {
      const c = await connect();
      c.write('a'.repeat(1024) + '\n');
      assert.equal(await c.readLine(), `Error: unknown command ${'a'.repeat(1024)}`);
      c.write('b'.repeat(1025) + '\npid\n');
      assert.equal(await c.readLine(), 'Error: command line longer than 1024 bytes');
      assert.equal(await c.waitClosed(), true);
      assert.equal(c.unread, '');
    });

    test('a line that never ends is cut off at the bound', async () => {
      const c = await connect();
      c.write('x'.repeat(4096));
      assert.equal(await c.readLine(), 'Error: command line longer than 1024 bytes');
      assert.equal(await c.waitClosed(), true);
    });
  });

  describe('JSON mode', () => {
    test('a good call, pipelined right behind the mode switch', async () => {
      const c = await connect();
      c.write('json\n{"id":1,"method":"echo","params":{"a":[1,"two"]}}\n');
      assert.deepEqual(await c.readJson(), { id: 1, result: { a: [1, 'two'] } });
    });

    test('JSON mode is entered case-insensitively and string ids are echoed', async () => {
      const c = await connect();
      c.write('JSON\n{"id":"x-1","method":"echo"}\n');
      assert.deepEqual(await c.readJson(), { id: 'x-1', result: {} });
    });

    test('version is built in; undefined results become null', async () => {
      const c = await jsonClient();
      c.write('{"id":1,"method":"version"}\n{"id":2,"method":"nothing"}\n');
      assert.deepEqual(await c.readJson(), { id: 1, result: VERSION });
      assert.deepEqual(await c.readJson(), { id: 2, result: null });
    });

    test('unknown methods, prototype names included, are error replies', async () => {
      const c = await jsonClient();
      c.write('{"id":1,"method":"nope"}\n{"id":2,"method":"toString"}\n{"id":3,"method":"__proto__"}\n');
      assert.deepEqual(await c.readJson(), { id: 1, error: { code: -1, reason: 'unknown method: nope' } });
      assert.deepEqual(await c.readJson(), { id: 2, error: { code: -1, reason: 'unknown method: toString' } });
      assert.deepEqual(await c.readJson(), { id: 3, error: { code: -1, reason: 'unknown method: __proto__' } });
    });

    test('malformed lines get an error reply and the connection keeps working', async () => {
      const c = await jsonClient();
      c.write('{"id":1,"method":\n');
      const bad = await c.readJson();
      assert.equal(bad.id, null);
      assert.match((bad.error as { reason: string }).reason, /^invalid json: /);
      c.write('[1,2]\n{"method":"echo"}\n{"id":{},"method":"echo"}\n{"id":4,"method":7}\n{"id":5,"method":"echo","params":[1]}\n');
      assert.deepEqual(await c.readJson(), { id: null, error: { code: -1, reason: 'invalid request: not a JSON object' } });
      assert.deepEqual(await c.readJson(), { id: null, error: { code: -1, reason: 'invalid request: id must be a number or a string' } });
      assert.deepEqual(await c.readJson(), { id: null, error: { code: -1, reason: 'invalid request: id must be a number or a string' } });
      assert.deepEqual(await c.readJson(), { id: 4, error: { code: -1, reason: 'invalid request: method must be a string' } });
      assert.deepEqual(await c.readJson(), { id: 5, error: { code: -1, reason: 'invalid request: params must be an object' } });
      c.write('{"id":6,"method":"echo","params":{"ok":true}}\n');
      assert.deepEqual(await c.readJson(), { id: 6, result: { ok: true } });
    });

    test('a throwing handler becomes an error reply with its message (and code, for ControlApiError)', async () => {
      const c = await jsonClient();
      c.write('{"id":1,"method":"fail"}\n');
      assert.deepEqual(await c.readJson(), { id: 1, error: { code: -1, reason: 'boom' } });
      c.write('{"id":2,"method":"fail_api"}\n');
      assert.deepEqual(await c.readJson(), { id: 2, error: { code: -2, reason: 'not today' } });
      c.write('{"id":3,"method":"fail_async"}\n');
      assert.deepEqual(await c.readJson(), { id: 3, error: { code: -1, reason: 'async boom' } });
    });

    test('concurrent calls are answered as they finish, matched by id', async () => {
      const c = await jsonClient();
      c.write(
        '{"id":1,"method":"sleep","params":{"ms":150,"tag":"slow"}}\n' +
          '{"id":2,"method":"sleep","params":{"ms":10,"tag":"fast"}}\n' +
          '{"id":3,"method":"echo","params":{"n":3}}\n',
      );
      assert.deepEqual(await c.readJson(), { id: 3, result: { n: 3 } });
      assert.deepEqual(await c.readJson(), { id: 2, result: 'fast' });
      assert.deepEqual(await c.readJson(), { id: 1, result: 'slow' });
    });

    test('a line over 1 MiB gets an error reply (id null) and the next request is served', async () => {
      const c = await jsonClient();
      const big = JSON.stringify({ id: 1, method: 'echo', params: { pad: 'x'.repeat(1024 * 1024) } });
      c.write(big + '\n{"id":2,"method":"echo","params":{"after":1}}\n');
      assert.deepEqual(await c.readJson(5000), {
        id: null,
        error: { code: -1, reason: 'request line longer than 1048576 bytes' },
      });
      assert.deepEqual(await c.readJson(), { id: 2, result: { after: 1 } });
    });

    test('a line just under 1 MiB is accepted', async () => {
      const c = await jsonClient();
      const head = '{"id":1,"method":"echo","params":{"pad":"';
      const tail = '"}}';
      const pad = 'y'.repeat(1024 * 1024 - head.length - tail.length);
      c.write(head + pad + tail + '\n');
      const reply = await c.readJson(5000);
      assert.equal((reply.result as { pad: string }).pad.length, pad.length);
    });

    test('JSON connections are not cut by the text-mode idle timer', async () => {
      const tmp2 = await makeTempDir();
      const quick = new ControlServer({ path: join(tmp2.dir, 'q.sock'), handlers, version: VERSION, recvTimeoutMs: 100 });
      await quick.start();
      try {
        const text = await RawLineClient.connect(quick.path);
        const json = await RawLineClient.connect(quick.path);
        json.write('json\n');
        assert.equal(await text.waitClosed(2000), true, 'idle text connection closed');
        await sleep(200);
        json.write('{"id":1,"method":"echo"}\n');
        assert.deepEqual(await json.readJson(), { id: 1, result: {} });
        json.destroy();
      } finally {
        await quick.close();
        await tmp2.cleanup();
      }
    });

    test('a reader that stops reading is dropped after the send timeout', async () => {
      const tmp2 = await makeTempDir();
      const slow = new ControlServer({ path: join(tmp2.dir, 's.sock'), handlers, version: VERSION, sendTimeoutMs: 100 });
      await slow.start();
      try {
        const c = await RawLineClient.connect(slow.path);
        c.socket.pause();
        // Several large replies overflow the socket buffers of a peer that does not read.
        const request = JSON.stringify({ id: 1, method: 'echo', params: { pad: 'z'.repeat(900 * 1024) } });
        c.write('json\n' + `${request}\n`.repeat(4));
        const deadline = Date.now() + 3000;
        while (slow.connectionCount > 0 && Date.now() < deadline) await sleep(20);
        assert.equal(slow.connectionCount, 0);
        c.destroy();
      } finally {
        await slow.close();
        await tmp2.cleanup();
      }
    });

    test('after the client half-closes, calls in flight are still answered', async () => {
      const c = await jsonClient();
      c.write('{"id":1,"method":"sleep","params":{"ms":50,"tag":"done"}}\n');
      c.socket.end();
      assert.deepEqual(await c.readJson(), { id: 1, result: 'done' });
      assert.equal(await c.waitClosed(), true);
    });
  });
});

describe('ControlServer lifecycle', () => {
  test('close unlinks the socket, drops connections and is idempotent', async () => {
    const tmp = await makeTempDir();
    const path = join(tmp.dir, 'g.sock');
    const server = new ControlServer({ path, handlers, version: VERSION });
    await server.start();
    assert.equal(server.listening, true);
    const c = await RawLineClient.connect(path);
    c.write('json\n{"id":1,"method":"sleep","params":{"ms":5000,"tag":"never"}}\n');
    await sleep(20);
    await Promise.all([server.close(), server.close()]);
    assert.equal(server.listening, false);
    assert.equal(await c.waitClosed(), true);
    await assert.rejects(lstat(path), { code: 'ENOENT' });
    await server.close();
    await tmp.cleanup();
  });

  test('refuses to start while a live daemon answers on the path', async () => {
    const tmp = await makeTempDir();
    const path = join(tmp.dir, 'g.sock');
    const first = new ControlServer({ path, handlers, version: VERSION });
    await first.start();
    const second = new ControlServer({ path, handlers, version: VERSION });
    await assert.rejects(second.start(), /in use by a running daemon/);
    // the first is untouched
    const c = await RawLineClient.connect(path);
    c.write('version\n');
    assert.equal(await c.readLine(), VERSION);
    c.destroy();
    await second.close();
    await first.close();
    await tmp.cleanup();
  });

  test('removes a stale socket file left by a dead process', async () => {
    const tmp = await makeTempDir();
    const path = join(tmp.dir, 'g.sock');
    // Make a socket file nobody listens on: bind, keep a second name, close (Node unlinks the first name).
    const scratch = join(tmp.dir, 'scratch.sock');
    const raw = createServer();
    await new Promise<void>((resolve) => raw.listen(scratch, resolve));
    await link(scratch, path);
    await new Promise<void>((resolve) => raw.close(() => resolve()));
    assert.ok((await lstat(path)).isSocket());

    const server = new ControlServer({ path, handlers, version: VERSION });
    await server.start();
    const c = await RawLineClient.connect(path);
    c.write('pid\n');
    assert.equal(await c.readLine(), String(process.pid));
    c.destroy();
    await server.close();
    await unlink(scratch).catch(() => undefined);
    await tmp.cleanup();
  });

  test('refuses to replace something that is not a socket', async () => {
    const tmp = await makeTempDir();
    const path = join(tmp.dir, 'g.sock');
    await writeFile(path, 'precious');
    const server = new ControlServer({ path, handlers, version: VERSION });
    await assert.rejects(server.start(), /exists and is not a socket/);
    assert.equal(await readFile(path, 'utf8'), 'precious');
    await tmp.cleanup();
  });

  test("close leaves a successor's socket at the same path alone (hot upgrade hand-over)", async () => {
    const tmp = await makeTempDir();
    const path = join(tmp.dir, 'g.sock');
    const old = new ControlServer({ path, handlers, version: 'old' });
    await old.start();
    // The successor takes the group socket over (as after releaseController).
    await unlink(path);
    const successor = new ControlServer({ path, handlers, version: 'new' });
    await successor.start();
    await old.close();
    const c = await RawLineClient.connect(path);
    c.write('version\n');
    assert.equal(await c.readLine(), 'new');
    c.destroy();
    await successor.close();
    await assert.rejects(stat(path), { code: 'ENOENT' });
    await tmp.cleanup();
  });

  test('creates a missing control dir and cannot start twice', async () => {
    const tmp = await makeTempDir();
    const path = join(tmp.dir, 'a', 'b', 'g.sock');
    const server = new ControlServer({ path, handlers, version: VERSION });
    await server.start();
    await assert.rejects(server.start(), /can only be started once/);
    await server.close();
    await tmp.cleanup();
  });
});
