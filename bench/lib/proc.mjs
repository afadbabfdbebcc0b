// Process plumbing for the benchmarks: start a peer pinned to a core, wait for its port, read its CPU time
// and memory from /proc (summed over its process tree: dante forks workers), stop it.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import net from 'node:net';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// /proc/<pid>/stat times are in clock ticks; USER_HZ is 100 on every Linux build we run on.
const CLK_TCK = 100;

function readStat(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm (field 2) may hold spaces and parentheses: parse from the last ')'
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // f[0] is field 3 (state): field N is f[N - 3]
    return { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]) };
  } catch {
    return undefined; // exited between listing and reading
  }
}

/** pid and all its live descendants. */
export function processTree(root) {
  const children = new Map();
  for (const name of readdirSync('/proc')) {
    if (name.charCodeAt(0) < 48 || name.charCodeAt(0) > 57) continue;
    const st = readStat(name);
    if (!st) continue;
    let list = children.get(st.ppid);
    if (!list) children.set(st.ppid, (list = []));
    list.push(Number(name));
  }
  const out = [];
  const todo = [root];
  while (todo.length && out.length < 100_000) {
    const p = todo.pop();
    out.push(p);
    for (const c of children.get(p) ?? []) todo.push(c);
  }
  return out;
}

/**
 * CPU seconds (user + system) used so far by the tree, including children it has already reaped
 * (cutime/cstime), so a peer that forks short-lived workers is charged for them.
 */
export function cpuSeconds(root) {
  let ticks = 0;
  for (const p of processTree(root)) ticks += readStat(p)?.ticks ?? 0;
  return ticks / CLK_TCK;
}

function statusKiB(pid, file, key) {
  try {
    const text = readFileSync(`/proc/${pid}/${file}`, 'utf8');
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** VmRSS summed over the tree (overcounts pages shared between processes) and Pss (shares them out). */
export function memoryKiB(root) {
  let rss = 0;
  let pss = 0;
  const tree = processTree(root);
  for (const p of tree) {
    rss += statusKiB(p, 'status', 'VmRSS');
    pss += statusKiB(p, 'smaps_rollup', 'Pss');
  }
  return { rss, pss, processes: tree.length };
}

/** A free loopback TCP port (bound then released; a small race we accept on a bench machine). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Wait until something accepts on 127.0.0.1:port. */
export async function waitPort(port, timeoutMs = 15_000, isAlive = () => true) {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 10_000; i++) {
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (!isAlive()) throw new Error(`process exited before port ${port} opened`);
    if (Date.now() > deadline) throw new Error(`nothing listening on 127.0.0.1:${port} after ${timeoutMs}ms`);
    await sleep(50);
  }
}

/** The hard limit on open files: the most prlimit may raise the soft limit to without CAP_SYS_RESOURCE. */
export const NOFILE_MAX = (() => {
  const r = spawnSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' });
  const n = Number(r.stdout.trim());
  return Number.isFinite(n) && n > 0 ? n : 65536; // 'unlimited' → NaN
})();

/**
 * Start `cmd args` pinned to `core` with a fd limit raised to the hard limit. prlimit and taskset both exec their command, so
 * the child's pid is the peer's own pid. The child leads its own process group so stop() can end workers
 * it forked.
 */
export function startPinned(name, core, cmd, args, { stdout = 'ignore', env, nofile = NOFILE_MAX } = {}) {
  const proc = spawn('prlimit', [`--nofile=${nofile}:${nofile}`, 'taskset', '-c', String(core), cmd, ...args], {
    stdio: ['ignore', stdout, 'pipe'],
    detached: true,
    env: env ? { ...process.env, ...env } : process.env,
  });
  let stderr = '';
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (d) => {
    if (stderr.length < 64 * 1024) stderr += d;
  });
  let exited = false;
  const exitPromise = new Promise((resolve) =>
    proc.on('exit', (code, sig) => {
      exited = true;
      resolve(code ?? sig);
    }),
  );
  return {
    name,
    proc,
    pid: proc.pid,
    get stderr() {
      return stderr;
    },
    get alive() {
      return !exited;
    },
    exitPromise,
    /** Ask politely (`signal`), then kill the whole group after `graceMs`. */
    async stop(signal = 'SIGTERM', graceMs = 5000) {
      if (!exited) {
        try {
          process.kill(-proc.pid, signal);
        } catch {}
        const t = setTimeout(() => {
          try {
            process.kill(-proc.pid, 'SIGKILL');
          } catch {}
        }, graceMs);
        await exitPromise;
        clearTimeout(t);
      }
      // workers of a forking peer may outlive the leader for a moment
      try {
        process.kill(-proc.pid, 'SIGKILL');
      } catch {}
    },
  };
}
