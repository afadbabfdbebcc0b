/**
 * What every listening server shares: listeners claimed from the runtime's hub (handed over across reloads),
 * ingress filtering, the alive-work set used by graceful close, and the one idle-check timer.
 */
import type { Socket } from 'node:net';
import { isForbidden, type NetworkAcl } from '@sluice/common';
import type { Logger } from '../log/hub.js';
import type { Listener, ListenerOwner, ListenSpecLike } from '../runtime/listeners.js';
import type { BaseConfig } from '../runtime/object-def.js';
import type { Runtime } from '../runtime/runtime.js';
import { ServerStats } from '../stat/server-stats.js';
import { formatSockAddr, type TaskContext } from '../task/task.js';
import { TaskEvents, type TaskLogEventsConfig } from '../task/task-events.js';
import type { BoundAddress, ClientInfo, Server } from './types.js';
import { auditorFor } from '../audit/select.js';
import type { StreamAuditor } from '../audit/auditor/index.js';

export interface ListeningServerConfig extends BaseConfig {
  listen: ListenSpecLike | undefined;
  ingress: NetworkAcl | undefined;
  idleCheckIntervalMs: number;
  idleMaxCount: number;
  /** flush_task_log_on_created / _on_connected / task_log_flush_interval; undefined for servers without them */
  taskLogEvents?: TaskLogEventsConfig | undefined;
}

/** Live work a server tracks: aborted on force-quit, awaited on graceful close. */
export interface AliveWork {
  abort(): void;
  /** true when the work can be dropped without harming a client (an idle keep-alive connection) */
  readonly idle?: boolean;
  idleTick?(maxCount: number): boolean;
}

export function clientInfoOf(socket: Socket): ClientInfo | null {
  const cip = socket.remoteAddress;
  const sip = socket.localAddress;
  if (!cip || !sip) return null;
  const cport = socket.remotePort ?? 0;
  const sport = socket.localPort ?? 0;
  return {
    clientIp: cip.startsWith('::ffff:') ? cip.slice(7) : cip,
    clientPort: cport,
    serverIp: sip.startsWith('::ffff:') ? sip.slice(7) : sip,
    serverPort: sport,
    clientAddr: formatSockAddr(cip.startsWith('::ffff:') ? cip.slice(7) : cip, cport)!,
    serverAddr: formatSockAddr(sip.startsWith('::ffff:') ? sip.slice(7) : sip, sport)!,
  };
}

export abstract class ListeningServer<Cfg extends ListeningServerConfig> implements Server<Cfg>, ListenerOwner {
  abstract readonly logName: string;
  stats = new ServerStats();
  online = true;
  protected readonly alive = new Set<AliveWork>();
  private listener: Listener | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;
  /** Created / Connected / Periodic / shutdown task log records of this server's tasks (set on each task) */
  readonly taskEvents = new TaskEvents(() => this.taskLogger);

  constructor(public config: Cfg, protected readonly runtime: Runtime) {}

  get name(): string {
    return this.config.name;
  }

  /** The auditor of a task's tunnel (the server's `auditor`, or a comply_audit escaper's), or undefined: not audited. */
  tunnelAuditor(task: TaskContext, serverAuditor: string | undefined): StreamAuditor | undefined {
    return auditorFor(this.runtime, serverAuditor, task);
  }

  get aliveCount(): number {
    return this.alive.size;
  }

  async prepare(): Promise<void> {
    if (!this.config.listen) return;
    const { listener } = await this.runtime.listeners.claim(this, this.config.listen);
    this.listener = listener;
  }

  start(): void {
    if (this.listener) this.runtime.listeners.adopt(this.listener, this);
    this.armIdleTimer();
    this.taskEvents.configure(this.config.taskLogEvents);
  }

  private armIdleTimer(): void {
    clearInterval(this.idleTimer);
    this.idleTimer = setInterval(() => {
      for (const w of this.alive) w.idleTick?.(this.config.idleMaxCount);
    }, this.config.idleCheckIntervalMs);
    this.idleTimer.unref();
  }

  reload(cfg: Cfg): void {
    const idleChanged = cfg.idleCheckIntervalMs !== this.config.idleCheckIntervalMs;
    this.config = cfg;
    if (idleChanged) this.armIdleTimer();
    this.taskEvents.configure(cfg.taskLogEvents);
  }

  listening(): BoundAddress[] {
    const a = this.listener?.address();
    return a ? [a] : [];
  }

  onConnection(socket: Socket): void {
    const info = clientInfoOf(socket);
    if (!info) {
      socket.destroy();
      return;
    }
    if (!this.online) {
      this.stats.listenDropped++;
      socket.destroy();
      return;
    }
    if (this.config.ingress && isForbidden(this.config.ingress.check(info.clientIp))) {
      this.stats.listenDropped++;
      socket.destroy();
      return;
    }
    this.stats.listenAccepted++;
    this.acceptSocket(socket, info);
  }

  abstract acceptSocket(socket: Socket, info: ClientInfo): void;

  private loggerFor: Cfg | undefined;
  private cachedLogger: Logger | undefined;

  /** This server's task logger (`lt-<name>` or `lt-<shared_logger>`), looked up once per config. */
  get taskLogger(): Logger {
    if (this.loggerFor !== this.config || !this.cachedLogger) {
      const shared = (this.config.raw as { shared_logger?: unknown } | null)?.shared_logger;
      this.cachedLogger = this.runtime.logs.forServer(this.config.name, typeof shared === 'string' ? shared : undefined);
      this.loggerFor = this.config;
    }
    return this.cachedLogger;
  }

  protected track(w: AliveWork): void {
    this.alive.add(w);
  }

  protected untrack(w: AliveWork): void {
    this.alive.delete(w);
    if (this.alive.size === 0 && this.drained) this.drained();
  }

  private drained: (() => void) | undefined;

  async offline(): Promise<void> {
    if (!this.online) return;
    this.online = false;
    if (this.listener) await this.runtime.listeners.release(this.listener, this);
    // Connections with nothing in flight can go at once; the rest finish what they are doing.
    for (const w of this.alive) if (w.idle) w.abort();
  }

  close(graceMs: number): Promise<void> {
    this.closing ??= (async () => {
      await this.offline();
      if (this.alive.size > 0) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, graceMs);
          this.drained = () => {
            clearTimeout(t);
            resolve();
          };
        });
      }
      this.destroy();
    })();
    return this.closing;
  }

  destroy(): void {
    this.online = false;
    clearInterval(this.idleTimer);
    this.taskEvents.stop();
    if (this.listener) void this.runtime.listeners.release(this.listener, this);
    for (const w of [...this.alive]) w.abort();
    this.alive.clear();
  }
}
