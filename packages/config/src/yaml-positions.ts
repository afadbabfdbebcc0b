/**
 * YAML text ⇒ plain JS values plus a parallel tree of source positions, so that any key path inside a
 * value can be traced back to a file, line and column for error messages.
 */
import { readFile } from 'node:fs/promises';
import { LineCounter, isAlias, isMap, isScalar, isSeq, parseAllDocuments, type Document, type Node } from 'yaml';
import { ConfigError, type Position } from './errors.js';
import { normalizeKey } from './names.js';

/** Where a value and each of its children were written. For map entries `pos` is the key's position. */
export interface PosNode {
  pos: Position;
  keys?: Map<string, PosNode>;
  items?: PosNode[];
}

export interface YamlDoc {
  file: string;
  /** index among all documents of the file, empty ones included (stable for re-reading one document) */
  index: number;
  /** true for a document with no content (only comments, or a stray `---`) */
  empty: boolean;
  value: unknown;
  tree: PosNode;
}

export async function readYamlFile(file: string): Promise<YamlDoc[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new ConfigError({ file, why: `cannot read file: ${describeFsError(e)}` });
  }
  return parseYamlText(text, file);
}

export function describeFsError(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  switch (err.code) {
    case 'ENOENT':
      return 'no such file or directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    case 'ELOOP':
      return 'too many levels of symbolic links';
    default:
      return err.message ?? String(e);
  }
}

export function parseYamlText(text: string, file: string): YamlDoc[] {
  const lineCounter = new LineCounter();
  // YAML 1.2 core schema without merge keys, like g3's yaml-rust: `yes` stays a string, `<<` is a plain key.
  const parsed = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true, merge: false });
  const at = (offset: number | undefined): Position => {
    if (offset === undefined) return { file, line: 1, column: 1 };
    const { line, col } = lineCounter.linePos(offset);
    return { file, line, column: col };
  };

  const syntaxErrors: ConfigError[] = [];
  if (!Array.isArray(parsed) || 'errors' in parsed) {
    const streamErrors = (parsed as { errors?: { pos: [number, number]; message: string }[] }).errors ?? [];
    for (const err of streamErrors) syntaxErrors.push(ConfigError.at(at(err.pos[0]), `invalid YAML: ${err.message}`));
  }
  for (const doc of parsed) {
    for (const err of doc.errors) syntaxErrors.push(ConfigError.at(at(err.pos[0]), `invalid YAML: ${err.message}`));
  }
  if (syntaxErrors.length > 0) throw ConfigError.combine(syntaxErrors);

  return parsed.map((doc, index) => {
    const contents = doc.contents;
    const start = contents?.range?.[0] ?? doc.range?.[0];
    const empty = contents === null || (isScalar(contents) && contents.value === null && !contents.tag);
    if (empty) return { file, index, empty: true, value: null, tree: { pos: at(start) } };
    const { value, tree } = convert(contents, { doc, at, active: new Set() }, at(start));
    return { file, index, empty: false, value, tree };
  });
}

interface ConvertContext {
  doc: Document;
  at: (offset: number | undefined) => Position;
  /** collections being converted, to stop an alias that points into its own anchor */
  active: Set<Node>;
}

function convert(node: unknown, ctx: ConvertContext, fallback: Position): { value: unknown; tree: PosNode } {
  if (node === null || node === undefined) return { value: null, tree: { pos: fallback } };
  const pos = isAlias(node) || isScalar(node) || isMap(node) || isSeq(node) ? ctx.at(node.range?.[0]) : fallback;

  if (isAlias(node)) {
    const target = node.resolve(ctx.doc);
    if (target === undefined) throw ConfigError.at(pos, `unknown alias '*${node.source}'`);
    if (ctx.active.has(target)) throw ConfigError.at(pos, `alias '*${node.source}' refers to a node that contains it`);
    const inner = convert(target, ctx, pos);
    // the alias is where the operator wrote the value; children keep their anchor positions
    return { value: inner.value, tree: { ...inner.tree, pos } };
  }
  if (isScalar(node)) return { value: plainScalar(node.value), tree: { pos } };
  if (isSeq(node)) {
    ctx.active.add(node);
    const value: unknown[] = [];
    const items: PosNode[] = [];
    for (const item of node.items) {
      const child = convert(item, ctx, pos);
      value.push(child.value);
      items.push(child.tree);
    }
    ctx.active.delete(node);
    return { value, tree: { pos, items } };
  }
  if (isMap(node)) {
    ctx.active.add(node);
    const value: Record<string, unknown> = {};
    const keys = new Map<string, PosNode>();
    for (const pair of node.items) {
      const keyNode = isAlias(pair.key) ? pair.key.resolve(ctx.doc) : pair.key;
      const keyPos = isScalar(pair.key) || isAlias(pair.key) ? ctx.at((pair.key as Node).range?.[0]) : pos;
      if (!isScalar(keyNode)) throw ConfigError.at(keyPos, 'a map key must be a plain string, not a map or a list');
      if (keyNode.value === null || keyNode.value === undefined) throw ConfigError.at(keyPos, 'a map key must not be empty');
      const key = String(keyNode.value);
      if (keys.has(key)) throw ConfigError.at(keyPos, `key '${key}' is given twice in this map`);
      const child = convert(pair.value, ctx, keyPos);
      setOwn(value, key, child.value);
      keys.set(key, { ...child.tree, pos: keyPos });
    }
    ctx.active.delete(node);
    return { value, tree: { pos, keys } };
  }
  throw ConfigError.at(pos, 'unsupported YAML node');
}

function plainScalar(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  return v;
}

/** Defines an own enumerable property; plain assignment of `__proto__` would change the prototype instead. */
export function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * Position of the deepest node that exists along `pointer`. Keys are matched as written first, then by
 * their normalised spelling, so a normalised key path still finds `Egress-Net-Filter` in the YAML.
 */
export function locateIn(tree: PosNode, pointer: readonly string[]): Position {
  let node = tree;
  for (const seg of pointer) {
    const next = childOf(node, seg);
    if (next === undefined) break;
    node = next;
  }
  return node.pos;
}

function childOf(node: PosNode, seg: string): PosNode | undefined {
  if (node.keys !== undefined) {
    const exact = node.keys.get(seg);
    if (exact !== undefined) return exact;
    const wanted = normalizeKey(seg);
    for (const [k, child] of node.keys) if (normalizeKey(k) === wanted) return child;
    return undefined;
  }
  if (node.items !== undefined && /^(0|[1-9][0-9]*)$/.test(seg)) return node.items[Number(seg)];
  return undefined;
}
