#!/usr/bin/env node
// sluice benchmarks beside real peers (squid, dante, microsocks) in the same run, on loopback.
// The proxy under test is pinned to one core (taskset -c 1), the load generators and origins to the
// other (taskset -c 0). CPU cost is read from /proc/<pid>/stat around each phase, memory from
// /proc/<pid>/status. See bench/README.md for what each number means.
//
//   node bench/run.mjs [--seconds 4] [--only http,connect,bulk,idle,socks,auth,logging,chain]
//                      [--idle 5000] [--profile] [--out bench/results/NAME.json] [--markdown]
//                      [--sluice path/to/packages/daemon/dist/bin/sluice.js]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { bulkDownload, closeAll, openIdle, tunnelRate } from './lib/clients.mjs';
import { startOrigin } from './lib/origin-process.mjs';
import {
  SLUICE_BIN,
  checkSluiceConfig,
  danteAvailable,
  microsocksAvailable,
  sluiceYaml,
  squidAvailable,
  startDante,
  startMicrosocks,
  startSluice,
  startSquid,
} from './lib/peers.mjs';
import { NOFILE_MAX, cpuSeconds, freePort, memoryKiB, sleep } from './lib/proc.mjs';
import { fmt, markdownTable, table } from './lib/report.mjs';
import { runWrk } from './lib/wrk.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const PROXY_CORE = 1;
const LOAD_CORE = 0;
const ALL = ['http', 'connect', 'bulk', 'idle', 'socks', 'auth', 'logging', 'chain'];

const { values: opt } = parseArgs({
  options: {
    seconds: { type: 'string', default: '4' },
    only: { type: 'string' },
    idle: { type: 'string', default: '5000' },
    profile: { type: 'boolean', default: false },
    out: { type: 'string' },
    markdown: { type: 'boolean', default: false },
    sluice: { type: 'string' },
  },
  strict: true,
});

// Re-exec pinned to the load core with the fd limit raised, so the clients, wrk and the origin (children
// inherit the affinity) never run on the proxy's core.
if (!process.env.SLUICE_BENCH_PINNED) {
  if (opt.sluice) process.env.SLUICE_BENCH_BIN = resolve(opt.sluice);
  const r = spawnSync('prlimit', [`--nofile=${NOFILE_MAX}:${NOFILE_MAX}`, 'taskset', '-c', String(LOAD_CORE), process.execPath, fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, SLUICE_BENCH_PINNED: '1' },
  });
  process.exit(r.status ?? 1);
}

const SECONDS = Math.max(1, Math.min(60, Number(opt.seconds)));
const IDLE_COUNT = Math.max(10, Math.min(20_000, Number(opt.idle)));
const only = opt.only ? opt.only.split(',').map((s) => s.trim()) : ALL;
for (const o of only) if (!ALL.includes(o)) throw new Error(`unknown benchmark '${o}' (known: ${ALL.join(', ')})`);
const PROFILE_DIR = opt.profile ? join(HERE, 'results', `prof-${Date.now()}`) : undefined;

