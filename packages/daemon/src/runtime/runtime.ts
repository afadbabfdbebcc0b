/**
 * The live state of one daemon process: the current generation of objects, the listeners, the loggers.
 *
 * Applying a config builds the next generation beside the live one, reusing unchanged objects, reloading
 * changed ones in place and creating replaced or new ones; only when every new object is built and has bound
 * its listeners is the generation swapped in. If anything fails, what was built is destroyed and the live
 * generation keeps serving. Nothing here is a module global, so a test can run two runtimes in one process.
 */
import { DenyAllResolver } from '../resolve/deny_all/index.js';
import { DummyDenyEscaper } from '../escape/dummy_deny/index.js';
import type { Escaper } from '../escape/types.js';
import { LogHub } from '../log/hub.js';
import type { ProcessLogger } from '../log/process-log.js';
import type { Resolver } from '../resolve/types.js';
import type { Server } from '../serve/types.js';
import { ROLES, type ParsedConfig } from './config-model.js';
import { ListenerHub } from './listeners.js';
import type { MainSettings } from './main-settings.js';
import type { BaseConfig, LiveObject, RoleName } from './object-def.js';

export type ObjectMaps = Record<RoleName, Map<string, LiveObject>>;

export class Generation {
  constructor(readonly parsed: ParsedConfig, readonly maps: ObjectMaps, readonly serial: number) {}
}

export interface ApplyReport {
  created: string[];
  reloaded: string[];
  kept: string[];
  removed: string[];
}

function emptyMaps(): ObjectMaps {
  return { resolver: new Map(), escaper: new Map(), user_group: new Map(), auditor: new Map(), server: new Map() };
}

function sameRaw(a: BaseConfig, b: BaseConfig): boolean {
  return a.baseDir === b.baseDir && JSON.stringify(a.raw) === JSON.stringify(b.raw);
}

export class Runtime {
  readonly listeners: ListenerHub;
  readonly logs: LogHub;
  gen: Generation | null = null;
  private serial = 0;
  private readonly placeholderEscapers = new Map<string, Escaper>();
  private readonly placeholderResolvers = new Map<string, Resolver>();
  /** objects replaced or removed by a reload that are still draining */
  private readonly retiring = new Set<LiveObject>();

  constructor(readonly groupName: string, readonly plog: ProcessLogger, readonly settings: MainSettings) {
    this.logs = new LogHub(settings.log, groupName, (m) => plog.warn(m));
    this.listeners = new ListenerHub((m) => plog.warn(m));
  }

  // ---- lookups used on the hot path -------------------------------------------------------------------------

  escaper(name: string): Escaper {
    const e = this.gen?.maps.escaper.get(name) as Escaper | undefined;
    if (e) return e;
    let p = this.placeholderEscapers.get(name);
    if (!p) {
      // g3 keeps running with a deny placeholder for a dangling reference; the load already warned about it.
      p = new DummyDenyEscaper({ name, type: 'dummy_deny', raw: null, baseDir: '' }, `escaper '${name}' does not exist`);
      this.placeholderEscapers.set(name, p);
    }
    return p;
  }

  resolver(name: string): Resolver {
    const r = this.gen?.maps.resolver.get(name) as Resolver | undefined;
    if (r) return r;
    let p = this.placeholderResolvers.get(name);
    if (!p) {
      p = new DenyAllResolver({ name: name || '(none)', type: 'deny_all', raw: null, baseDir: '' });
      this.placeholderResolvers.set(name, p);
    }
    return p;
  }

  server(name: string): Server | undefined {
    return this.gen?.maps.server.get(name) as Server | undefined;
  }

  objects<T extends LiveObject = LiveObject>(role: RoleName): T[] {
    return this.gen ? ([...this.gen.maps[role].values()] as T[]) : [];
  }

  // ---- applying a config ------------------------------------------------------------------------------------

  async apply(parsed: ParsedConfig): Promise<ApplyReport> {
    const prev = this.gen;
    const maps = emptyMaps();
    const created: LiveObject[] = [];
    const reloads: Array<[LiveObject, BaseConfig]> = [];
    const replaced: LiveObject[] = [];
    const report: ApplyReport = { created: [], reloaded: [], kept: [], removed: [] };
    try {
      for (const role of ROLES) {
        for (const p of parsed.objects[role]) {
          const name = p.cfg.name;
          const old = prev?.maps[role].get(name);
          if (old && old.config.type === p.cfg.type) {
            const action = p.def.diff ? p.def.diff(old.config, p.cfg) : sameRaw(old.config, p.cfg) ? 'none' : old.reload ? 'reload' : 'respawn';
            if (action === 'none' && sameRaw(old.config, p.cfg)) {
              maps[role].set(name, old);
              report.kept.push(`${role}/${name}`);
              continue;
            }
            if ((action === 'reload' || action === 'none') && old.reload) {
              maps[role].set(name, old);
              reloads.push([old, p.cfg]);
              report.reloaded.push(`${role}/${name}`);
              continue;
            }
            replaced.push(old);
          } else if (old) replaced.push(old);
          const obj = p.def.create(p.cfg, this) as LiveObject;
          created.push(obj);
          maps[role].set(name, obj);
          report.created.push(`${role}/${name}`);
        }
      }
      for (const obj of created) await obj.prepare?.();
    } catch (e) {
      for (const obj of created) obj.destroy();
      throw e;
    }
    // commit: nothing below may fail
    for (const [obj, cfg] of reloads) obj.reload!(cfg);
    if (prev) {
      for (const role of ROLES) {
        for (const [name, old] of prev.maps[role]) {
          if (!maps[role].has(name)) {
            replaced.push(old);
            report.removed.push(`${role}/${name}`);
          }
        }
      }
    }
    this.gen = new Generation(parsed, maps, ++this.serial);
    for (const obj of created) obj.start?.();
    for (const old of replaced) this.retire(old);
    return report;
  }

  /** A replaced or removed object stops taking work and finishes what it has (servers: go offline). */
  private retire(obj: LiveObject): void {
    this.retiring.add(obj);
    const grace = this.settings.quit.taskWaitTimeoutMs;
    void obj.close(grace).finally(() => this.retiring.delete(obj));
  }

  // ---- going away ---------------------------------------------------------------------------------------------

  servers(): Server[] {
    return this.objects<Server>('server');
  }

  aliveTasks(): number {
    let n = 0;
    for (const s of this.servers()) n += s.stats.taskAlive;
    for (const o of this.retiring) if ('stats' in o && (o as Server).stats?.taskAlive) n += (o as Server).stats.taskAlive;
    return n;
  }

  /** Stop every listener; running tasks continue. */
  async offline(): Promise<void> {
    await Promise.all(this.servers().map((s) => s.offline()));
    for (const o of this.retiring) if ('offline' in o) await (o as Server).offline();
  }

  /** Drop everything now. */
  destroyAll(): void {
    const all: LiveObject[] = [...this.retiring];
    if (this.gen) for (const role of [...ROLES].reverse()) all.push(...this.gen.maps[role].values());
    for (const o of all) o.destroy();
    void this.listeners.closeAll();
  }
}
