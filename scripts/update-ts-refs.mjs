// Writes each workspace's tsconfig.json `references` from its package.json dependencies, and the
// root solution file from the workspace list, so the npm graph and the TypeScript graph never disagree.
import { readFileSync, writeFileSync, readdirSync, existsSync } from 'node:fs';
import { join, relative, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dirs = [...readdirSync(join(root, 'packages')).map((d) => join(root, 'packages', d)), join(root, 'test')]
  .filter((d) => existsSync(join(d, 'package.json')));
const byName = new Map();
for (const dir of dirs) byName.set(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).name, dir);

for (const dir of dirs) {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const deps = { ...pkg.dependencies, ...pkg.devDependencies };
  const references = Object.keys(deps).filter((n) => byName.has(n)).sort()
    .map((n) => ({ path: relative(dir, byName.get(n)) }));
  const file = join(dir, 'tsconfig.json');
  const cur = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
  const next = {
    extends: relative(dir, join(root, 'tsconfig.base.json')),
    compilerOptions: { rootDir: 'src', outDir: 'dist', ...(cur.compilerOptions ?? {}) },
    include: cur.include ?? ['src'],
    references,
  };
  writeFileSync(file, JSON.stringify(next, null, 2) + '\n');
}
writeFileSync(join(root, 'tsconfig.json'), JSON.stringify({
  files: [],
  references: dirs.map((d) => ({ path: relative(root, d) })),
}, null, 2) + '\n');