const rows = [];
const skipped = [];
const log = (m) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${m}\n`);

if (!existsSync(SLUICE_BIN)) {
  console.error(`${SLUICE_BIN} is missing: build first (npx turbo run build)`);
  process.exit(1);
}


// ---------- measuring ----------

/** Run fn() and charge the CPU that `pids` (process trees) used meanwhile. */
async function measured(pids, fn) {
  const before = pids.map(cpuSeconds);
  const r = await fn();
  const cpu = pids.reduce((sum, pid, i) => sum + cpuSeconds(pid) - before[i], 0);
  return { ...r, cpu: pids.length ? cpu : null };
}

const per10k = (cpu, n) => (cpu == null || !n ? null : (cpu / n) * 10_000);
const perGB = (cpu, bytes) => (cpu == null || !bytes ? null : cpu / (bytes / 1e9));

async function withPeers(starters, fn) {
  const peers = [];
  try {
    for (const s of starters) peers.push(await s());
    return await fn(peers);
  } finally {
    for (const p of peers) await p.stop().catch(() => {});
  }
}

// ---------- sluice configs ----------

function httpServer(name, port, extra = []) {
  return [`  - name: ${name}`, '    type: http_proxy', `    listen: 127.0.0.1:${port}`, '    escaper: direct', ...extra.map((l) => `    ${l}`)];
}

async function sluiceHttp() {
  const port = await freePort();
  const p = await startSluice({ yaml: sluiceYaml({ servers: httpServer('http', port) }), port, core: PROXY_CORE, profileDir: PROFILE_DIR });
  p.name = 'sluice';
  return p;
}

const squid = () => startSquid({ core: PROXY_CORE });

// ---------- 1. http forward ----------

async function wrkPhase({ proxy, port, target, headers, connections, seconds = SECONDS, warmupSeconds = 1 }) {
  // a short warm-up so node's JIT and both sides' connection pools are in steady state
  await runWrk({ port, target, headers, connections, seconds: warmupSeconds, core: LOAD_CORE });
  const r = await measured(proxy ? [proxy.pid] : [], () => runWrk({ port, target, headers, connections, seconds, core: LOAD_CORE }));
  if (!(r.requests > 0)) throw new Error(`wrk completed no request through ${proxy?.name ?? 'direct'}:\n${r.raw.slice(-600)}`);
  return r;
}

async function benchHttp(origin) {
  const absolute = `http://127.0.0.1:${origin.ports.http}/x`;
  await withPeers([sluiceHttp, squid], async ([sl, sq]) => {
    for (const connections of [50, 200]) {
      for (const [target, proxy, port, url] of [
        ['sluice', sl, sl.port, absolute],
        ['squid', sq, sq.port, absolute],
        ['direct', undefined, origin.ports.http, '/x'],
      ]) {
        log(`http ${target} c=${connections}`);
        const r = await wrkPhase({ proxy, port, target: url, connections });
        rows.push({ bench: 'http', target, connections, rps: r.rps, p50: r.p50, p99: r.p99, cpu: r.cpu, cpuPer10k: per10k(r.cpu, r.requests), requests: r.requests, errors: r.socketErrors + r.non2xx });
      }
    }
  });
}

// ---------- 2-4. CONNECT ----------

/** A phase that fails (a peer refusing, a handshake we do not expect) becomes an error row, not an abort. */
async function guarded(bench, target, fn) {
  try {
    await fn();
  } catch (e) {
    log(`${bench} ${target} failed: ${e.message}`);
    rows.push({ bench, target, errors: 1, firstError: e.message, failed: true });
  }
}

async function ratePhase(bench, target, pids, via, origin, extra = {}) {
  return guarded(bench, target, () => ratePhaseOnce(bench, target, pids, via, origin, extra));
}

async function ratePhaseOnce(bench, target, pids, via, origin, extra) {
  log(`${bench} ${target}`);
  await tunnelRate(via, origin.ports.echo, { seconds: 1 }); // warm-up
  const r = await measured(pids, () => tunnelRate(via, origin.ports.echo, { seconds: SECONDS }));
  rows.push({ bench, target, rate: r.ops / r.seconds, ops: r.ops, cpu: r.cpu, cpuPer10k: per10k(r.cpu, r.ops), errors: r.errors, firstError: r.firstError, ...extra });
}

async function bulkPhase(bench, target, pids, via, origin, extra = {}) {
  return guarded(bench, target, () => bulkPhaseOnce(bench, target, pids, via, origin, extra));
}

async function bulkPhaseOnce(bench, target, pids, via, origin, extra) {
  log(`${bench} ${target}`);
  await bulkDownload(via, origin.ports.source, { seconds: 1 }); // warm-up
  const r = await measured(pids, () => bulkDownload(via, origin.ports.source, { seconds: SECONDS }));
  rows.push({ bench, target, gbps: r.bytes / 1e9 / r.seconds, bytes: r.bytes, cpu: r.cpu, cpuPerGB: perGB(r.cpu, r.bytes), ...extra });
}

