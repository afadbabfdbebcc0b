// Probe: CPU per new tunnel (SOCKS5 or CONNECT; open, one echo, close), sluice beside microsocks/squid, repeated.
//   taskset -c 0 node bench/conn-probe.mjs [socks|connect] [rounds]   (PERF=1: perf record -g of sluice to /tmp/exp/)
// Both proxies run on core 1; the clients and the echo origin on the caller's core. Rounds are spaced so
// TIME-WAIT sockets from one do not starve the next of ports.
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { tunnelRate } from './lib/clients.mjs';
import { startOrigin } from './lib/origin-process.mjs';
import { sluiceYaml, startMicrosocks, startSluice, startSquid } from './lib/peers.mjs';
import { cpuSeconds, freePort, sleep } from './lib/proc.mjs';

const kind = process.argv[2] ?? 'socks';
const rounds = Math.max(1, Math.min(10, Number(process.argv[3] ?? 2)));
if (process.env.PERF) mkdirSync('/tmp/exp', { recursive: true });

const origin = await startOrigin();
const port = await freePort();
const server = kind === 'connect'
  ? ['  - name: http', '    type: http_proxy', `    listen: 127.0.0.1:${port}`, '    escaper: direct']
  : ['  - name: socks', '    type: socks_proxy', `    listen: 127.0.0.1:${port}`, '    escaper: direct'];
const sl = await startSluice({ yaml: sluiceYaml({ servers: server }), port, core: 1 });
const peer = kind === 'connect' ? await startSquid({ core: 1 }) : await startMicrosocks({ core: 1 });
const via = (p) => (kind === 'connect' ? { kind: 'connect', port: p.port } : { kind: 'socks5', port: p.port });
try {
  for (let r = 0; r < rounds; r++) {
    for (const [name, p] of [['sluice', sl], [peer.name ?? 'peer', peer]]) {
      await tunnelRate(via(p), origin.ports.echo, { seconds: 1 }); // warm-up
      const c0 = cpuSeconds(p.pid);
      const perf = process.env.PERF && name === 'sluice' ? spawn('perf', ['record', '-F', '1999', '-g', '-p', String(p.pid), '-o', `/tmp/exp/conn-${r}.data`, '--', 'sleep', '2.5'], { stdio: 'ignore' }) : null;
      const res = await tunnelRate(via(p), origin.ports.echo, { seconds: 3 });
      const cpu = cpuSeconds(p.pid) - c0;
      if (perf) await new Promise((ok) => perf.on('exit', ok));
      console.log(`${name.padEnd(10)} ${(res.ops / res.seconds).toFixed(0).padStart(6)} tunnels/s  ${((cpu / res.ops) * 1e4).toFixed(2)} CPU-s/10k  errors ${res.errors}`);
      await sleep(15_000);
    }
  }
} finally {
  await Promise.all([sl.stop(), peer.stop()]);
  origin.stop();
}
