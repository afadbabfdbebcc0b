/**
 * g3's "hybrid map": the value of `resolver:`, `escaper:`, `user_group:`, `auditor:` and `server:` is either
 * a list whose items are inline maps or include paths, or a single include path. An include path names a
 * file (each YAML document in it is one object) or a directory (every regular file, symlinks followed,
 * whose extension is the main file's; other files are ignored).
 */
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import { dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { ConfigError, displayPath, type Position } from './errors.js';
import type { ObjectKind } from './types.js';
import { describeFsError, readYamlFile, type PosNode } from './yaml-positions.js';

/** One object definition before its name and type are checked. */
export interface ObjectSource {
  value: unknown;
  tree: PosNode;
  file: string;
  docIndex: number;
  inline: boolean;
  baseDir: string;
}

/** Shared across all kinds of one load, so a file included twice (or the main file itself) is caught. */
export interface IncludeState {
  mainFile: string;
  mainReal: string;
  /** extension of the main file with its dot, '' when it has none (then every file of a directory is loaded) */
  ext: string;
  /** real path of each included file ⇒ where it was included from */
  included: Map<string, Position>;
}

/** Where the hybrid value was written: a key of the main file. */
export interface HybridOrigin {
  file: string;
  docIndex: number;
  baseDir: string;
  /** the main-file key, e.g. `escaper` (used in error key paths) */
  key: string;
}

export async function expandHybrid(
  kind: ObjectKind,
  value: unknown,
  tree: PosNode,
  origin: HybridOrigin,
  state: IncludeState,
): Promise<ObjectSource[]> {
  const keyPath = `/${origin.key}`;
  if (typeof value === 'string') return includePath(kind, value, tree.pos, keyPath, origin, state);
  if (!Array.isArray(value)) {
    throw ConfigError.at(tree.pos, `expected a list of ${kind} definitions and/or include paths, or one include path; got ${jsonKind(value)}`, { keyPath });
  }
  const out: ObjectSource[] = [];
  for (let i = 0; i < value.length; i++) {
    const item: unknown = value[i];
    const itemTree = tree.items?.[i] ?? tree;
    const itemPath = `${keyPath}/${i}`;
    if (typeof item === 'string') {
      out.push(...(await includePath(kind, item, itemTree.pos, itemPath, origin, state)));
    } else if (isPlainMap(item)) {
      out.push({ value: item, tree: itemTree, file: origin.file, docIndex: origin.docIndex, inline: true, baseDir: origin.baseDir });
    } else {
      throw ConfigError.at(itemTree.pos, `expected an inline ${kind} definition (a map) or an include path (a string); got ${jsonKind(item)}`, { keyPath: itemPath });
    }
  }
  return out;
}

async function includePath(
  kind: ObjectKind,
  written: string,
  at: Position,
  keyPath: string,
  origin: HybridOrigin,
  state: IncludeState,
): Promise<ObjectSource[]> {
  // relative to the directory of the file that names the path (g3: the main file's directory)
  const target = isAbsolute(written) ? written : resolve(origin.baseDir, written);
  const fail = (why: string): ConfigError => ConfigError.at(at, `cannot include '${written}': ${why}`, { keyPath });
  let info;
  try {
    info = await stat(target);
  } catch (e) {
    const shown = displayPath(target);
    throw fail(shown === written ? describeFsError(e) : `${describeFsError(e)} (${shown})`);
  }
  if (info.isFile()) return loadObjectFile(kind, target, at, keyPath, state);
  if (!info.isDirectory()) throw fail(`not a regular file or directory (${displayPath(target)})`);

  let entries;
  try {
    entries = await readdir(target, { withFileTypes: true });
  } catch (e) {
    throw fail(`cannot list directory: ${describeFsError(e)}`);
  }
  // g3 walks readdir order, which differs between file systems; sorting by name makes the load order,
  // and so duplicate-name reports and reload order, the same everywhere.
  const names = entries
    .filter((d) => state.ext === '' || extname(d.name) === state.ext)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const out: ObjectSource[] = [];
  for (const entry of names) {
    const file = join(target, entry.name);
    if (entry.isFile()) {
      out.push(...(await loadObjectFile(kind, file, at, keyPath, state)));
    } else if (entry.isSymbolicLink()) {
      let real: string;
      try {
        real = await realpath(file);
      } catch (e) {
        throw fail(`symlink ${displayPath(file)} is broken: ${describeFsError(e)}`);
      }
      // a symlink to a directory (or anything but a file) is skipped like g3 does
      if (!(await stat(real)).isFile()) continue;
      out.push(...(await loadObjectFile(kind, file, at, keyPath, state)));
    }
  }
  return out;
}

async function loadObjectFile(
  kind: ObjectKind,
  file: string,
  includedAt: Position,
  keyPath: string,
  state: IncludeState,
): Promise<ObjectSource[]> {
  const real = await realpath(file);
  if (real === state.mainReal) {
    throw ConfigError.at(includedAt, `include cycle: ${displayPath(file)} is the main config file itself`, { keyPath });
  }
  const first = state.included.get(real);
  if (first !== undefined) {
    throw ConfigError.at(
      includedAt,
      `${displayPath(file)} is included twice (first included at ${displayPath(first.file)}:${first.line}:${first.column})`,
      { keyPath },
    );
  }
  state.included.set(real, includedAt);
  const baseDir = await objectBaseDir(file);

  const out: ObjectSource[] = [];
  for (const doc of await readYamlFile(file)) {
    if (doc.empty) continue;
    if (!isPlainMap(doc.value)) {
      throw ConfigError.at(doc.tree.pos, `document #${doc.index} must be a map defining one ${kind}; got ${jsonKind(doc.value)}`);
    }
    out.push({ value: doc.value, tree: doc.tree, file, docIndex: doc.index, inline: false, baseDir });
  }
  return out;
}

/**
 * Directory for relative paths inside objects of `file`. A symlinked object file uses the directory it
 * really lives in (g3 records the canonical path), so a file shared between configs keeps its neighbours.
 */
export async function objectBaseDir(file: string): Promise<string> {
  const link = await lstat(file);
  return link.isSymbolicLink() ? dirname(await realpath(file)) : dirname(file);
}

export function isPlainMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** How a value reads to an operator: `a string`, `a number`, `a list`, `a map`, `null`. */
export function jsonKind(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return 'a list';
  switch (typeof v) {
    case 'string':
      return 'a string';
    case 'number':
      return 'a number';
    case 'boolean':
      return 'a boolean';
    case 'object':
      return 'a map';
    default:
      return typeof v;
  }
}