async function idlePhase(bench, target, pid, via, origin) {
  return guarded(bench, target, () => idlePhaseOnce(bench, target, pid, via, origin));
}

async function idlePhaseOnce(bench, target, pid, via, origin) {
  log(`${bench} ${target}: opening ${IDLE_COUNT} idle tunnels`);
  // warm the peer (pools, JIT, worker processes) with a few tunnels first, then take the baseline
  const warm = await openIdle(via, origin.ports.echo, { count: 200, seconds: 20 });
  await closeAll(warm.sockets);
  await sleep(500);
  const before = memoryKiB(pid);
  const r = await openIdle(via, origin.ports.echo, { count: IDLE_COUNT, seconds: 60 });
  await sleep(1000); // let buffers settle
  const after = memoryKiB(pid);
  await closeAll(r.sockets);
  rows.push({
    bench,
    target,
    opened: r.opened,
    errors: r.errors,
    firstError: r.firstError,
    rssBeforeKiB: before.rss,
    rssAfterKiB: after.rss,
    kibPerTunnel: r.opened ? (after.rss - before.rss) / r.opened : null,
    pssKibPerTunnel: r.opened ? (after.pss - before.pss) / r.opened : null,
    processes: after.processes,
  });
}

async function benchConnect(origin, which) {
  await withPeers([sluiceHttp, squid], async ([sl, sq]) => {
    const targets = [
      ['sluice', [sl.pid], { kind: 'connect', port: sl.port }, sl],
      ['squid', [sq.pid], { kind: 'connect', port: sq.port }, sq],
      ['direct', [], { kind: 'direct' }, undefined],
    ];
    if (which.has('connect')) for (const [t, pids, via] of targets.slice(0, 2)) await ratePhase('connect', t, pids, via, origin);
    if (which.has('connect')) await ratePhase('connect', 'direct', [], { kind: 'direct' }, origin);
    if (which.has('bulk')) for (const [t, pids, via] of targets) await bulkPhase('bulk', t, pids, via, origin);
  });
}

/** Fresh peers for the memory count, so heap grown by the throughput phases does not hide the tunnels' cost. */
async function benchIdle(origin) {
  await withPeers([sluiceHttp], ([sl]) => idlePhase('idle', 'sluice', sl.pid, { kind: 'connect', port: sl.port }, origin));
  await withPeers([squid], ([sq]) => idlePhase('idle', 'squid', sq.pid, { kind: 'connect', port: sq.port }, origin));
}

// ---------- 5. SOCKS5 ----------

async function benchSocks(origin) {
  const port = await freePort();
  const yaml = sluiceYaml({ servers: [`  - name: socks`, '    type: socks_proxy', `    listen: 127.0.0.1:${port}`, '    escaper: direct'] });
  const check = checkSluiceConfig(yaml);
  if (!check.ok) {
    skipped.push({ bench: 'socks', why: `sluice has no socks_proxy yet (sluice -t: ${check.message})` });
    log(`socks skipped: ${check.message}`);
  }
  const starters = [];
  const names = [];
  if (check.ok) {
    starters.push(async () => Object.assign(await startSluice({ yaml, port, core: PROXY_CORE, profileDir: PROFILE_DIR }), { name: 'sluice' }));
    names.push('sluice');
  }
  if (danteAvailable()) (starters.push(() => startDante({ core: PROXY_CORE })), names.push('dante'));
  if (microsocksAvailable()) (starters.push(() => startMicrosocks({ core: PROXY_CORE })), names.push('microsocks'));
  await withPeers(starters, async (peers) => {
    for (const p of peers) await ratePhase('socks-connect', p.name, [p.pid], { kind: 'socks5', port: p.port }, origin);
    await ratePhase('socks-connect', 'direct', [], { kind: 'direct' }, origin);
    for (const p of peers) await bulkPhase('socks-bulk', p.name, [p.pid], { kind: 'socks5', port: p.port }, origin);
    await bulkPhase('socks-bulk', 'direct', [], { kind: 'direct' }, origin);
  });
  // memory on fresh peers, one at a time
  for (const start of starters) await withPeers([start], ([p]) => idlePhase('socks-idle', p.name, p.pid, { kind: 'socks5', port: p.port }, origin));
}

