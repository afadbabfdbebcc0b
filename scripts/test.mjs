// Runs every compiled test file with node's test runner: unit tests beside the code
// (packages/*/dist/**/*.test.js) and end-to-end suites (test/dist/**/*.test.js).
// Node 20's --test takes no globs, so the files are listed here.
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const filter = process.argv.slice(2);

function walk(dir, out) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

let files = [];
for (const pkg of readdirSync(join(root, 'packages'))) walk(join(root, 'packages', pkg, 'dist'), files);
walk(join(root, 'test', 'dist'), files);
if (filter.length) files = files.filter((f) => filter.some((s) => f.includes(s)));
files.sort();
if (files.length === 0) {
  console.error('no test files found; did the build run?');
  process.exit(1);
}
// End-to-end suites start daemons and real upstreams: run files one at a time so a 2-core machine
// is not oversubscribed, and bound each file so a hang cannot eat the CI budget.
const res = spawnSync(process.execPath, ['--test', '--test-concurrency=1', '--test-timeout=120000', ...files], {
  stdio: 'inherit',
  cwd: root,
});
process.exit(res.status ?? 1);
