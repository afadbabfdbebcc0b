/**
 * The daemon process: load the config, build the runtime, open the control socket, and handle signals —
 * SIGHUP reloads atomically, SIGTERM goes offline gracefully, SIGINT/SIGQUIT quit at once.
 */
import { mkdir } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { ControlServer, controlSocketPath } from '@sluice/control';
import { ConfigError, formatConfigError, loadConfig, loadObjectFromSource } from '@sluice/config';
import { controlHandlers } from './control/handlers.js';
import { ProcessLogger } from './log/process-log.js';
import { checkGraph, parseConfig, parseObject, type ParsedConfig } from './runtime/config-model.js';
import type { RoleName } from './runtime/object-def.js';
import { Runtime } from './runtime/runtime.js';
import { StatsEmitter } from './stat/emitter.js';
import { parseStatConfig } from './stat/stat-config.js';

export interface DaemonOptions {
  configPath: string;
  groupName: string;
  controlDir: string;
  verbose: number;
  journal: boolean;
}

export function daemonVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Load, parse and check a config. `strict` turns dangling references into errors (`-t`). */
export async function loadAndCheck(path: string, strict: boolean, warn: (m: string) => void): Promise<ParsedConfig> {
  const loaded = await loadConfig(path);
  const parsed = parseConfig(loaded);
  const issues = checkGraph(parsed);
  if (issues.cycles.length) throw issues.cycles[0];
  if (issues.dangling.length) {
    if (strict) {
      throw ConfigError.combine(issues.dangling);
    }
    for (const d of issues.dangling) warn(`${d.message} (a deny placeholder is used)`);
  }
  return parsed;
}

export class Daemon {
  readonly version = `sluice ${daemonVersion()}`;
  readonly plog: ProcessLogger;
  runtime!: Runtime;
  private control: ControlServer | undefined;
  private statsd: StatsEmitter | undefined;
  private reloading: Promise<void> = Promise.resolve();
  private quitting = false;
  readonly socketPath: string;

  constructor(readonly opts: DaemonOptions) {
    this.plog = new ProcessLogger(opts.verbose, opts.journal);
    this.socketPath = controlSocketPath(opts.controlDir, opts.groupName, process.pid);
  }

  async start(): Promise<void> {
    const parsed = await loadAndCheck(this.opts.configPath, false, (m) => this.plog.warn(m));
    this.runtime = new Runtime(this.opts.groupName, this.plog, parsed.main);
    await this.runtime.apply(parsed);
    this.startStats(parsed.main.stat);
    await mkdir(this.opts.controlDir, { recursive: true, mode: 0o700 });
    this.control = new ControlServer({
      path: this.socketPath,
      handlers: controlHandlers(this),
      version: this.version,
      recvTimeoutMs: parsed.main.controller.recvTimeoutMs,
      sendTimeoutMs: parsed.main.controller.sendTimeoutMs,
      logger: { debug: (m) => this.plog.debug(m), info: (m) => this.plog.info(m), warn: (m) => this.plog.warn(m) },
    });
    await this.control.start();
    this.installSignals();
    this.plog.info(`${this.version} started: ${this.runtime.servers().length} servers, control socket ${this.socketPath}`);
  }

  /** StatsD (`stat:`), read once at start like g3; without it nothing is sent. */
  private startStats(raw: unknown): void {
    const cfg = parseStatConfig(raw);
    if (!cfg) return;
    let warned = false;
    this.statsd = new StatsEmitter(cfg, this.runtime, this.opts.groupName, (e) => {
      // a missing collector must not flood the process log: say it once
      if (!warned) this.plog.warn(`statsd: ${e.message}`);
      warned = true;
    });
    this.statsd.start();
  }

  private installSignals(): void {
    process.on('SIGHUP', () => {
      void this.reload().catch(() => {});
    });
    process.on('SIGTERM', () => void this.offline());
    const now = () => void this.quitNow();
    process.on('SIGINT', now);
    process.on('SIGQUIT', now);
  }

  /** Full reload from the config file; on any error the running generation stays. Serialised. */
  reload(): Promise<void> {
    const run = async () => {
      try {
        const parsed = await loadAndCheck(this.opts.configPath, false, (m) => this.plog.warn(m));
        const report = await this.runtime.apply(parsed);
        this.plog.info(`reload done: created [${report.created.join(' ')}] reloaded [${report.reloaded.join(' ')}] removed [${report.removed.join(' ')}]`);
      } catch (e) {
        this.plog.error(`reload aborted, still serving the previous config: ${e instanceof ConfigError ? formatConfigError(e) : (e as Error).message}`);
        throw e;
      }
    };
    const p = this.reloading.then(run, run);
    this.reloading = p.catch(() => {});
    return p;
  }

  /** Re-read one object from its file position (ctl reload-escaper NAME ...). */
  reloadObject(role: RoleName, name: string): Promise<void> {
    const run = async () => {
      const gen = this.runtime.gen!;
      const cur = gen.parsed.objects[role].find((p) => p.cfg.name === name);
      if (!cur) throw new Error(`no ${role} named '${name}'`);
      if (cur.raw.inline) throw new Error(`${role} '${name}' is written inline in the main file: reload is not supported, use SIGHUP`);
      const raw = await loadObjectFromSource(role, cur.raw.file, cur.raw.docIndex, gen.parsed.loaded.ext);
      if (raw.name !== name) throw new Error(`the object at ${cur.raw.file}#${cur.raw.docIndex} is now named '${raw.name}'`);
      const next = parseObject(role, raw);
      const objects = { ...gen.parsed.objects, [role]: gen.parsed.objects[role].map((p) => (p.cfg.name === name ? next : p)) };
      const parsed: ParsedConfig = { ...gen.parsed, objects };
      const issues = checkGraph(parsed);
      if (issues.cycles.length) throw issues.cycles[0];
      await this.runtime.apply(parsed);
      this.plog.info(`reloaded ${role} '${name}'`);
    };
    const p = this.reloading.then(run, run);
    this.reloading = p.catch(() => {});
    return p;
  }

  /** Graceful stop: keep listening for server_offline_delay, stop listening, let tasks finish within bounds. */
  async offline(): Promise<void> {
    if (this.quitting) return;
    this.quitting = true;
    const q = this.runtime.settings.quit;
    this.plog.info('going offline');
    await sleep(q.serverOfflineDelayMs);
    await this.runtime.offline();
    await sleep(q.taskWaitDelayMs);
    const deadline = Date.now() + Math.min(q.taskWaitTimeoutMs, q.taskQuitTimeoutMs);
    while (this.runtime.aliveTasks() > 0 && Date.now() < deadline) await sleep(100);
    if (this.runtime.aliveTasks() > 0) this.plog.warn(`quitting with ${this.runtime.aliveTasks()} tasks still alive`);
    await this.exit(0);
  }

  async quitNow(): Promise<void> {
    this.quitting = true;
    await this.exit(0);
  }

  private async exit(code: number): Promise<void> {
    this.runtime.destroyAll();
    await this.statsd?.stop().catch(() => {});
    await this.control?.close().catch(() => {});
    await this.runtime.logs.close().catch(() => {});
    process.exit(code);
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
