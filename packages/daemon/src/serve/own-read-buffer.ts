/**
 * Reading a busy tunnel into one buffer of its own, reused for every read.
 *
 * By default Node reads each chunk of a socket into a fresh 64 KiB ArrayBuffer. Through a bulk tunnel that is
 * one malloc, one free and one GC-tracked external allocation per 64 KiB, the kernel copies into memory that is
 * cold in the cache every time, and after a burst of short tunnels the external-memory accounting can drive V8
 * into back-to-back full collections. A tunnel that has proved to be busy switches its reads to a buffer of its
 * own instead: the kernel copies into the same hot 64 KiB each time and nothing is allocated per read.
 *
 * Node has this as the `onread` option of net.connect(); a socket accepted by a server cannot be given it.
 * The option works through three per-socket slots that every net.Socket has (set to null when unused) and
 * the stream handle's useUserBuffer(), so a socket is switched over by filling the slots and calling it, as
 * the constructor would have. The slots are found once, on a probe socket built with `onread`; if this Node
 * does not have them, ownReadBufferSupported is false and relays keep Node's default reads.
 */
import { Socket } from 'node:net';

/** What a read callback returns: false stops reading until the socket is resumed. */
export type OwnBufferRead = (nread: number, buffer: Buffer) => boolean;

interface Slots {
  buffer: symbol;
  callback: symbol;
  generator: symbol;
}

interface UserBufferHandle {
  useUserBuffer?: (buf: Buffer) => void;
  constructor?: { name?: string };
}

function findSlots(): Slots | null {
  try {
    // `onread` is documented for socket.connect(); the constructor takes it too (and @types/node does not say so)
    const opts = { onread: { buffer: Buffer.alloc(1), callback: () => true } } as ConstructorParameters<typeof Socket>[0];
    const probe = new Socket(opts);
    const bySymbolName = new Map(Object.getOwnPropertySymbols(probe).map((s) => [s.description, s]));
    const buffer = bySymbolName.get('kBuffer');
    const callback = bySymbolName.get('kBufferCb');
    const generator = bySymbolName.get('kBufferGen');
    probe.destroy();
    if (!buffer || !callback || !generator) return null;
    const rec = probe as unknown as Record<symbol, unknown>;
    if (!Buffer.isBuffer(rec[buffer]) || typeof rec[callback] !== 'function') return null;
    return { buffer, callback, generator };
  } catch {
    return null;
  }
}

const slots = process.env.SLUICE_OWN_READ_BUFFER === '0' ? null : findSlots();

export const ownReadBufferSupported = slots !== null;

/**
 * From the next read on, read `socket` into `buffer` and hand each read to `onRead` (the bytes are
 * buffer[0, nread)); 'data' is no longer emitted, 'end', 'error' and 'close' come as before. After each read
 * `nextBuffer` names the buffer for the following one (null: the same). The caller must not let a read
 * overwrite bytes still in use: return false from onRead while they are (e.g. while a write of them is
 * pending) and resume() the socket when they are free.
 *
 * Only for a plain TCP socket in flowing mode with nothing left in its readable buffer (else those chunks
 * would come after later reads); returns false, changing nothing, when the socket is not one.
 */
export function readIntoOwnBuffer(socket: Socket, buffer: Buffer, onRead: OwnBufferRead, nextBuffer: () => Buffer | null): boolean {
  if (!slots) return false;
  const handle = handleOf(socket);
  if (!handle || handle.constructor?.name !== 'TCP') return false;
  if (socket.destroyed || socket.readableLength !== 0 || socket.readableFlowing !== true) return false;
  const rec = socket as unknown as Record<symbol, unknown>;
  if (rec[slots.buffer] !== null) return false; // already reading into a buffer of its own
  rec[slots.buffer] = buffer;
  rec[slots.callback] = onRead;
  rec[slots.generator] = nextBuffer;
  handle.useUserBuffer!(buffer);
  return true;
}

/**
 * Between reads (not from inside onRead, where nextBuffer does it), make a socket that readIntoOwnBuffer
 * switched read into `buffer` from now on; the previous buffer is no longer written to.
 */
export function replaceOwnBuffer(socket: Socket, buffer: Buffer): boolean {
  const handle = handleOf(socket);
  if (!slots || !handle || socket.destroyed) return false;
  const rec = socket as unknown as Record<symbol, unknown>;
  if (rec[slots.buffer] === null) return false;
  rec[slots.buffer] = buffer;
  // a new read listener on top of the handle's stack; the one below, with the old buffer, is never called again
  handle.useUserBuffer!(buffer);
  return true;
}

/** The buffer `socket` reads into, when readIntoOwnBuffer switched it (for tests and diagnostics). */
export function ownReadBufferOf(socket: Socket): Buffer | null {
  if (!slots) return null;
  const b = (socket as unknown as Record<symbol, unknown>)[slots.buffer];
  return Buffer.isBuffer(b) ? b : null;
}

function handleOf(socket: Socket): UserBufferHandle | null {
  const handle = (socket as unknown as { _handle?: UserBufferHandle | null })._handle;
  return handle && typeof handle.useUserBuffer === 'function' ? handle : null;
}
