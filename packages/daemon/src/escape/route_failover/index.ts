/**
 * `route_failover`: send each task to `primary_next`; if it has not connected within `fallback_delay`
 * (or failed before that), try `standby_next` too; the first connection wins and the other is dropped.
 */
import type { ConnectionOptions } from 'node:tls';
import { parseDuration, SluiceError } from '@sluice/common';
import type { BaseConfig, ObjectTypeDef, ParseContext } from '../../runtime/object-def.js';
import type { Runtime } from '../../runtime/runtime.js';
import { commonEscaperFields, g3, objectSchema, str } from '../../runtime/schema-util.js';
import { RouteStats } from '../../stat/extra-stats.js';
import type { TaskContext, Upstream } from '../../task/task.js';
import {
  newEscaperStats, type Escaper, type HttpForwardConnection, type TcpConnection, type UdpConnectSocket, type UdpRelaySocket,
  type UdpUpstreamReceiver,
} from '../types.js';
import { Cancel, type CancelSignal } from '../../runtime/cancel.js';

export interface RouteFailoverConfig extends BaseConfig {
  primary: string;
  standby: string;
  fallbackDelayMs: number;
}

const schema = objectSchema(['route_failover'], {
  ...commonEscaperFields,
  primary_next: str('Escaper tried first.'),
  standby_next: str('Escaper tried when the primary has not connected within fallback_delay, or failed.'),
  fallback_delay: g3('duration', 'How long the primary has before the standby is tried as well (default 100ms).'),
}, {
  required: ['primary_next', 'standby_next'],
  aliases: { primary: 'primary_next', standby: 'standby_next', delay: 'fallback_delay', fallback_timeout: 'fallback_delay', timeout: 'fallback_delay' },
});

function parse(v: Record<string, unknown>, ctx: ParseContext): RouteFailoverConfig {
  return Object.freeze({
    name: v.name as string,
    type: 'route_failover',
    raw: v,
    baseDir: ctx.baseDir,
    primary: v.primary_next as string,
    standby: v.standby_next as string,
    fallbackDelayMs: v.fallback_delay === undefined ? 100 : parseDuration(v.fallback_delay),
  });
}

/** Run `attempt` on the primary, and on the standby after the delay or a primary failure; first success wins. */
function race<T>(
  rs: RouteStats,
  cfg: RouteFailoverConfig,
  runtime: Runtime,
  signal: CancelSignal,
  attempt: (e: Escaper, signal: CancelSignal) => Promise<T>,
  discard: (loser: T) => void = (c) => (c as TcpConnection).socket.destroy(),
): Promise<T> {
  return new Promise((resolve, reject) => {
    const ctls = [new Cancel(), new Cancel()];
    const onAbort = () => ctls.forEach((c) => c.abort());
    signal.addEventListener('abort', onAbort, { once: true });
    let settled = false;
    let failures = 0;
    let standbyStarted = false;
    let lastErr: unknown;
    const finish = () => signal.removeEventListener('abort', onAbort);
    const run = (i: 0 | 1) => {
      const e = runtime.escaper(i === 0 ? cfg.primary : cfg.standby);
      attempt(e, ctls[i]!.signal).then((conn) => {
        if (settled) {
          discard(conn);
          return;
        }
        settled = true;
        rs.requestPassed++;
        clearTimeout(timer);
        ctls[1 - i]!.abort();
        finish();
        resolve(conn);
      }, (err: unknown) => {
        lastErr = err;
        failures++;
        if (i === 0 && !standbyStarted) startStandby();
        else if (!settled && failures >= 2) {
          settled = true;
          rs.requestFailed++;
          finish();
          reject(lastErr instanceof SluiceError ? lastErr : new SluiceError('UPSTREAM_CONNECT_FAILED', String(lastErr)));
        }
      });
    };
    const startStandby = () => {
      if (standbyStarted || settled) return;
      standbyStarted = true;
      clearTimeout(timer);
      run(1);
    };
    const timer = setTimeout(startStandby, cfg.fallbackDelayMs);
    run(0);
  });
}

function noUdp(e: Escaper): SluiceError {
  return new SluiceError('CLIENT_PROTOCOL_UNIMPLEMENTED', `escaper ${e.name} (${e.logName}) cannot carry UDP`);
}

export class RouteFailoverEscaper implements Escaper<RouteFailoverConfig> {
  readonly logName = 'RouteFailover';
  readonly stats = newEscaperStats();
  /** route.request.passed|failed */
  readonly routeStats = new RouteStats();
  constructor(public config: RouteFailoverConfig, private readonly runtime: Runtime) {}
  get name(): string {
    return this.config.name;
  }
  tcpConnect(task: TaskContext, upstream: Upstream, signal: CancelSignal): Promise<TcpConnection> {
    this.stats.taskTotal++;
    return race(this.routeStats, this.config, this.runtime, signal, (e, s) => e.tcpConnect(task, upstream, s));
  }
  httpForwardConnect(task: TaskContext, upstream: Upstream, tls: ConnectionOptions | null, signal: CancelSignal): Promise<HttpForwardConnection> {
    this.stats.taskTotal++;
    return race(this.routeStats, this.config, this.runtime, signal, (e, s) => e.httpForwardConnect(task, upstream, tls, s));
  }
  udpSetupConnection(task: TaskContext, upstream: Upstream, receiver: UdpUpstreamReceiver, signal: CancelSignal): Promise<UdpConnectSocket> {
    this.stats.taskTotal++;
    return race(this.routeStats, this.config, this.runtime, signal, (e, s) => e.udpSetupConnection
      ? e.udpSetupConnection(task, upstream, receiver, s)
      : Promise.reject(noUdp(e)), (u) => u.close());
  }
  udpSetupRelay(task: TaskContext, receiver: UdpUpstreamReceiver, signal: CancelSignal): Promise<UdpRelaySocket> {
    this.stats.taskTotal++;
    // Both legs may start; only the winner's socket stays open, so replies reach the receiver from one of them.
    return race(this.routeStats, this.config, this.runtime, signal, (e, s) => e.udpSetupRelay
      ? e.udpSetupRelay(task, receiver, s)
      : Promise.reject(noUdp(e)), (u) => u.close());
  }
  reload(cfg: RouteFailoverConfig): void {
    this.config = cfg;
  }
  async close(): Promise<void> {}
  destroy(): void {}
}

export const routeFailoverType: ObjectTypeDef<RouteFailoverConfig, RouteFailoverEscaper> = {
  type: 'route_failover',
  logName: 'RouteFailover',
  schema,
  parse,
  create: (cfg, runtime) => new RouteFailoverEscaper(cfg, runtime),
  dependsOn: (cfg) => ({ escaper: [cfg.primary, cfg.standby] }),
  diff: () => 'reload',
};
