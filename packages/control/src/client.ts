/**
 * Client side of the control socket, used by sluice-ctl and the testkit: switches the connection to JSON
 * mode, then sends requests and matches replies by id (calls may overlap).
 */
import { createConnection, type Socket } from 'node:net';

import { ControlApiError, ControlRpcError } from './errors.js';
import { LineSplitter, type LineSink } from './line-splitter.js';
import type { ControlCallArgs, ControlMethodName, ControlResult } from './methods.js';
import { JSON_LINE_MAX_BYTES, JSON_MODE_COMMAND } from './protocol.js';

export interface ControlClientOptions {
  /** bounds the connect and each call (default 30 s) */
  timeoutMs?: number;
  /** longest reply line accepted (default 64 MiB: user lists can be long) */
  maxReplyBytes?: number;
}

interface PendingCall {
  method: string;
  resolve(value: unknown): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_REPLY_BYTES = 64 * 1024 * 1024;

export class ControlClient {
  readonly path: string;
  readonly #socket: Socket;
  readonly #timeoutMs: number;
  readonly #splitter: LineSplitter;
  readonly #sink: LineSink;
  readonly #pending = new Map<number, PendingCall>();
  #nextId = 1;
  /** why the connection is unusable, once it is */
  #failure: ControlRpcError | undefined;
  #closed: Promise<void>;

  private constructor(path: string, socket: Socket, options: ControlClientOptions) {
    this.path = path;
    this.#socket = socket;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#splitter = new LineSplitter(options.maxReplyBytes ?? DEFAULT_MAX_REPLY_BYTES);
    this.#sink = {
      line: (line) => this.#onLine(line),
      overflow: () => {
        this.#fail(new ControlRpcError('reply line too long'));
        return false;
      },
    };
    this.#closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => this.#splitter.push(chunk, this.#sink));
    socket.on('error', (err) => this.#fail(new ControlRpcError(`control connection error: ${err.message}`, { cause: err })));
    socket.on('close', () => this.#fail(new ControlRpcError('control connection closed by the daemon')));
    // An idle client must not keep its process alive; a call in flight does.
    socket.unref();
  }

  /** Connect to a daemon's control socket and enter JSON mode. Rejects with ControlRpcError. */
  static connect(path: string, options: ControlClientOptions = {}): Promise<ControlClient> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    return new Promise((resolve, reject) => {
      const socket = createConnection(path);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new ControlRpcError(`connect to control socket ${path} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      const onError = (err: Error): void => {
        clearTimeout(timer);
        reject(new ControlRpcError(`failed to connect to control socket ${path}: ${err.message}`, { cause: err }));
      };
      socket.once('error', onError);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.off('error', onError);
        // No acknowledgement comes back: the server switches modes and reads the next line as a request.
        socket.write(`${JSON_MODE_COMMAND}\n`);
        resolve(new ControlClient(path, socket, options));
      });
    });
  }

  /** Call a method; resolves with its result, rejects with ControlApiError (daemon said no) or ControlRpcError. */
  call<M extends ControlMethodName>(method: M, ...args: ControlCallArgs<M>): Promise<ControlResult<M>>;
  call<T = unknown>(method: string, params?: Record<string, unknown>): Promise<T>;
  call(method: string, params?: object): Promise<unknown> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    const id = this.#nextId++;
    const line = JSON.stringify({ id, method, params: params ?? {} }) + '\n';
    // Refuse locally what the server would refuse anyway, with a clearer message.
    if (Buffer.byteLength(line) - 1 > JSON_LINE_MAX_BYTES) {
      return Promise.reject(new ControlRpcError(`request for ${method} exceeds ${JSON_LINE_MAX_BYTES} bytes`));
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#settle(id);
        reject(new ControlRpcError(`${method} timed out after ${this.#timeoutMs} ms`));
      }, this.#timeoutMs);
      this.#pending.set(id, { method, resolve, reject, timer });
      this.#socket.ref();
      this.#socket.write(line);
    });
  }

  /** Close the connection; calls still waiting reject with ControlRpcError. Idempotent. */
  async close(): Promise<void> {
    this.#fail(new ControlRpcError('control client closed'));
    await this.#closed;
  }

  #onLine(raw: Buffer): boolean {
    let reply: unknown;
    try {
      reply = JSON.parse(raw.toString('utf8'));
    } catch {
      // e.g. a text-mode `Error: ...` line from a daemon that does not speak JSON mode
      this.#fail(new ControlRpcError(`unexpected reply from daemon: ${truncate(raw.toString('utf8'))}`));
      return false;
    }
    if (typeof reply !== 'object' || reply === null) {
      this.#fail(new ControlRpcError(`unexpected reply from daemon: ${truncate(raw.toString('utf8'))}`));
      return false;
    }
    const { id, result, error } = reply as { id?: unknown; result?: unknown; error?: unknown };
    const call = typeof id === 'number' ? this.#settle(id) : undefined;
    if (call === undefined) {
      // id null: the daemon could not read one of our requests, so we cannot tell whose reply this is.
      if (id === null && isErrorBody(error)) {
        this.#fail(new ControlRpcError(`daemon rejected a request: ${error.reason}`));
        return false;
      }
      return true; // late reply to a call that already timed out
    }
    if (isErrorBody(error)) call.reject(new ControlApiError(error.code, error.reason));
    else if ('result' in (reply as object)) call.resolve(result);
    else call.reject(new ControlRpcError(`malformed reply to ${call.method}`));
    return true;
  }

  /** Remove a pending call and stop its timer; unref the socket when nothing is left in flight. */
  #settle(id: number): PendingCall | undefined {
    const call = this.#pending.get(id);
    if (call === undefined) return undefined;
    this.#pending.delete(id);
    clearTimeout(call.timer);
    if (this.#pending.size === 0) this.#socket.unref();
    return call;
  }

  #fail(err: ControlRpcError): void {
    if (this.#failure !== undefined) return;
    this.#failure = err;
    for (const [id, call] of this.#pending) {
      this.#settle(id);
      call.reject(err);
    }
    this.#socket.destroy();
  }
}

function isErrorBody(value: unknown): value is { code: number; reason: string } {
  if (typeof value !== 'object' || value === null) return false;
  const { code, reason } = value as { code?: unknown; reason?: unknown };
  return typeof code === 'number' && typeof reason === 'string';
}

function truncate(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}...` : text;
}
