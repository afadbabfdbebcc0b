/**
 * One accepted control connection: g3's line text mode first, then (after `json`) JSON-lines RPC.
 */
import type { Socket } from 'node:net';

import { API_ERROR_CODE, ControlApiError } from './errors.js';
import { LineSplitter, type LineSink } from './line-splitter.js';
import type { ControlLogger } from './logger.js';
import type { ControlHandlers } from './methods.js';
import {
  JSON_LINE_MAX_BYTES,
  JSON_MODE_COMMAND,
  TEXT_LINE_MAX_BYTES,
  type JsonReply,
  type RequestId,
} from './protocol.js';

export interface ConnectionContext {
  handlers: ControlHandlers;
  version: string;
  logger: ControlLogger | undefined;
  recvTimeoutMs: number;
  sendTimeoutMs: number;
}

type Handler = ControlHandlers[string];

/** Largest `set recv_timeout|send_timeout` value, in seconds, that still fits a Node timer. */
const MAX_TIMEOUT_SECS = Math.floor(0x7fffffff / 1000);

export class ControlConnection {
  readonly #socket: Socket;
  readonly #ctx: ConnectionContext;
  readonly #splitter = new LineSplitter(TEXT_LINE_MAX_BYTES);
  readonly #sink: LineSink;
  #mode: 'text' | 'json' = 'text';
  #sendTimeoutMs: number;
  #sendTimer: NodeJS.Timeout | undefined;
  /** no more replies: we ended or the socket closed */
  #done = false;
  /** the peer half-closed; end our side once the calls in flight have answered */
  #peerEnded = false;
  #inFlight = 0;

  constructor(socket: Socket, ctx: ConnectionContext) {
    this.#socket = socket;
    this.#ctx = ctx;
    this.#sendTimeoutMs = ctx.sendTimeoutMs;
    this.#sink = {
      line: (line) => (this.#mode === 'text' ? this.#onTextLine(line) : this.#onJsonLine(line)),
      overflow: () => this.#onOverflow(),
    };
    socket.setTimeout(ctx.recvTimeoutMs);
    socket.on('data', (chunk: Buffer) => {
      if (!this.#done) this.#splitter.push(chunk, this.#sink);
    });
    socket.on('timeout', () => {
      ctx.logger?.debug('control: closing idle connection');
      this.#close();
    });
    socket.on('drain', () => this.#clearSendTimer());
    socket.on('end', () => {
      // The server allows half-open sockets so `printf ... | socat` gets its replies; finish once answered.
      this.#peerEnded = true;
      if (this.#inFlight === 0) this.#end();
    });
    socket.on('error', (err) => ctx.logger?.debug(`control: connection error: ${err.message}`));
    socket.on('close', () => {
      this.#done = true;
      this.#clearSendTimer();
    });
  }

  /** Drop the connection now (server shutdown); replies still in flight are discarded. */
  destroy(): void {
    this.#close();
  }

  // ---- text mode -------------------------------------------------------------------------------------------

  #onTextLine(raw: Buffer): boolean {
    // g3 lower-cases the whole command line before matching.
    const text = raw.toString('utf8').trim().toLowerCase();
    if (text === '') return true;
    const words = text.split(/\s+/);
    const command = words[0]!;
    switch (command) {
      case 'pid':
      case 'version':
      case 'quit':
      case JSON_MODE_COMMAND:
      case 'capnp':
        if (words.length !== 1) return this.#textError(`${command} takes no argument`);
        break;
      case 'set':
        return this.#onSet(words);
      default:
        return this.#textError(`unknown command ${command}`);
    }
    switch (command) {
      case 'pid':
        this.#send(`${process.pid}\n`);
        return true;
      case 'version':
        this.#send(`${this.#ctx.version}\n`);
        return true;
      case 'quit':
        this.#end();
        return false;
      case 'capnp':
        // The real g3proxy-ctl would follow with capnp frames we cannot read: answer once and hang up.
        this.#send('Error: capnp is not supported, use json\n');
        this.#end();
        return false;
      default:
        this.#enterJsonMode();
        return true;
    }
  }

  #onSet(words: string[]): boolean {
    if (words.length !== 3) return this.#textError('usage: set recv_timeout|send_timeout <seconds>');
    const [, key, value] = words as [string, string, string];
    if (key !== 'recv_timeout' && key !== 'send_timeout') return this.#textError(`unknown option ${key}`);
    const secs = /^\d{1,10}$/.test(value) ? Number(value) : NaN;
    if (!(secs >= 1 && secs <= MAX_TIMEOUT_SECS)) return this.#textError(`invalid value for ${key}: ${value}`);
    if (key === 'recv_timeout') this.#socket.setTimeout(secs * 1000);
    else this.#sendTimeoutMs = secs * 1000;
    this.#send(`${key} = ${secs}\n`);
    return true;
  }

  #textError(reason: string): boolean {
    this.#send(`Error: ${reason}\n`);
    return true;
  }