// ---------- 6. basic auth overhead ----------

// Password `toor` for user `bench`, as a salted fast hash (g3's test vector) and as a SHA-512 crypt; the
// crypt one shows whether verifications are cached (an uncached $6$ costs ~1 ms per request).
const AUTH_VARIANTS = [
  ['auth-fasthash', ['      token:', '        salt: 4e8f8a4e37f0fa1b', '        md5: d9d963915b9815d4cc39c196c2868900', '        sha1: c28640e7b1a3d9db98187632aeba99c0cff0ffd4']],
  ['auth-crypt6', ["      token: '$6$benchsalt$gZ4yQ6Lxkx6A0TUzBmxlciTzH.bj0cvBkg/k6hlBw4Ai/Tw8AdvVQiZiNa/NAd90/ZjIUujBczrHdRIre4IR5.'"]],
];

/**
 * A/B(/C) rounds interleaved, so a noisy neighbour hurts every variant alike. Per variant: the median of the
 * rounds' req/s and latencies, and CPU per request over all rounds (the steadier number on a shared VM).
 * The counted rounds alternate the order (ABC, CBA, ...), so each variant runs as often early in a round as
 * late: in an A/A run the slot a daemon ran in moved its req/s by several percent.
 */
async function interleaved(variants, rounds, phase) {
  const acc = new Map(variants.map((v) => [v.name, []]));
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? variants : [...variants].reverse();
    for (const v of order) acc.get(v.name).push(await phase(v));
  }
  const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  return variants.map((v) => {
    const rs = acc.get(v.name);
    const requests = rs.reduce((s, r) => s + r.requests, 0);
    const cpu = rs.reduce((s, r) => s + r.cpu, 0);
    return {
      name: v.name,
      rps: median(rs.map((r) => r.rps)),
      p50: median(rs.map((r) => r.p50)),
      p99: median(rs.map((r) => r.p99)),
      rpsRounds: rs.map((r) => Math.round(r.rps)),
      cpuPer10k: per10k(cpu, requests),
      errors: rs.reduce((s, r) => s + r.socketErrors + r.non2xx, 0),
      requests,
    };
  });
}

const OVERHEAD_ROUNDS = 4; // even, for the alternating order

async function benchAuth(origin) {
  const ports = { plain: await freePort() };
  const servers = httpServer('plain', ports.plain);
  const groups = [];
  for (const [name, token] of AUTH_VARIANTS) {
    ports[name] = await freePort();
    servers.push(...httpServer(name, ports[name], [`user_group: ${name}`]));
    groups.push(`  - name: ${name}`, '    type: basic', '    static_users:', '      - name: bench', ...token.map((l) => l.replace(/^ {6}/, '        ')));
  }
  const yaml = sluiceYaml({ servers, userGroups: groups });
  const check = checkSluiceConfig(yaml);
  if (!check.ok) {
    skipped.push({ bench: 'auth', why: `sluice has no basic user groups yet (sluice -t: ${check.message})` });
    log(`auth skipped: ${check.message}`);
    return;
  }
  const target = `http://127.0.0.1:${origin.ports.http}/x`;
  const authHeader = { 'Proxy-Authorization': `Basic ${Buffer.from('bench:toor').toString('base64')}` };
  await withPeers([async () => Object.assign(await startSluice({ yaml, port: ports.plain, core: PROXY_CORE, profileDir: PROFILE_DIR }), { name: 'sluice' })], async ([sl]) => {
    // a 407 would make wrk count non-2xx responses: refuse to report numbers for a broken setup
    const variants = [{ name: 'no-auth', port: ports.plain }, ...AUTH_VARIANTS.map(([name]) => ({ name, port: ports[name], headers: authHeader }))];
    log('auth: interleaved rounds');
    const res = await interleaved(variants, OVERHEAD_ROUNDS, (v) => wrkPhase({ proxy: sl, port: v.port, target, headers: v.headers, connections: 50, seconds: Math.max(2, SECONDS / 2) }));
    for (const r of res) rows.push({ bench: 'auth', target: r.name, ...r, vsBase: r.rps / res[0].rps, cpuVsBase: r.cpuPer10k / res[0].cpuPer10k });
  });
}

