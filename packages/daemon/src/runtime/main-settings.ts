/**
 * The main file's process-wide keys: `runtime` (graceful-quit timings), `worker`, `log`, `stat`, `controller`.
 * They are read at start only; a reload ignores them, as g3 does.
 */
import { parseDuration } from '@sluice/common';
import { ConfigError, type LoadedConfig } from '@sluice/config';
import { parseLogConfig, type LogConfig } from '../log/hub.js';
import { parseStatConfig } from '../stat/stat-config.js';

export interface QuitTimings {
  /** how long a SIGTERM'd daemon keeps listening before going offline (g3 code default 4s) */
  serverOfflineDelayMs: number;
  /** pause after going offline before waiting on tasks */
  taskWaitDelayMs: number;
  /** longest wait for alive tasks to finish */
  taskWaitTimeoutMs: number;
  /** after this, remaining tasks are dropped */
  taskQuitTimeoutMs: number;
}

export interface MainSettings {
  quit: QuitTimings;
  log: LogConfig;
  /** raw `stat:` value, read by the StatsD emitter */
  stat: unknown;
  /** raw `worker:` value (accepted; sluice runs one event loop per process) */
  worker: unknown;
  controller: { recvTimeoutMs: number; sendTimeoutMs: number };
}

const RUNTIME_KEYS = new Set([
  'thread_number', 'thread_name', 'thread_stack_size', 'max_io_events_per_tick',
  'server_offline_delay', 'task_wait_delay', 'task_wait_timeout', 'task_quit_timeout',
]);

function mainError(loaded: LoadedConfig, key: 'runtime' | 'log' | 'stat' | 'worker' | 'controller', why: string, sub: string[] = []): ConfigError {
  const node = loaded.main[key];
  const pos = node ? node.locate(sub) : { file: loaded.mainFile, line: 1, column: 1 };
  return ConfigError.at(pos, why, { keyPath: `/${[key, ...sub].join('/')}` });
}

function asMap(v: unknown): Record<string, unknown> {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

export function parseMainSettings(loaded: LoadedConfig): MainSettings {
  const main: Record<string, unknown> = {};
  for (const [k, node] of Object.entries(loaded.main)) main[k] = node?.value;
  const rt = asMap(main.runtime);
  for (const k of Object.keys(rt)) {
    if (!RUNTIME_KEYS.has(k)) throw mainError(loaded, 'runtime', `unknown key '${k}'`, [k]);
  }
  const dur = (k: string, dflt: number): number => {
    if (rt[k] === undefined) return dflt;
    try {
      return parseDuration(rt[k]);
    } catch (e) {
      throw mainError(loaded, 'runtime', (e as Error).message, [k]);
    }
  };
  let log: LogConfig;
  try {
    log = parseLogConfig(main.log, loaded.configDir);
  } catch (e) {
    throw mainError(loaded, 'log', (e as Error).message);
  }
  // `stat:` is applied at start, but checked here so `sluice -t` reports a bad target or key
  try {
    parseStatConfig(main.stat);
  } catch (e) {
    throw mainError(loaded, 'stat', (e as Error).message, ((e as { path?: string[] }).path ?? []));
  }
  const ctl = asMap(asMap(main.controller).local);
  return {
    quit: {
      serverOfflineDelayMs: dur('server_offline_delay', 4000),
      taskWaitDelayMs: dur('task_wait_delay', 2000),
      taskWaitTimeoutMs: dur('task_wait_timeout', 10 * 3600_000),
      taskQuitTimeoutMs: dur('task_quit_timeout', 30 * 60_000),
    },
    log,
    stat: main.stat,
    worker: main.worker,
    controller: {
      recvTimeoutMs: typeof ctl.recv_timeout === 'number' ? ctl.recv_timeout * 1000 : 30_000,
      sendTimeoutMs: typeof ctl.send_timeout === 'number' ? ctl.send_timeout * 1000 : 1000,
    },
  };
}
