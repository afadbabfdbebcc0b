/** Helpers for this package's tests (not exported from the package). */
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function makeTempDir(): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-control-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** A raw socket client that reads the server's output line by line, each wait bounded in time. */
export class RawLineClient {
  readonly socket: Socket;
  readonly closed: Promise<void>;
  #buffer = '';
  #waiter: (() => void) | undefined;
  #isClosed = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => {
      this.#buffer += text;
      this.#waiter?.();
    });
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.#isClosed = true;
        this.#waiter?.();
        resolve();
      }),
    );
  }

  static connect(path: string): Promise<RawLineClient> {
    return new Promise((resolve, reject) => {
      const socket = createConnection(path);
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new RawLineClient(socket));
      });
    });
  }

  write(text: string | Buffer): void {
    this.socket.write(text);
  }

  /** The next line (without newline); rejects on timeout or when the socket closes first. */
  async readLine(timeoutMs = 2000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const nl = this.#buffer.indexOf('\n');
      if (nl !== -1) {
        const line = this.#buffer.slice(0, nl);
        this.#buffer = this.#buffer.slice(nl + 1);
        return line;
      }
      if (this.#isClosed) throw new Error(`socket closed before a line arrived (pending: ${JSON.stringify(this.#buffer)})`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for a line');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#waiter = undefined;
    }
  }

  async readJson(timeoutMs = 2000): Promise<Record<string, unknown>> {
    return JSON.parse(await this.readLine(timeoutMs)) as Record<string, unknown>;
  }

  /** Resolves true if the server closes the socket within the time. */
  async waitClosed(timeoutMs = 2000): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const result = await Promise.race([this.closed.then(() => true), timedOut]);
    clearTimeout(timer);
    return result;
  }

  get unread(): string {
    return this.#buffer;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A sleep that does not keep the process alive: for fake handlers whose callers may have gone away. */
export function sleepUnref(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