// ---------- 7. logging + StatsD overhead ----------

async function benchLogging(origin) {
  const udp = createSocket('udp4');
  let packets = 0;
  udp.on('message', () => packets++);
  await new Promise((r) => udp.bind(0, '127.0.0.1', r));
  const statsdPort = udp.address().port;
  const stat = [`target_udp: 127.0.0.1:${statsdPort}`, 'emit_interval: 200ms'];
  // the two halves on their own too, so the rows say which of them the overhead comes from
  const variants = [
    { name: 'logs+statsd off', yaml: (port) => sluiceYaml({ servers: httpServer('http', port) }) },
    { name: 'logs+statsd on', yaml: (port) => sluiceYaml({ servers: httpServer('http', port), log: 'stdout', stat }), pipe: true },
    { name: 'task log only', yaml: (port) => sluiceYaml({ servers: httpServer('http', port), log: 'stdout' }), pipe: true },
    { name: 'statsd only', yaml: (port) => sluiceYaml({ servers: httpServer('http', port), stat }) },
  ];
  const check = checkSluiceConfig(variants[1].yaml(1));
  if (!check.ok) {
    udp.close();
    skipped.push({ bench: 'logging', why: `sluice rejects log: stdout + stat: (sluice -t: ${check.message})` });
    return;
  }
  const target = `http://127.0.0.1:${origin.ports.http}/x`;
  const counted = new Map(variants.map((v) => [v.name, { lines: 0, bytes: 0, packets: 0 }]));
  // A fresh daemon for every variant in every round: in an A/A run with one long-lived daemon per variant, the
  // daemon started first kept ~6% more req/s than identical ones started after it, round after round. A new
  // process each round turns that into noise the median absorbs.
  const phase = async (v) => {
    const port = await freePort();
    const p = await startSluice({ yaml: v.yaml(port), port, core: PROXY_CORE, stdout: v.pipe ? 'pipe' : 'ignore' });
    let lines = 0;
    let bytes = 0;
    // the reader a supervisor (systemd, docker) would be: drain the pipe, count what arrives
    p.proc.stdout?.on('data', (d) => {
      bytes += d.length;
      for (let i = d.indexOf(10); i >= 0; i = d.indexOf(10, i + 1)) lines++;
    });
    try {
      const l0 = lines;
      const b0 = bytes;
      const k0 = packets;
      // 3 s of warm-up, not counted: a fresh daemon's heap is still growing for its first seconds, with more
      // full collections, and the daemon that allocates more (the logging one) pays more for it, while a
      // daemon an operator runs is long-lived
      const r = await wrkPhase({ proxy: p, port, target, connections: 50, seconds: Math.max(2, SECONDS / 2), warmupSeconds: 3 });
      await sleep(300); // the last StatsD emit and log flush of the phase
      const c = counted.get(v.name);
      c.lines += lines - l0;
      c.bytes += bytes - b0;
      c.packets += v.name === 'logs+statsd on' ? packets - k0 : 0;
      return r;
    } finally {
      await p.stop();
    }
  };
  try {
    log('logging: interleaved rounds, a fresh daemon per variant and round');
    const res = await interleaved(variants, OVERHEAD_ROUNDS, phase);
    const base = res[0].rps;
    for (const r of res) {
      const c = counted.get(r.name);
      const on = r.name === 'logs+statsd on';
      rows.push({ bench: 'logging', target: r.name, ...r, vsBase: r.rps / base, cpuVsBase: r.cpuPer10k / res[0].cpuPer10k, logLines: on ? c.lines : 0, logBytes: on ? c.bytes : 0, statsdPackets: c.packets });
    }
  } finally {
    udp.close();
  }
}

