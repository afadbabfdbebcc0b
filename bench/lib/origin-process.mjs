// Starts bench/lib/origin.mjs as its own process (on the caller's core: children inherit the affinity) and
// resolves with the ports it announces on its first stdout line; stop() ends it by closing its stdin.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ORIGIN = join(dirname(fileURLToPath(import.meta.url)), 'origin.mjs');

export function startOrigin() {
  const p = spawn(process.execPath, [ORIGIN], { stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let buf = '';
    const t = setTimeout(() => reject(new Error('origin did not start')), 10_000);
    p.stdout.on('data', (d) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(t);
        resolve({ proc: p, pid: p.pid, ports: JSON.parse(buf.slice(0, nl)), stop: () => p.stdin.end() });
      }
    });
    p.on('exit', () => reject(new Error('origin exited')));
  });
}
