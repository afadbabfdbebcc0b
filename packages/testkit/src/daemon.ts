/**
 * Start the real `sluice` binary on loopback for a test: write the config, spawn the daemon with its own
 * control dir, wait for the control socket, and expose the bound ports, the task logs and control calls.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ControlClient, controlSocketPath } from '@sluice/control';
import { parseLogLine, type ParsedLogLine } from './log-parse.js';

/**
 * g3's task log writes ClientShutdown/UpstreamShutdown records for tunnels (and Created/Connected/Periodic ones
 * when a server asks) beside the one Finished record of each task.
 */
function isFinishRecord(r: ParsedLogLine): boolean {
  return r.fields.log_type !== 'Task' || r.fields.task_event === undefined || r.fields.task_event === 'Finished';
}

export const SLUICE_BIN = join(dirname(fileURLToPath(import.meta.url)), '../../daemon/dist/bin/sluice.js');
export const CTL_BIN = join(dirname(fileURLToPath(import.meta.url)), '../../ctl/dist/bin/sluice-ctl.js');

export interface StartOptions {
  /** files to write into the config dir: name → content (main.yaml is the main file) */
  files?: Record<string, string>;
  /** an existing config file or directory instead of files */
  configPath?: string;
  group?: string;
  extraArgs?: string[];
  env?: Record<string, string>;
  startTimeoutMs?: number;
}