// ---------- 8. sluice → squid chain ----------

async function benchChain(origin) {
  const probe = sluiceYaml({
    servers: httpServer('chain', 1),
    escapers: ['  - name: squid', '    type: proxy_http', '    proxy_addr: 127.0.0.1:3128'],
  }).replace('escaper: direct\n', 'escaper: squid\n');
  const check = checkSluiceConfig(probe);
  if (!check.ok) {
    skipped.push({ bench: 'chain', why: `sluice has no proxy_http escaper yet (sluice -t: ${check.message})` });
    log(`chain skipped: ${check.message}`);
    return;
  }
  await withPeers([squid], async ([sq]) => {
    const port = await freePort();
    const yaml = sluiceYaml({
      servers: [`  - name: chain`, '    type: http_proxy', `    listen: 127.0.0.1:${port}`, '    escaper: squid'],
      escapers: ['  - name: squid', '    type: proxy_http', `    proxy_addr: 127.0.0.1:${sq.port}`],
    });
    await withPeers([async () => Object.assign(await startSluice({ yaml, port, core: PROXY_CORE, profileDir: PROFILE_DIR }), { name: 'sluice' })], async ([sl]) => {
      // both proxies share the proxy core; CPU is charged to each separately
      for (const [target, via] of [
        ['client→squid', { kind: 'connect', port: sq.port }],
        ['client→sluice→squid', { kind: 'connect', port: sl.port }],
      ]) {
        log(`chain ${target}`);
        await bulkDownload(via, origin.ports.source, { seconds: 1 });
        const slBefore = cpuSeconds(sl.pid);
        const r = await measured([sq.pid], () => bulkDownload(via, origin.ports.source, { seconds: SECONDS }));
        const slCpu = via.port === sl.port ? cpuSeconds(sl.pid) - slBefore : null;
        rows.push({ bench: 'chain', target, gbps: r.bytes / 1e9 / r.seconds, bytes: r.bytes, squidCpuPerGB: perGB(r.cpu, r.bytes), sluiceCpuPerGB: perGB(slCpu, r.bytes) });
      }
    });
  });
}

// ---------- report ----------

const find = (bench, target, extra = () => true) => rows.find((r) => r.bench === bench && r.target === target && extra(r));
const ratioTo = (ref, key) => (r) => {
  const base = ref(r);
  return fmt.ratio(base && r[key] != null && base[key] ? r[key] / base[key] : null);
};

