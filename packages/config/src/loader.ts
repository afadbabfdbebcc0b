/**
 * Loads a g3proxy-style config: the main file (several YAML documents merged), its main sections, and the
 * resolver / escaper / user_group / auditor / server objects wherever they are written or included.
 */
import { realpath, stat } from 'node:fs/promises';
import { dirname, extname, join, resolve } from 'node:path';
import { ConfigError, displayPath, flattenErrors } from './errors.js';
import { expandHybrid, isPlainMap, jsonKind, objectBaseDir, type IncludeState } from './hybrid.js';
import { normalizeKey, suggestKey } from './names.js';
import { buildRawObject, findDuplicateNames } from './objects.js';
import { MAIN_SECTIONS, OBJECT_KINDS, type LoadedConfig, type MainSection, type ObjectKind, type RawNode, type RawObject } from './types.js';
import { describeFsError, locateIn, readYamlFile, type PosNode } from './yaml-positions.js';

/** Tried in this order when given a directory. */
export const MAIN_FILE_NAMES = [
  'main.yaml', 'main.yml', 'main.conf',
  'g3proxy.yaml', 'g3proxy.yml', 'g3proxy.conf',
  'sluice.yaml', 'sluice.yml', 'sluice.conf',
] as const;

/** Normalised main-file key ⇒ its canonical name. */
const MAIN_KEYS: ReadonlyMap<string, MainSection | ObjectKind> = new Map<string, MainSection | ObjectKind>([
  ...MAIN_SECTIONS.map((k) => [k, k] as const),
  ...OBJECT_KINDS.map((k) => [k, k] as const),
  ['user', 'user_group'],
]);

export async function findMainFile(pathOrDir: string): Promise<string> {
  const full = resolve(pathOrDir);
  let info;
  try {
    info = await stat(full);
  } catch (e) {
    throw new ConfigError({ file: full, why: `cannot open config: ${describeFsError(e)}` });
  }
  if (!info.isDirectory()) return full;
  for (const name of MAIN_FILE_NAMES) {
    const candidate = join(full, name);
    try {
      if ((await stat(candidate)).isFile()) return candidate;
    } catch {
      // not there: try the next name
    }
  }
  throw new ConfigError({ file: full, why: `no main config file in this directory (looked for ${MAIN_FILE_NAMES.join(', ')})` });
}

interface MainEntry {
  key: MainSection | ObjectKind;
  value: unknown;
  tree: PosNode;
  docIndex: number;
}

/** `path` is the main file, or a directory holding one (see findMainFile). */
export async function loadConfig(path: string): Promise<LoadedConfig> {
  const mainFile = await findMainFile(path);
  const configDir = dirname(mainFile);
  const ext = extname(mainFile);
  const entries = await readMainFile(mainFile);

  const main: LoadedConfig['main'] = {};
  const objects = Object.fromEntries(OBJECT_KINDS.map((k) => [k, [] as RawObject[]])) as Record<ObjectKind, RawObject[]>;
  const state: IncludeState = { mainFile, mainReal: await realpath(mainFile), ext, included: new Map() };
  const errors: ConfigError[] = [];

  // main-file order, so "included twice" names the first place in reading order
  for (const entry of entries) {
    if (isObjectKind(entry.key)) {
      const kind = entry.key;
      const sources = await expandHybrid(kind, entry.value, entry.tree, { file: mainFile, docIndex: entry.docIndex, baseDir: configDir, key: kind }, state);
      for (const src of sources) {
        try {
          objects[kind].push(buildRawObject(kind, src));
        } catch (e) {
          if (!(e instanceof ConfigError)) throw e;
          errors.push(...flattenErrors(e));
        }
      }
    } else {
      main[entry.key] = mainNode(entry, mainFile, configDir);
    }
  }
  for (const kind of OBJECT_KINDS) errors.push(...findDuplicateNames(objects[kind]));
  if (errors.length > 0) throw ConfigError.combine(errors);
  return { mainFile, configDir, ext, main, objects };
}

/**
 * Re-reads one object from where it was loaded (file + document index), e.g. for `reload-escaper NAME`.
 * `_ext` is accepted for call-site symmetry with LoadedConfig.ext: every file is parsed as YAML whatever
 * its extension, and a file named explicitly in the main file may have any extension.
 */
export async function loadObjectFromSource(kind: ObjectKind, file: string, docIndex: number, _ext?: string): Promise<RawObject> {
  const docs = await readYamlFile(file);
  const doc = docs[docIndex];
  if (doc === undefined) {
    throw new ConfigError({ file, objectKind: kind, why: `no document #${docIndex} in this file (it has ${docs.length})` });
  }
  if (doc.empty || !isPlainMap(doc.value)) {
    throw ConfigError.at(doc.tree.pos, `document #${docIndex} must be a map defining one ${kind}; got ${doc.empty ? 'an empty document' : jsonKind(doc.value)}`, { objectKind: kind });
  }
  return buildRawObject(kind, { value: doc.value, tree: doc.tree, file, docIndex, inline: false, baseDir: await objectBaseDir(file) });
}

/** The main file's documents merged into one list of (canonical key, value), checking keys on the way. */
async function readMainFile(mainFile: string): Promise<MainEntry[]> {
  const docs = await readYamlFile(mainFile);
  const errors: ConfigError[] = [];
  const seen = new Map<string, { written: string; tree: PosNode }>();
  const entries: MainEntry[] = [];
  const known = [...MAIN_KEYS.keys()];
  for (const doc of docs) {
    if (doc.empty) continue;
    if (!isPlainMap(doc.value)) {
      errors.push(ConfigError.at(doc.tree.pos, `the main config file must be a map of sections (${known.join(', ')}); document #${doc.index} is ${jsonKind(doc.value)}`));
      continue;
    }
    for (const [written, value] of Object.entries(doc.value)) {
      const tree = doc.tree.keys?.get(written) ?? doc.tree;
      const key = MAIN_KEYS.get(normalizeKey(written));
      if (key === undefined) {
        const guess = suggestKey(written, known);
        errors.push(ConfigError.at(tree.pos, `unknown key '${written}'${guess === undefined ? '' : ` (did you mean '${guess}'?)`}`, { keyPath: `/${written}` }));
        continue;
      }
      const first = seen.get(key);
      if (first !== undefined) {
        const p = first.tree.pos;
        const there = `${displayPath(p.file)}:${p.line}:${p.column}`;
        const why = first.written === written
          ? `key '${written}' is given twice (first at ${there})`
          : `key '${written}' is the same as '${first.written}' at ${there}; give it once`;
        errors.push(ConfigError.at(tree.pos, why, { keyPath: `/${written}` }));
        continue;
      }
      seen.set(key, { written, tree });
      entries.push({ key, value, tree, docIndex: doc.index });
    }
  }
  if (errors.length > 0) throw ConfigError.combine(errors);
  return entries;
}

function mainNode(entry: MainEntry, mainFile: string, configDir: string): RawNode {
  const tree = entry.tree;
  return {
    value: entry.value,
    file: mainFile,
    docIndex: entry.docIndex,
    baseDir: configDir,
    keyPathPrefix: [entry.key],
    locate: (pointer) => locateIn(tree, pointer),
  };
}

function isObjectKind(key: string): key is ObjectKind {
  return (OBJECT_KINDS as readonly string[]).includes(key);
}
