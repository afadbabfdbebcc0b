// Probe: CPU and read/write syscalls per GB through a CONNECT or SOCKS5 tunnel, sluice beside squid/dante, repeated.
//   taskset -c 0 node bench/bulk-probe.mjs [connect|socks] [rounds]   (PERF=1: perf record -g of sluice to /tmp/exp/)
// Both proxies run on core 1 (see bench/README.md); the clients and the origin on the caller's core.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { bulkDownload, tunnelRate } from './lib/clients.mjs';
import { startOrigin } from './lib/origin-process.mjs';
import { sluiceYaml, startSluice, startSquid, startDante } from './lib/peers.mjs';
import { cpuSeconds, freePort } from './lib/proc.mjs';

const kind = process.argv[2] ?? 'connect';
const rounds = Math.max(1, Math.min(20, Number(process.argv[3] ?? 3)));
if (process.env.PERF) mkdirSync('/tmp/exp', { recursive: true });
const io = (pid) => Object.fromEntries(readFileSync(`/proc/${pid}/io`, 'utf8').trim().split('\n').map((l) => l.split(': ')).map(([k, v]) => [k, Number(v)]));

const origin = await startOrigin();
const port = await freePort();
const server = kind === 'connect'
  ? [`  - name: http`, '    type: http_proxy', `    listen: 127.0.0.1:${port}`, '    escaper: direct']
  : [`  - name: socks`, '    type: socks_proxy', `    listen: 127.0.0.1:${port}`, '    escaper: direct'];
const sl = await startSluice({ yaml: sluiceYaml({ servers: server }), port, core: 1 });
const peer = kind === 'connect' ? await startSquid({ core: 1 }) : await startDante({ core: 1 });
const targets = [['sluice', sl], [peer.name ?? kind, peer]];
try {
  // PRECONNECT=1: first open and close tunnels for 5 s, as the full bench's connect phase does before its bulk phase
  if (process.env.PRECONNECT) for (const [, p] of targets) await tunnelRate(kind === 'connect' ? { kind: 'connect', port: p.port } : { kind: 'socks5', port: p.port }, origin.ports.echo, { seconds: 5 });
  for (let r = 0; r < rounds; r++) {
    for (const [name, p] of targets) {
      const via = kind === 'connect' ? { kind: 'connect', port: p.port } : { kind: 'socks5', port: p.port };
      try { await bulkDownload(via, origin.ports.source, { seconds: 1 }); } catch (e) { console.log(name, e.message.slice(0, 60)); continue; }
      const c0 = cpuSeconds(p.pid), i0 = io(p.pid);
      const perf = process.env.PERF && name === 'sluice' ? spawn('perf', ['record', '-F', '1999', '-g', '-p', String(p.pid), '-o', `/tmp/exp/perf-${r}.data`, '--', 'sleep', '2.5'], { stdio: 'ignore' }) : null;
      const res = await bulkDownload(via, origin.ports.source, { seconds: 3 });
      const c1 = cpuSeconds(p.pid), i1 = io(p.pid);
      if (perf) await new Promise((r) => perf.on('exit', r));
      const gb = res.bytes / 1e9;
      console.log(`${name.padEnd(10)} ${(gb / res.seconds).toFixed(2)} GB/s  ${((c1 - c0) / gb).toFixed(3)} CPU-s/GB  reads/GB ${Math.round((i1.syscr - i0.syscr) / gb)}  writes/GB ${Math.round((i1.syscw - i0.syscw) / gb)}  avg read ${Math.round((i1.rchar - i0.rchar) / (i1.syscr - i0.syscr))} B`);
    }
  }
} finally {
  await sl.stop(); await peer.stop(); origin.stop();
}
