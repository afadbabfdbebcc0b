/**
 * The daemon's control socket: a Unix stream socket, owner-only, speaking g3's text mode and sluice's
 * JSON-lines RPC (see connection.ts).
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { chmod, link, lstat, mkdir, mkdtemp, rmdir, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';

import { ControlConnection, type ConnectionContext } from './connection.js';
import type { ControlLogger } from './logger.js';
import type { ControlHandlers } from './methods.js';
import { DEFAULT_RECV_TIMEOUT_MS, DEFAULT_SEND_TIMEOUT_MS } from './protocol.js';

export interface ControlServerOptions {
  /** socket path, usually from `controlSocketPath()` */
  path: string;
  /** method name → implementation; a throw becomes an error reply carrying its message */
  handlers: ControlHandlers;
  /** answered to the text-mode `version` command, and to the `version` method unless a handler overrides it */
  version: string;
  logger?: ControlLogger;
  /** text-mode idle limit (g3: 30 s); `set recv_timeout` changes it per connection */
  recvTimeoutMs?: number;
  /** how long a reply may wait for the peer to read it (g3: 1 s); `set send_timeout` changes it */
  sendTimeoutMs?: number;
  /** how long to wait for an existing socket at `path` to answer before calling it live (default 1 s) */
  probeTimeoutMs?: number;
}

/** sun_path is 108 bytes on Linux, NUL included. */
const MAX_SOCKET_PATH_BYTES = 107;

type State = 'new' | 'starting' | 'listening' | 'closed';

export class ControlServer {
  readonly path: string;
  readonly #options: ControlServerOptions;
  readonly #context: ConnectionContext;
  readonly #connections = new Set<ControlConnection>();
  #server: Server | undefined;
  #state: State = 'new';
  /** identity of the file we bound, so close() never unlinks a successor's socket at the same path */
  #boundFile: { dev: number; ino: number } | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: ControlServerOptions) {
    this.path = options.path;
    this.#options = options;
    this.#context = {
      handlers: options.handlers,
      version: options.version,
      logger: options.logger,
      recvTimeoutMs: options.recvTimeoutMs ?? DEFAULT_RECV_TIMEOUT_MS,
      sendTimeoutMs: options.sendTimeoutMs ?? DEFAULT_SEND_TIMEOUT_MS,
    };
  }

  get listening(): boolean {
    return this.#state === 'listening';
  }

  /** Connections currently open. */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /**
   * Bind the socket. Fails if a live process answers at the path or the path is not a socket; removes a
   * stale socket file (left by a crashed daemon) otherwise.
   */
  async start(): Promise<void> {
    if (this.#state !== 'new') throw new Error(`control server ${this.path} can only be started once`);
    this.#state = 'starting';
    try {
      const dir = dirname(this.path);
      await mkdir(dir, { recursive: true });
      await this.#removeStaleSocket();
      const server = createServer({ allowHalfOpen: true }, (socket) => this.#accept(socket));
      server.on('error', (err) => this.#options.logger?.warn(`control: server ${this.path}: ${err.message}`));
      this.#server = server;
      await this.#bindOwnerOnly(server, dir);
      const st = await lstat(this.path);
      this.#boundFile = { dev: st.dev, ino: st.ino };
      if (this.#state !== 'starting') {
        // close() ran while we were binding: undo what it could not see yet.
        await this.#closeServer();
        await this.#unlinkIfOurs();
        throw new Error(`control server ${this.path} closed while starting`);
      }
      this.#state = 'listening';
      this.#options.logger?.info(`control: listening on ${this.path}`);
    } catch (err) {
      this.#state = 'closed';
      await this.#closeServer();
      throw err;
    }
  }

  /** Stop listening, drop every connection (replies in flight are discarded) and unlink our socket file. */
  close(): Promise<void> {
    this.#closing ??= this.#doClose();
    return this.#closing;
  }

  async #doClose(): Promise<void> {
    const wasListening = this.#state === 'listening';
    this.#state = 'closed';
    for (const conn of this.#connections) conn.destroy();
    this.#connections.clear();
    await this.#closeServer();
    if (wasListening) await this.#unlinkIfOurs();
  }

  #accept(socket: Socket): void {
    // The socket file is visible from the moment it is linked into place, a little before start() returns:
    // a client that connects in that window is served, not reset.
    if (this.#state === 'closed') {
      socket.destroy();
      return;
    }
    const conn = new ControlConnection(socket, this.#context);
    this.#connections.add(conn);
    socket.on('close', () => this.#connections.delete(conn));
  }

  /**
   * Bind in a private (0700) temp dir, chmod 0600, then hard-link into place: the socket is never reachable
   * with looser permissions, and link() fails instead of clobbering a socket another daemon bound meanwhile.
   */
  async #bindOwnerOnly(server: Server, dir: string): Promise<void> {
    const tmpDir = await mkdtemp(join(dir, '.'));
    const tmpPath = join(tmpDir, 's');
    try {
      if (Buffer.byteLength(tmpPath) > MAX_SOCKET_PATH_BYTES) {
        // The detour would not fit in sun_path while the target does: bind directly, chmod right away.
        await listen(server, this.path);
        await chmod(this.path, 0o600);
        return;
      }
      await listen(server, tmpPath);
      await chmod(tmpPath, 0o600);
      try {
        await link(tmpPath, this.path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
          throw new Error(`control socket ${this.path} was created by another process while starting`, { cause: err });
        }
        throw err;
      }
      await unlink(tmpPath);
    } finally {
      await unlink(tmpPath).catch(() => undefined);
      await rmdir(tmpDir).catch(() => undefined);
    }
  }

  async #removeStaleSocket(): Promise<void> {
    let st;
    try {
      st = await lstat(this.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    if (!st.isSocket()) throw new Error(`control socket path ${this.path} exists and is not a socket`);
    if (await isLive(this.path, this.#options.probeTimeoutMs ?? 1000)) {
      throw new Error(`control socket ${this.path} is in use by a running daemon`);
    }
    this.#options.logger?.info(`control: removing stale socket ${this.path}`);
    await unlink(this.path).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }

  async #unlinkIfOurs(): Promise<void> {
    const bound = this.#boundFile;
    if (bound === undefined) return;
    try {
      const st = await lstat(this.path);
      if (st.dev === bound.dev && st.ino === bound.ino) await unlink(this.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.#options.logger?.warn(`control: failed to remove ${this.path}: ${(err as Error).message}`);
      }
    }
  }

  #closeServer(): Promise<void> {
    const server = this.#server;
    if (server === undefined || !server.listening) return Promise.resolve();
    return new Promise((resolve) => server.close(() => resolve()));
  }
}

function listen(server: Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen(path, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/** Does something accept connections at this socket path? Refused or missing means a stale file. */
function isLive(path: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    const timer = setTimeout(() => {
      // No answer in time: a wedged daemon still owns it, so leave the file alone.
      socket.destroy();
      resolve(true);
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(true);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (err.code === 'ECONNREFUSED' || err.code === 'ENOENT') resolve(false);
      else reject(new Error(`cannot probe control socket ${path}: ${err.message}`, { cause: err }));
    });
  });
}
