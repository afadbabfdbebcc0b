// Probe: what the task log costs per request, split by thread. Two sluices on core 1 (log: discard, and
// log: stdout into a drained pipe), keep-alive wrk load from core 0 in interleaved rounds; per round, CPU per
// 10k requests of each daemon's main thread and of its other threads (V8's GC helpers, libuv's pool).
//   taskset -c 0 node bench/log-probe.mjs [rounds] [seconds]   (PERF=1: perf record -g of each to /tmp/exp/)
//   LOG=stdout|discard (the second daemon's driver), STAT=1 (StatsD on the second daemon too)
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, mkdirSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { startOrigin } from './lib/origin-process.mjs';
import { sluiceYaml, startSluice } from './lib/peers.mjs';
import { freePort } from './lib/proc.mjs';
import { runWrk } from './lib/wrk.mjs';

const rounds = Math.max(1, Math.min(20, Number(process.argv[2] ?? 4)));
const seconds = Math.max(1, Math.min(30, Number(process.argv[3] ?? 3)));
if (process.env.PERF) mkdirSync('/tmp/exp', { recursive: true });

/** CPU seconds of each thread of `pid`: the main thread (tid == pid) and the rest */
function threadCpu(pid) {
  let main = 0;
  let other = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const f = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').slice(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').lastIndexOf(')') + 2).split(' ');
      const t = (Number(f[11]) + Number(f[12])) / 100;
      if (Number(tid) === pid) main += t;
      else other += t;
    } catch { /* thread gone */ }
  }
  return { main, other };
}

const origin = await startOrigin();
const udp = createSocket('udp4');
await new Promise((r) => udp.bind(0, '127.0.0.1', r));
udp.on('message', () => {});
const server = (port) => ['  - name: http', '    type: http_proxy', `    listen: 127.0.0.1:${port}`, '    escaper: direct'];
const offPort = await freePort();
const onPort = await freePort();
const stat = process.env.STAT ? [`target_udp: 127.0.0.1:${udp.address().port}`, 'emit_interval: 200ms'] : undefined;
const off = await startSluice({ yaml: sluiceYaml({ servers: server(offPort) }), port: offPort, core: 1 });
const on = await startSluice({ yaml: sluiceYaml({ servers: server(onPort), log: process.env.LOG ?? 'stdout', stat }), port: onPort, core: 1, stdout: 'pipe' });
let lines = 0;
on.proc.stdout?.on('data', (d) => { for (let i = d.indexOf(10); i >= 0; i = d.indexOf(10, i + 1)) lines++; });
const target = `http://127.0.0.1:${origin.ports.http}/x`;
const per10k = (cpu, req) => (cpu / req) * 1e4;
try {
  for (let r = 0; r < rounds; r++) {
    for (const [name, p] of [['off', off], ['on', on]]) {
      const c0 = threadCpu(p.pid);
      const perf = process.env.PERF ? spawn('perf', ['record', '-F', '1999', '-g', '-p', String(p.pid), '-o', `/tmp/exp/log-${name}-${r}.data`, '--', 'sleep', String(seconds - 0.5)], { stdio: 'ignore' }) : null;
      const w = await runWrk({ port: p.port, target, connections: 50, seconds, core: 0 });
      const c1 = threadCpu(p.pid);
      if (perf) await new Promise((res) => perf.on('exit', res));
      const req = w.requests;
      console.log(`${name.padEnd(4)} ${Math.round(req / seconds).toString().padStart(6)} req/s  main ${per10k(c1.main - c0.main, req).toFixed(3)}  other ${per10k(c1.other - c0.other, req).toFixed(3)}  CPU-s/10k`);
    }
  }
  console.log(`log lines seen: ${lines}`);
} finally {
  await Promise.all([off.stop(), on.stop()]);
  origin.stop();
  udp.close();
}
