/**
 * Duplicate file descriptors of a listening socket, so one listener can be watched by several accept handles.
 *
 * Why: libuv (since 1.45, so Node 20) accepts at most one connection per listening handle per event-loop turn.
 * Under load a turn takes milliseconds (every ready socket is served in it), so a burst of new connections
 * waits in the kernel's accept queue one turn each: 40 clients arriving while 160 others keep the proxy busy
 * waited up to ~0.9 s to be accepted, though each was then served in ~20 ms. Several handles on the same
 * socket accept several connections per turn. Node has no dup(); passing a handle to a child over IPC and
 * back does it (the kernel installs a new descriptor for the same socket on receipt), with public APIs only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Server as NetServer } from 'node:net';

/**
 * The child echoes every handle it receives straight back and closes its own copy once sent (a copy left open
 * would keep the socket listening after the daemon closed it), and exits when the parent disconnects.
 */
const ECHO = "process.on('message', (m, h) => process.send(m, h, () => h && h.close())); process.on('disconnect', () => process.exit(0));";
const REPLY_TIMEOUT_MS = 5000;
/** the child is kept this long after its last use, so a startup binding many listeners spawns it once */
const CHILD_IDLE_MS = 250;

type Handle = object;

let child: ChildProcess | null = null;
let idleTimer: NodeJS.Timeout | undefined;
let seq = 0;
/** requests go one at a time: a reply carries no handle identity beyond its sequence number */
let queue: Promise<unknown> = Promise.resolve();

function echoChild(): ChildProcess {
  if (child && child.connected) return child;
  const c = spawn(process.execPath, ['-e', ECHO], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
  c.on('error', () => {});
  c.on('exit', () => {
    if (child === c) child = null;
  });
  c.unref();
  // the IPC channel keeps the event loop alive too: release it, replies are awaited explicitly
  (c as unknown as { channel?: { unref(): void } }).channel?.unref();
  child = c;
  return c;
}

function stopSoon(): void {
  clearTimeout(idleTimer);
  idleTimer = setTimeout(() => {
    if (child?.connected) child.disconnect();
    child = null;
  }, CHILD_IDLE_MS);
  idleTimer.unref();
}

function roundTrip(c: ChildProcess, handle: Handle): Promise<Handle> {
  const id = ++seq;
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, h?: Handle) => {
      clearTimeout(timer);
      c.off('message', onMessage);
      c.off('exit', onExit);
      if (err) reject(err);
      else resolve(h!);
    };
    const onMessage = (m: unknown, h: Handle | undefined) => {
      if (m !== id) return;
      if (h) done(null, h);
      else done(new Error('the echo came back without a handle'));
    };
    const onExit = () => done(new Error('the handle echo process exited'));
    const timer = setTimeout(() => done(new Error('no handle echo within 5s')), REPLY_TIMEOUT_MS);
    c.on('message', onMessage);
    c.on('exit', onExit);
    // keepOpen: the listening socket stays ours while its copy travels
    c.send(id, handle as never, { keepOpen: true }, (e) => e && done(e));
  });
}

/**
 * `count` new handles (raw TCP handles, for `server.listen(handle)`) on the socket `server` listens on.
 * Rejects if the platform cannot pass handles; the caller then keeps its one handle.
 */
export function duplicateListenHandles(server: NetServer, count: number): Promise<Handle[]> {
  const handle = (server as unknown as { _handle?: Handle | null })._handle;
  if (!handle) return Promise.reject(new Error('the server is not listening'));
  const run = async (): Promise<Handle[]> => {
    clearTimeout(idleTimer);
    const c = echoChild();
    try {
      const out: Handle[] = [];
      for (let i = 0; i < count; i++) out.push(await roundTrip(c, handle));
      return out;
    } finally {
      stopSoon();
    }
  };
  const p = queue.then(run, run);
  queue = p.catch(() => {});
  return p;
}