export interface Listening {
  server: string;
  type: string;
  address: string;
  port: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class DaemonHandle {
  readonly stdoutLines: string[] = [];
  stderr = '';
  exitCode: number | null = null;
  private exited: Promise<number | null>;
  private client: ControlClient | undefined;
  private stdoutRest = '';

  constructor(readonly proc: ChildProcess, readonly dir: string, readonly controlDir: string, readonly configPath: string, readonly group = '') {
    proc.stdout!.setEncoding('utf8');
    proc.stdout!.on('data', (d: string) => {
      const text = this.stdoutRest + d;
      const lines = text.split('\n');
      this.stdoutRest = lines.pop()!;
      this.stdoutLines.push(...lines);
    });
    proc.stderr!.setEncoding('utf8');
    proc.stderr!.on('data', (d: string) => (this.stderr += d));
    this.exited = new Promise((resolve) => proc.on('exit', (code, signal) => {
      this.exitCode = code ?? (signal ? 128 : null);
      resolve(this.exitCode);
    }));
  }

  get pid(): number {
    return this.proc.pid!;
  }

  get socketPath(): string {
    return controlSocketPath(this.controlDir, this.group, this.pid);
  }

  async call<T = unknown>(method: string, params?: Record<string, unknown>): Promise<T> {
    this.client ??= await ControlClient.connect(this.socketPath, { timeoutMs: 5000 });
    return this.client.call<T>(method, params);
  }

  async listeners(): Promise<Listening[]> {
    return this.call<Listening[]>('server_listeners', {});
  }

  async port(server: string): Promise<number> {
    const l = (await this.listeners()).find((x) => x.server === server);
    if (!l) throw new Error(`server ${server} has no listener`);
    return l.port;
  }

  /** Wait (bounded) for a task's finish record (log_type Task) matching `pred`. */
  waitForTask(pred: (r: ParsedLogLine) => boolean, timeoutMs = 5000): Promise<ParsedLogLine> {
    return this.waitForLog((r) => r.fields.log_type === 'Task' && pred(r), timeoutMs);
  }

  /** Finish records of the tasks seen so far (log_type Task): one per task. */
  taskLogs(): ParsedLogLine[] {
    return this.records().filter((r) => r.fields.log_type === 'Task' && isFinishRecord(r));
  }

  /** Every task record seen so far, the Created/Connected/Periodic/…Shutdown events included. */
  allTaskLogs(): ParsedLogLine[] {
    return this.records().filter((r) => r.fields.log_type === 'Task');
  }

  records(): ParsedLogLine[] {
    const out: ParsedLogLine[] = [];
    for (const l of this.stdoutLines) {
      const r = parseLogLine(l);
      if (r) out.push(r);
    }
    return out;
  }

  /**
   * Wait (bounded) for a log record matching `pred`. Task event records other than the finish record are passed
   * over unless `events` is set, so a test looking for "the task to this upstream" finds its one finish record.
   */
  async waitForLog(pred: (r: ParsedLogLine) => boolean, timeoutMs = 5000, { events = false } = {}): Promise<ParsedLogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.records().find((r) => (events || isFinishRecord(r)) && pred(r));
      if (hit) return hit;
      if (Date.now() > deadline) throw new Error(`no matching log record within ${timeoutMs}ms; have:\n${this.stdoutLines.slice(-20).join('\n')}`);
      await sleep(25);
    }
  }

  async waitForStderr(re: RegExp, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!re.test(this.stderr)) {
      if (Date.now() > deadline) throw new Error(`stderr did not match ${re} within ${timeoutMs}ms:\n${this.stderr}`);
      await sleep(25);
    }
  }

  /** Rewrite a config file in place (for reload tests). */
  writeFile(name: string, content: string): void {
    const p = join(this.dir, name);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, content);
  }

  signal(sig: NodeJS.Signals): void {
    this.proc.kill(sig);
  }

  /** Wait for the process to exit (bounded). */
  async waitExit(timeoutMs = 10_000): Promise<number | null> {
    let t: NodeJS.Timeout | undefined;
    const r = await Promise.race([this.exited, new Promise<'timeout'>((res) => (t = setTimeout(() => res('timeout'), timeoutMs)))]);
    clearTimeout(t);
    if (r === 'timeout') throw new Error(`daemon did not exit within ${timeoutMs}ms`);
    return r;
  }

  /** Stop the daemon (SIGINT: immediate), close the control client, remove temp files. Asserts no crash. */
  async stop(): Promise<void> {
    await this.client?.close().catch(() => {});
    if (this.exitCode === null) {
      this.proc.kill('SIGINT');
      try {
        await this.waitExit(5000);
      } catch {
        this.proc.kill('SIGKILL');
        await this.exited;
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
    rmSync(this.controlDir, { recursive: true, force: true });
    if (/uncaught exception/i.test(this.stderr)) throw new Error(`daemon logged an uncaught exception:\n${this.stderr}`);
  }
}

export async function startDaemon(opts: StartOptions): Promise<DaemonHandle> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-test-'));
  const controlDir = mkdtempSync(join(tmpdir(), 'sluice-ctl-'));
  for (const [name, content] of Object.entries(opts.files ?? {})) {
    const p = join(dir, name);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, content);
  }
  const configPath = opts.configPath ?? dir;
  const args = [SLUICE_BIN, '-c', configPath, '-C', controlDir, '-v', ...(opts.group ? ['-G', opts.group] : []), ...(opts.extraArgs ?? [])];
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
  const h = new DaemonHandle(proc, dir, controlDir, configPath, opts.group ?? '');
  const deadline = Date.now() + (opts.startTimeoutMs ?? 10_000);
  // The socket file appears (hard-linked into place) a moment before the control server takes connections;
  // one made in between is reset. Wait for the daemon to say it is listening (it runs with -v).
  while (!existsSync(h.socketPath) || !h.stderr.includes(`control: listening on ${h.socketPath}`)) {
    if (h.exitCode !== null) throw new Error(`daemon exited with ${h.exitCode}:\n${h.stderr}`);
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`daemon did not open its control socket in time:\n${h.stderr}`);
    }
    await sleep(20);
  }
  return h;
}

/** Run `sluice` with arbitrary args (e.g. `-t -c dir`) and collect its output. */
export function runSluice(args: string[], timeoutMs = 20_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runNode(SLUICE_BIN, args, timeoutMs);
}

export function runCtl(args: string[], timeoutMs = 10_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runNode(CTL_BIN, args, timeoutMs);
}

function runNode(bin: string, args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('exit', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The source folder of a compiled e2e test (test/dist/e2e/x/ → test/e2e/x/), where its YAML lives. */
export function scenarioDir(importMetaUrl: string): string {
  return dirname(fileURLToPath(importMetaUrl)).replace(`${join('test', 'dist')}`, 'test');
}
