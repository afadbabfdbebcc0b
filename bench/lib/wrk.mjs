// wrk as the HTTP load generator: keep-alive GETs at a fixed connection count, pinned to the load core.
// Through a proxy the Lua script sends absolute-form requests (what a client configured with a proxy sends);
// direct, the origin-form request the same client would send without one.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function wrkScript({ target, headers = {} }) {
  const hdrs = Object.entries(headers)
    .map(([k, v]) => `[${JSON.stringify(k)}] = ${JSON.stringify(v)}`)
    .join(', ');
  // the request is formatted once: wrk's per-request Lua cost stays the same for every target
  return `local req = wrk.format("GET", ${JSON.stringify(target)}, { ${hdrs} })
request = function() return req end
`;
}

function toMs(value, unit) {
  const v = Number(value);
  return unit === 'us' ? v / 1000 : unit === 'ms' ? v : unit === 's' ? v * 1000 : unit === 'm' ? v * 60_000 : NaN;
}

export function parseWrk(out) {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
  const pct = {};
  for (const m of out.matchAll(/^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s|m)\s*$/gm)) pct[m[1]] = toMs(m[2], m[3]);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const socketErrors = sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0;
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  return { rps, requests, p50: pct['50'], p99: pct['99'], socketErrors, non2xx };
}

/**
 * Run wrk for `seconds` against 127.0.0.1:port, requesting `target` (absolute URL or path).
 * One wrk thread: the load has one core, and two wrk threads time-sharing it (with the origin) stamp a
 * response late whenever its thread waits for the CPU, which shows up as a p99 of the load generator's own.
 */
export function runWrk({ port, target, headers, connections, seconds, threads = 1, core }) {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-wrk-'));
  const script = join(dir, 'req.lua');
  writeFileSync(script, wrkScript({ target, headers }));
  const args = ['-c', String(core), 'wrk', '-t', String(threads), '-c', String(connections), '-d', `${seconds}s`, '--timeout', '5s', '--latency', '-s', script, `http://127.0.0.1:${port}/`];
  return new Promise((resolve, reject) => {
    const p = spawn('taskset', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    // wrk ends on its own after -d; the guard only matters if it hangs
    const guard = setTimeout(() => p.kill('SIGKILL'), (seconds + 15) * 1000);
    p.on('exit', (code) => {
      clearTimeout(guard);
      rmSync(dir, { recursive: true, force: true });
      if (code !== 0) return reject(new Error(`wrk exited ${code}: ${out.slice(-500)}`));
      resolve({ ...parseWrk(out), raw: out });
    });
  });
}