  #enterJsonMode(): void {
    this.#mode = 'json';
    this.#splitter.maxLineBytes = JSON_LINE_MAX_BYTES;
    // RPC connections (the testkit keeps one open across a test) live until either side closes them;
    // g3's capnp mode has no idle limit either.
    this.#socket.setTimeout(0);
  }

  #onOverflow(): boolean {
    if (this.#mode === 'text') {
      // g3 gives up on the connection; the rest of the line would be parsed as garbage commands otherwise.
      this.#send(`Error: command line longer than ${TEXT_LINE_MAX_BYTES} bytes\n`);
      this.#end();
      return false;
    }
    // The id is inside the dropped bytes, so the reply cannot name it; the connection stays usable.
    this.#reply({ id: null, error: { code: API_ERROR_CODE, reason: `request line longer than ${JSON_LINE_MAX_BYTES} bytes` } });
    return true;
  }

  // ---- JSON mode -------------------------------------------------------------------------------------------

  #onJsonLine(raw: Buffer): boolean {
    if (raw.length === 0) return true;
    let request: unknown;
    try {
      request = JSON.parse(raw.toString('utf8'));
    } catch (err) {
      return this.#jsonError(null, `invalid json: ${(err as Error).message}`);
    }
    if (typeof request !== 'object' || request === null || Array.isArray(request)) {
      return this.#jsonError(null, 'invalid request: not a JSON object');
    }
    const { id, method, params } = request as Record<string, unknown>;
    if (!((typeof id === 'number' && Number.isFinite(id)) || typeof id === 'string')) {
      return this.#jsonError(null, 'invalid request: id must be a number or a string');
    }
    if (typeof method !== 'string') return this.#jsonError(id, 'invalid request: method must be a string');
    if (params !== undefined && params !== null && (typeof params !== 'object' || Array.isArray(params))) {
      return this.#jsonError(id, 'invalid request: params must be an object');
    }
    const handler = this.#lookup(method);
    if (handler === undefined) return this.#jsonError(id, `unknown method: ${method}`);
    this.#inFlight++;
    void this.#invoke(id, method, handler, params ?? {});
    return true;
  }

  #lookup(method: string): Handler | undefined {
    const { handlers, version } = this.#ctx;
    // Own properties only: `toString` or `__proto__` must not reach Object.prototype.
    if (Object.hasOwn(handlers, method)) return handlers[method];
    if (method === 'version') return () => version;
    return undefined;
  }

  async #invoke(id: RequestId, method: string, handler: Handler, params: object): Promise<void> {
    let line: string;
    try {
      const result = await handler(params);
      // JSON has no undefined; a handler with nothing to say answers null.
      line = JSON.stringify({ id, result: result === undefined ? null : result });
    } catch (err) {
      const apiErr = err instanceof ControlApiError ? err : undefined;
      const reason = apiErr?.reason ?? (err instanceof Error ? err.message : String(err));
      this.#ctx.logger?.info(`control: ${method} failed: ${reason}`);
      line = JSON.stringify({ id, error: { code: apiErr?.code ?? API_ERROR_CODE, reason } });
    }
    this.#inFlight--;
    this.#send(line + '\n');
    if (this.#peerEnded && this.#inFlight === 0) this.#end();
  }

  #jsonError(id: RequestId | null, reason: string): boolean {
    this.#reply({ id, error: { code: API_ERROR_CODE, reason } });
    return true;
  }

  #reply(reply: JsonReply): void {
    this.#send(JSON.stringify(reply) + '\n');
  }

  // ---- socket ----------------------------------------------------------------------------------------------

  #send(text: string): void {
    if (this.#done || !this.#socket.writable) return;
    // A reader that stops reading must not pin replies in memory forever: bound the time to drain.
    if (!this.#socket.write(text) && this.#sendTimer === undefined) {
      this.#sendTimer = setTimeout(() => {
        this.#ctx.logger?.debug('control: send timed out, closing connection');
        this.#close();
      }, this.#sendTimeoutMs);
    }
  }

  #clearSendTimer(): void {
    if (this.#sendTimer !== undefined) {
      clearTimeout(this.#sendTimer);
      this.#sendTimer = undefined;
    }
  }

  /** Graceful: flush what was written, then close. */
  #end(): void {
    if (this.#done) return;
    this.#done = true;
    this.#socket.end();
  }

  #close(): void {
    this.#done = true;
    this.#clearSendTimer();
    this.#socket.destroy();
  }
}
