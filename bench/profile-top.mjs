#!/usr/bin/env node
// Summarise `node --cpu-prof` output (the .cpuprofile files `bench/run.mjs --profile` leaves behind):
// the functions with the most self time, and sluice's own functions by inclusive time, each located
// at its TypeScript source line through the compiled file's source map.
//
//   node bench/profile-top.mjs <file.cpuprofile | dir> [--top 25]
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opt, positionals } = parseArgs({ options: { top: { type: 'string', default: '25' } }, allowPositionals: true });
const TOP = Math.max(1, Math.min(200, Number(opt.top)));
if (!positionals.length) {
  console.error('usage: node bench/profile-top.mjs <file.cpuprofile | dir> [--top 25]');
  process.exit(2);
}

const files = [];
for (const p of positionals) {
  if (statSync(p).isDirectory()) for (const f of readdirSync(p)) f.endsWith('.cpuprofile') && files.push(join(p, f));
  else files.push(p);
}

const maps = new Map();
function sourceMapFor(file) {
  if (!maps.has(file)) {
    let sm;
    try {
      if (existsSync(`${file}.map`)) sm = new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8')));
    } catch {}
    maps.set(file, sm);
  }
  return maps.get(file);
}

/** "package/src/file.ts:line" for a compiled sluice frame, else a short url:line. */
function locate(cf) {
  const url = cf.url ?? '';
  if (!url) return `(${cf.functionName || 'native'})`;
  const file = url.startsWith('file://') ? fileURLToPath(url) : url;
  const line0 = cf.lineNumber;
  const sm = file.startsWith('/') ? sourceMapFor(file) : undefined;
  if (sm && line0 >= 0) {
    const e = sm.findEntry(line0, Math.max(0, cf.columnNumber));
    if (e && e.originalSource) {
      const src = e.originalSource.startsWith('file://') ? fileURLToPath(e.originalSource) : resolve(dirname(file), e.originalSource);
      return `${relative(ROOT, src)}:${e.originalLine + 1}`;
    }
  }
  const shown = file.startsWith(ROOT) ? relative(ROOT, file) : file.startsWith('node:') ? file : basename(file);
  return `${shown}:${line0 + 1}`;
}

const self = new Map();
const inclusive = new Map();
let total = 0;
for (const f of files) {
  const prof = JSON.parse(readFileSync(f, 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const keyOf = new Map();
  const key = (n) => {
    if (!keyOf.has(n.id)) keyOf.set(n.id, `${n.callFrame.functionName || '(anonymous)'}  ${locate(n.callFrame)}`);
    return keyOf.get(n.id);
  };
  for (let i = 0; i < prof.samples.length; i++) {
    const dt = prof.timeDeltas[i] ?? 0;
    const node = byId.get(prof.samples[i]);
    if (!node) continue;
    total += dt;
    const k = key(node);
    self.set(k, (self.get(k) ?? 0) + dt);
    // inclusive: every distinct function on the stack, once per sample
    const seen = new Set();
    for (let id = node.id, depth = 0; id !== undefined && depth < 500; id = parent.get(id), depth++) {
      const n = byId.get(id);
      if (!n.callFrame.url.includes('/packages/')) continue;
      const kk = key(n);
      if (seen.has(kk)) continue;
      seen.add(kk);
      inclusive.set(kk, (inclusive.get(kk) ?? 0) + dt);
    }
  }
}

// percentages of busy time: the daemon sits idle between (and around) the phases it takes part in
const idle = [...self].filter(([k]) => k.startsWith('(idle)')).reduce((a, [, v]) => a + v, 0);
const busy = total - idle;
self.delete('(idle)  ((idle))');
const pct = (v) => `${((v / busy) * 100).toFixed(1).padStart(5)}%`;
const print = (title, m) => {
  console.log(`\n${title}`);
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, TOP)) console.log(`  ${pct(v)}  ${k}`);
};
console.log(`${files.length} profile(s), ${(total / 1e6).toFixed(2)} s sampled, ${(busy / 1e6).toFixed(2)} s busy (percentages are of busy time)`);
print(`top ${TOP} by self time`, self);
print(`top ${TOP} sluice functions by inclusive time`, inclusive);