function tables(render) {
  const out = [];
  const sel = (b) => rows.filter((r) => r.bench === b);
  const err = { title: 'errors', get: (r) => String(r.errors ?? 0) };
  if (sel('http').length)
    out.push(
      render('1. HTTP forward, keep-alive GET (wrk, absolute-form through the proxy)', [
        { title: 'target', get: (r) => r.target },
        { title: 'conns', get: (r) => String(r.connections) },
        { title: 'req/s', get: (r) => fmt.int(r.rps) },
        { title: 'vs squid', get: ratioTo((r) => find('http', 'squid', (x) => x.connections === r.connections), 'rps') },
        { title: 'p50 ms', get: (r) => fmt.f2(r.p50) },
        { title: 'p99 ms', get: (r) => fmt.f2(r.p99) },
        { title: 'p99/p50', get: (r) => fmt.f1(r.p99 / r.p50) },
        { title: 'CPU-s/10k req', get: (r) => fmt.f3(r.cpuPer10k) },
        { title: 'CPU vs squid', get: ratioTo((r) => find('http', 'squid', (x) => x.connections === r.connections), 'cpuPer10k') },
        err,
      ], sel('http')),
    );
  const rateTable = (bench, title, refs) =>
    sel(bench).length &&
    out.push(
      render(title, [
        { title: 'target', get: (r) => r.target },
        { title: 'tunnels/s', get: (r) => fmt.int(r.rate) },
        ...refs.map((ref) => ({ title: `vs ${ref}`, get: ratioTo(() => find(bench, ref), 'rate') })),
        { title: 'CPU-s/10k', get: (r) => fmt.f3(r.cpuPer10k) },
        ...refs.map((ref) => ({ title: `CPU vs ${ref}`, get: ratioTo(() => find(bench, ref), 'cpuPer10k') })),
        err,
      ], sel(bench)),
    );
  const bulkTable = (bench, title, refs) =>
    sel(bench).length &&
    out.push(
      render(title, [
        { title: 'target', get: (r) => r.target },
        { title: 'GB/s', get: (r) => fmt.f2(r.gbps) },
        ...refs.map((ref) => ({ title: `vs ${ref}`, get: ratioTo(() => find(bench, ref), 'gbps') })),
        { title: 'CPU-s/GB', get: (r) => fmt.f3(r.cpuPerGB) },
        ...refs.map((ref) => ({ title: `CPU vs ${ref}`, get: ratioTo(() => find(bench, ref), 'cpuPerGB') })),
      ], sel(bench)),
    );
  const idleTable = (bench, title) =>
    sel(bench).length &&
    out.push(
      render(title, [
        { title: 'target', get: (r) => r.target },
        { title: 'tunnels', get: (r) => fmt.int(r.opened) },
        { title: 'RSS before MiB', get: (r) => fmt.f1(r.rssBeforeKiB / 1024) },
        { title: 'RSS after MiB', get: (r) => fmt.f1(r.rssAfterKiB / 1024) },
        { title: 'KiB/tunnel (RSS)', get: (r) => fmt.f1(r.kibPerTunnel) },
        { title: 'KiB/tunnel (PSS)', get: (r) => fmt.f1(r.pssKibPerTunnel) },
        { title: 'procs', get: (r) => String(r.processes) },
        err,
      ], sel(bench)),
    );
  rateTable('connect', '2. New CONNECT tunnels (connect, CONNECT, 200, 1-byte echo, close; 32 concurrent)', ['squid']);
  bulkTable('bulk', '3. Bulk download through CONNECT (4 tunnels)', ['squid']);
  idleTable('idle', `4. Idle CONNECT tunnels (${IDLE_COUNT} requested)`);
  rateTable('socks-connect', '5a. New SOCKS5 connections (greeting, CONNECT, 1-byte echo, close; 32 concurrent)', ['dante', 'microsocks']);
  bulkTable('socks-bulk', '5b. Bulk download through SOCKS5 (4 tunnels)', ['dante', 'microsocks']);
  idleTable('socks-idle', `5c. Idle SOCKS5 tunnels (${IDLE_COUNT} requested)`);
  const overhead = (bench, title) =>
    sel(bench).length &&
    out.push(
      render(title, [
        { title: 'variant', get: (r) => r.target },
        { title: 'req/s (median)', get: (r) => fmt.int(r.rps) },
        { title: 'rounds', get: (r) => r.rpsRounds.join(' / ') },
        { title: 'vs base', get: (r) => fmt.ratio(r.vsBase) },
        { title: 'p99 ms', get: (r) => fmt.f2(r.p99) },
        { title: 'CPU-s/10k req', get: (r) => fmt.f3(r.cpuPer10k) },
        { title: 'CPU vs base', get: (r) => fmt.ratio(r.cpuVsBase) },
        ...(bench === 'logging' ? [{ title: 'log lines', get: (r) => fmt.int(r.logLines) }, { title: 'StatsD pkts', get: (r) => fmt.int(r.statsdPackets) }] : []),
        err,
      ], sel(bench)),
    );
  overhead('auth', '6. Basic auth overhead (keep-alive, 50 conns, interleaved rounds)');
  overhead('logging', '7. Task log to stdout (pipe) + StatsD vs both off (keep-alive, 50 conns, interleaved rounds)');
  if (sel('chain').length)
    out.push(
      render('8. Chain: CONNECT bulk download through sluice → squid vs straight to squid (4 tunnels)', [
        { title: 'path', get: (r) => r.target },
        { title: 'GB/s', get: (r) => fmt.f2(r.gbps) },
        { title: 'vs client→squid', get: ratioTo(() => find('chain', 'client→squid'), 'gbps') },
        { title: 'squid CPU-s/GB', get: (r) => fmt.f3(r.squidCpuPerGB) },
        { title: 'sluice CPU-s/GB', get: (r) => fmt.f3(r.sluiceCpuPerGB) },
      ], sel('chain')),
    );
  for (const s of skipped) out.push(`(skipped ${s.bench}: ${s.why})`);
  return out.join('\n\n');
}

