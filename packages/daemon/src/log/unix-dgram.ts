/**
 * AF_UNIX datagram sockets, which Node's core lacks (dgram is UDP only). journald's native socket and the
 * syslog socket (/dev/log) are datagram sockets, so the `unix-dgram` addon (also what hot-shots uses for
 * StatsD over Unix sockets) carries them. Its send is a non-blocking sendto(2): no I/O waits on the loop.
 */
import { createRequire } from 'node:module';

export interface UnixDgramSocket {
  on(ev: 'message', cb: (buf: Buffer) => void): this;
  on(ev: 'error' | 'congestion' | 'writable' | 'listening', cb: (...a: unknown[]) => void): this;
  bind(path: string): void;
  send(buf: Buffer, offset: number, length: number, path: string, cb: (err?: Error & { code?: number | string }) => void): void;
  close(): void;
}

interface UnixDgramModule {
  createSocket(type: 'unix_dgram', listener?: (buf: Buffer) => void): UnixDgramSocket;
}

let mod: UnixDgramModule | null | undefined;
export function unixDgram(): UnixDgramModule {
  if (mod === undefined) {
    try {
      mod = createRequire(import.meta.url)('unix-dgram') as UnixDgramModule;
    } catch {
      mod = null;
    }
  }
  if (!mod) throw new Error('Unix datagram sockets are not available (the unix-dgram module failed to load)');
  return mod;
}

/** Linux errno values as unix-dgram reports them (negated). */
export const EMSGSIZE = -90;
