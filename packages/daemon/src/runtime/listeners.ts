/**
 * TCP listeners, owned by the runtime rather than by servers, so a reload that respawns a server on the same
 * address hands the bound socket over instead of closing and re-binding it (no refused connections, no
 * EADDRINUSE race). A listener dispatches each accepted socket to its current owner.
 */
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { duplicateListenHandles } from './handle-dup.js';

export interface ListenSpecLike {
  host: string;
  port: number;
  backlog: number;
  ipv6Only: boolean;
}

export interface ListenerOwner {
  readonly name: string;
  onConnection(socket: Socket): void;
}

/**
 * Accept handles per listener (one bound socket, this many descriptors watched): see handle-dup.ts.
 * SLUICE_ACCEPT_HANDLES (1-16) overrides it; 1 turns the duplication off.
 */
/** connections a listener holds while its generation is not committed yet (see Listener.held) */
const MAX_HELD = 4096;

export const ACCEPT_HANDLES = Math.max(1, Math.min(16, Math.trunc(Number(process.env.SLUICE_ACCEPT_HANDLES)) || 8));

export class Listener {
  owner: ListenerOwner;
  /** the server that bound the socket */
  readonly server: NetServer;
  /** every server accepting on the socket: `server` and those on duplicated descriptors */
  private readonly servers: NetServer[] = [];
  private closed = false;
  /**
   * Connections accepted before the first owner started: the socket listens from the moment it is bound, but
   * the generation it belongs to is committed only after every object of it is ready (its escapers among
   * them), so until `open()` connections wait here, unread (pauseOnConnect), and are served then.
   */
  private held: Socket[] | null = [];
  constructor(readonly key: string, owner: ListenerOwner) {
    this.owner = owner;
    this.server = this.acceptor();
  }

  private acceptor(): NetServer {
    // pauseOnConnect: the owner decides when to start reading (after its checks), so no data is lost or
    // read into a handler that is not attached yet.
    const server = createServer({ pauseOnConnect: true, noDelay: true });
    server.on('connection', this.dispatch);
    server.on('error', () => {
      /* accept errors (EMFILE...) must not crash the daemon; node retries accepting on its own */
    });
    this.servers.push(server);
    return server;
  }

  /**
   * Watch the bound socket through `extra` more descriptors, so a busy event loop accepts up to 1 + extra
   * connections per turn instead of one. Best effort: without them the listener still works.
   */
  async addAcceptHandles(extra: number): Promise<void> {
    const handles = await duplicateListenHandles(this.server, extra);
    for (const h of handles) {
      if (this.closed) {
        (h as { close?: () => void }).close?.();
        continue;
      }
      const s = this.acceptor();
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(h, () => {
          s.off('error', reject);
          resolve();
        });
      });
    }
  }

  private readonly dispatch = (s: Socket): void => {
    const held = this.held;
    if (held === null) return this.owner.onConnection(s);
    if (held.length < MAX_HELD) held.push(s);
    else s.destroy(); // the kernel's backlog bounds this in practice; this bounds it for sure
  };

  /** Start serving: hand the connections that arrived before to the owner, and every later one. */
  open(): void {
    const held = this.held;
    if (held === null) return;
    this.held = null;
    for (const s of held) if (!s.destroyed) this.owner.onConnection(s);
  }

  /** how many descriptors accept on this listener's socket */
  get acceptHandles(): number {
    return this.servers.length;
  }

  address(): { address: string; port: number } | null {
    const a = this.server.address();
    return a && typeof a === 'object' ? { address: a.address, port: a.port } : null;
  }
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    for (const s of this.held ?? []) s.destroy();
    this.held = null;
    return Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())))).then(() => {});
  }
}

export function listenKey(spec: ListenSpecLike): string {
  return `${spec.host}|${spec.port}|${spec.ipv6Only ? 6 : 0}`;
}

export class ListenerHub {
  constructor(private readonly warn?: (message: string) => void) {}

  /** key: `<server name>@<listen key>` */
  private readonly byKey = new Map<string, Listener>();

  /**
   * A listener for `owner` on `spec`: the one an earlier server of the same name already holds on the same
   * address (not yet re-owned: `adopt` does that on commit), or a newly bound one.
   */
  async claim(owner: ListenerOwner, spec: ListenSpecLike): Promise<{ listener: Listener; fresh: boolean }> {
    const key = `${owner.name}@${listenKey(spec)}`;
    const existing = this.byKey.get(key);
    if (existing) return { listener: existing, fresh: false };
    const l = new Listener(key, owner);
    await new Promise<void>((resolve, reject) => {
      const onError = (e: Error) => reject(e);
      l.server.once('error', onError);
      l.server.listen({ host: spec.host, port: spec.port, backlog: spec.backlog, ipv6Only: spec.ipv6Only, exclusive: true }, () => {
        l.server.off('error', onError);
        resolve();
      });
    });
    if (ACCEPT_HANDLES > 1) {
      try {
        await l.addAcceptHandles(ACCEPT_HANDLES - 1);
      } catch (e) {
        this.warn?.(`listener ${key}: one accept handle only (${(e as Error).message}); new connections are accepted one per event-loop turn`);
      }
    }
    this.byKey.set(key, l);
    return { listener: l, fresh: true };
  }

  /** Make `owner` the receiver of `listener`'s connections (reload commit). */
  adopt(listener: Listener, owner: ListenerOwner): void {
    listener.owner = owner;
    listener.open();
  }

  /** Close `listener` if `owner` still owns it; a successor that adopted it keeps it open. */
  async release(listener: Listener, owner: ListenerOwner): Promise<void> {
    if (listener.owner !== owner) return;
    this.byKey.delete(listener.key);
    await listener.close();
  }

  async closeAll(): Promise<void> {
    const all = [...this.byKey.values()];
    this.byKey.clear();
    await Promise.all(all.map((l) => l.close()));
  }
}