function machine() {
  const v = (cmd, args, re) => {
    const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 5000 });
    return (re.exec(`${r.stdout}${r.stderr}`) ?? [])[1] ?? 'unknown';
  };
  return {
    cpus: os.cpus().length,
    model: os.cpus()[0]?.model,
    kernel: os.release(),
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    loadavg: os.loadavg().map((x) => Number(x.toFixed(2))),
    node: process.version,
    squid: v('/usr/sbin/squid', ['-v'], /Version (\S+)/),
    dante: v('/usr/sbin/danted', ['-v'], /Dante v(\d+(?:\.\d+)*)/),
    wrk: v('wrk', ['-v'], /wrk (\S+)/),
    sluice: JSON.parse(readFileSync(join(HERE, '../packages/daemon/package.json'), 'utf8')).version,
  };
}

// ---------- main ----------

const started = Date.now();
const info = machine();
log(`${info.cpus} cpus (${info.model}), load ${info.loadavg.join(' ')}; sluice ${SLUICE_BIN}`);
if (info.cpus < 2) log('warning: fewer than 2 cores: proxy and load generator share one');
const errors = [];
const step = async (name, fn) => {
  if (!only.some((o) => (Array.isArray(name) ? name.includes(o) : o === name))) return;
  // a fresh origin per group: nothing one group did to it (thousands of tunnels, a peer that hung) carries over
  let origin;
  try {
    origin = await startOrigin();
    await fn(origin);
  } catch (e) {
    errors.push({ bench: String(name), error: e.stack ?? String(e) });
    log(`${name} failed: ${e.message}`);
  } finally {
    origin?.stop();
  }
};
if (!squidAvailable()) throw new Error('squid is not installed (apt-get install squid)');
await step('http', benchHttp);
await step(['connect', 'bulk'], (origin) => benchConnect(origin, new Set(only)));
await step('idle', benchIdle);
await step('socks', benchSocks);
await step('auth', benchAuth);
await step('logging', benchLogging);
await step('chain', benchChain);

const text = tables(table);
console.log(`\n${text}\n`);
for (const e of errors) console.log(`FAILED ${e.bench}: ${e.error}`);
const result = { date: new Date().toISOString(), seconds: SECONDS, idleCount: IDLE_COUNT, wallSeconds: (Date.now() - started) / 1000, machine: info, rows, skipped, errors };
const out = opt.out ?? join(HERE, 'results', `bench-${result.date.replace(/[:.]/g, '-')}.json`);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify(result, null, 2));
if (opt.markdown) writeFileSync(out.replace(/\.json$/, '.md'), tables(markdownTable) + '\n');
log(`wrote ${out}${PROFILE_DIR ? `; CPU profiles in ${PROFILE_DIR} (node bench/profile-top.mjs ${PROFILE_DIR})` : ''}`);
process.exit(errors.length ? 1 : 0);
