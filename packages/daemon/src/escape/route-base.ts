/**
 * The shape every routing escaper shares: pick the name of the next escaper for a task, then hand the task to
 * it. Route escapers count `route.request.passed|failed`; the connection details come from the leaf escaper.
 */
import type { ConnectionOptions } from 'node:tls';
import { SluiceError, toSluiceError, ValueError } from '@sluice/common';
import type { BaseConfig, ParseContext } from '../runtime/object-def.js';
import type { Runtime } from '../runtime/runtime.js';
import { commonEscaperFields, objectSchema, strList, type FieldSchema } from '../runtime/schema-util.js';
import type { TaskContext, Upstream } from '../task/task.js';
import { RouteStats } from '../stat/extra-stats.js';
import {
  newEscaperStats, type Escaper, type HttpForwardConnection, type TcpConnection, type UdpConnectSocket, type UdpRelaySocket,
  type UdpUpstreamReceiver,
} from './types.js';
import type { CancelSignal } from '../runtime/cancel.js';

const NO_TARGET: Upstream = { host: '', port: 0, ipFamily: 0 };

function noUdp(e: Escaper): SluiceError {
  return new SluiceError('CLIENT_PROTOCOL_UNIMPLEMENTED', `escaper ${e.name} (${e.logName}) cannot carry UDP`);
}

export abstract class RouteEscaper<Cfg extends BaseConfig> implements Escaper<Cfg> {
  readonly stats = newEscaperStats();
  /** route.request.passed|failed, read by the StatsD emitter */
  readonly routeStats = new RouteStats();
  abstract readonly logName: string;

  constructor(public config: Cfg, protected readonly runtime: Runtime) {}

  get name(): string {
    return this.config.name;
  }

  /** The next escaper's name for this task; may resolve or ask an agent. Throws a SluiceError when none fits. */
  protected abstract select(task: TaskContext, upstream: Upstream, signal: CancelSignal): Promise<string> | string;

  private async next(task: TaskContext, upstream: Upstream, signal: CancelSignal): Promise<Escaper> {
    this.stats.taskTotal++;
    try {
      const name = await this.select(task, upstream, signal);
      this.routeStats.requestPassed++;
      return this.runtime.escaper(name);
    } catch (e) {
      this.routeStats.requestFailed++;
      throw toSluiceError(e, 'ESCAPER_NOT_USABLE');
    }
  }

  async tcpConnect(task: TaskContext, upstream: Upstream, signal: CancelSignal): Promise<TcpConnection> {
    return (await this.next(task, upstream, signal)).tcpConnect(task, upstream, signal);
  }

  async httpForwardConnect(task: TaskContext, upstream: Upstream, tls: ConnectionOptions | null, signal: CancelSignal): Promise<HttpForwardConnection> {
    return (await this.next(task, upstream, signal)).httpForwardConnect(task, upstream, tls, signal);
  }

  async udpSetupConnection(task: TaskContext, upstream: Upstream, receiver: UdpUpstreamReceiver, signal: CancelSignal): Promise<UdpConnectSocket> {
    const e = await this.next(task, upstream, signal);
    if (!e.udpSetupConnection) throw noUdp(e);
    return e.udpSetupConnection(task, upstream, receiver, signal);
  }

  /** A relay has no single target: rules see an empty host (g3 routes UDP associate by the first packet's target; here by none). */
  async udpSetupRelay(task: TaskContext, receiver: UdpUpstreamReceiver, signal: CancelSignal): Promise<UdpRelaySocket> {
    const e = await this.next(task, NO_TARGET, signal);
    if (!e.udpSetupRelay) throw noUdp(e);
    return e.udpSetupRelay(task, receiver, signal);
  }

  reload(cfg: Cfg): void {
    this.config = cfg;
    this.onReload();
  }

  protected onReload(): void {}
  async close(): Promise<void> {}
  destroy(): void {}
}

/** The `next`/`escaper` plus value-list rules g3 writes two ways: a list of maps, or a map next → values. */
export function parseNextRules(v: unknown, what: string, valueKeys: readonly string[]): Array<{ next: string; values: unknown[] }> {
  if (v === undefined || v === null) return [];
  const out: Array<{ next: string; values: unknown[] }> = [];
  const asList = (x: unknown): unknown[] => (Array.isArray(x) ? x : x === undefined || x === null ? [] : [x]);
  if (Array.isArray(v)) {
    v.forEach((item, i) => {
      if (typeof item !== 'object' || item === null) throw new ValueError(`${what}[${i}] must be a map {next, ${valueKeys[0]}}`);
      const m = item as Record<string, unknown>;
      const next = m.next ?? m.escaper;
      if (typeof next !== 'string') throw new ValueError(`${what}[${i}] needs 'next'`);
      const key = valueKeys.find((k) => m[k] !== undefined);
      for (const k of Object.keys(m)) {
        if (k !== 'next' && k !== 'escaper' && !valueKeys.includes(k)) throw new ValueError(`${what}[${i}]: unknown key '${k}'`);
      }
      out.push({ next, values: key ? asList(m[key]) : [] });
    });
  } else if (typeof v === 'object') {
    for (const [next, values] of Object.entries(v as Record<string, unknown>)) out.push({ next, values: asList(values) });
  } else throw new ValueError(`${what} must be a list or a map`);
  return out;
}

/** Schema of a rule list field (checked in parse). */
export function rulesField(description: string): FieldSchema {
  return { description, anyOf: [{ type: 'array' }, { type: 'object' }] };
}

/** Schema of a route type. */
export function routeSchema(type: string, fields: Record<string, FieldSchema>, opts: { required?: string[]; aliases?: Record<string, string> } = {}): object {
  return objectSchema([type], fields, opts);
}

/** Unique escaper names referenced by rules plus the default. */
export function namesOf(...groups: Array<ReadonlyArray<string> | string | undefined>): string[] {
  const s = new Set<string>();
  for (const g of groups) {
    if (g === undefined) continue;
    if (typeof g === 'string') s.add(g);
    else for (const n of g) s.add(n);
  }
  return [...s];
}

/** Config of the route types that only carry an ordered `next` list (route_mapping, trick_float). */
export interface NextListConfig extends BaseConfig {
  next: readonly string[];
}

export function nextListSchema(type: string, description: string): object {
  return routeSchema(type, { ...commonEscaperFields, next: strList(description) }, { required: ['next'] });
}

export function parseNextListConfig(type: string, v: Record<string, unknown>, ctx: ParseContext): NextListConfig {
  const next = (Array.isArray(v.next) ? v.next : [v.next]).map(String);
  if (next.length === 0) ctx.fail(['next'], 'at least one next escaper is needed');
  return Object.freeze({ name: v.name as string, type, raw: v, baseDir: ctx.baseDir, next });
}
