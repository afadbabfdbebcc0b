/**
 * Golden tests: each directory under fixtures/ is a config; loading it (and validating objects that have
 * a schema in the fixture's schemas.json) must give exactly the checked-in expected.json.
 * Set SLUICE_UPDATE_GOLDEN=1 to rewrite the expected files after a deliberate change, then review the diff.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError, type Position } from './errors.js';
import { loadConfig } from './loader.js';
import { testParsers } from './test-parsers.js';
import type { RawNode, RawObject } from './types.js';
import { createValidator, registerValueParsers } from './validator.js';

// compiled to dist/golden.test.js; fixtures stay in the package folder, uncompiled
const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
const UPDATE = process.env['SLUICE_UPDATE_GOLDEN'] === '1';

registerValueParsers(testParsers);

type Json = unknown;

function errorJson(e: ConfigError, caseDir: string): Json {
  return {
    message: e.message,
    file: relative(caseDir, e.file) || '.',
    line: e.line,
    column: e.column,
    objectKind: e.objectKind,
    objectName: e.objectName,
    objectType: e.objectType,
    keyPath: e.keyPath,
    why: e.why,
    causes: e.causes.length === 0 ? undefined : e.causes.map((c) => errorJson(c, caseDir)),
  };
}

function validated(node: RawNode, schema: object | undefined, caseDir: string): Json {
  if (schema === undefined) return {};
  try {
    return { normalized: createValidator(schema)(node.value, node) };
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return { error: errorJson(e, caseDir) };
  }
}

async function snapshot(caseDir: string): Promise<Json> {
  const schemasFile = join(caseDir, 'schemas.json');
  const schemas: Record<string, object> = existsSync(schemasFile) ? JSON.parse(readFileSync(schemasFile, 'utf8')) : {};
  const rel = (p: string): string => relative(caseDir, p) || '.';
  const at = (p: Position): string => `${rel(p.file)}:${p.line}:${p.column}`;
  try {
    const cfg = await loadConfig(caseDir);
    const main: Record<string, Json> = {};
    for (const [key, node] of Object.entries(cfg.main)) {
      main[key] = { at: at(node.locate([])), value: node.value, ...(validated(node, schemas[`main/${key}`], caseDir) as object) };
    }
    const objects: Record<string, Json[]> = {};
    for (const [kind, list] of Object.entries(cfg.objects) as [string, RawObject[]][]) {
      objects[kind] = list.map((o) => ({
        name: o.name,
        type: o.type ?? null,
        file: rel(o.file),
        docIndex: o.docIndex,
        inline: o.inline,
        baseDir: rel(o.baseDir),
        at: at(o.locate([])),
        value: o.value,
        ...(validated(o, schemas[`${kind}/${o.type}`], caseDir) as object),
      }));
    }
    return { mainFile: rel(cfg.mainFile), ext: cfg.ext, main, objects };
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return { error: errorJson(e, caseDir) };
  }
}

const cases = readdirSync(FIXTURES, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

test('there are golden cases', () => {
  assert.ok(cases.length >= 10, `only ${cases.length} fixture directories found in ${FIXTURES}`);
});

for (const name of cases) {
  test(`golden: ${name}`, async () => {
    const caseDir = join(FIXTURES, name);
    const cwd = process.cwd();
    // error messages show paths relative to the working directory: make them relative to the case
    process.chdir(caseDir);
    let actual: Json;
    try {
      actual = JSON.parse(JSON.stringify(await snapshot(caseDir)));
    } finally {
      process.chdir(cwd);
    }
    const expectedFile = join(caseDir, 'expected.json');
    if (UPDATE) writeFileSync(expectedFile, JSON.stringify(actual, null, 2) + '\n');
    assert.ok(existsSync(expectedFile), `${expectedFile} is missing (run with SLUICE_UPDATE_GOLDEN=1 and review it)`);
    assert.deepStrictEqual(actual, JSON.parse(readFileSync(expectedFile, 'utf8')));
  });
}
