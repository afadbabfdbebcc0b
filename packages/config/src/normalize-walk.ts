/**
 * Schema-guided key normalisation. Keys that a schema declares (`properties`, or aliases in the custom
 * `x-aliases` map) are matched the g3 way: lowercased, `-` ⇒ `_`, then an alias renamed to its target.
 * Keys of maps that hold user data (escaper names in route maps, domains in resolve_redirection, tags in
 * extra_metrics_tags: maps described only by `additionalProperties`/`patternProperties`) stay as written.
 *
 * The walk also records, for every normalised key path, the raw key path it came from, so an error found
 * on the normalised value can be pointed at the right line of the YAML.
 */
import { normalizeKey } from './names.js';
import { deref, isSchemaObject, jsonTypeOf, typeFit, type SchemaObject } from './schema-util.js';
import { setOwn } from './yaml-positions.js';

export interface WalkIssue {
  rawPath: string[];
  why: string;
}

export interface WalkResult {
  value: unknown;
  /** normalised JSON pointer (as ajv writes `instancePath`) ⇒ raw key path */
  rawPaths: Map<string, string[]>;
  issues: WalkIssue[];
}

export function normalizeBySchema(value: unknown, schema: SchemaObject): WalkResult {
  const result: WalkResult = { value: undefined, rawPaths: new Map(), issues: [] };
  result.value = walk(value, [schema], [], [], schema, result);
  return result;
}

export function jsonPointer(path: readonly string[]): string {
  return path.map((s) => '/' + s.replaceAll('~', '~0').replaceAll('/', '~1')).join('');
}

export function parseJsonPointer(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer.slice(1).split('/').map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
}

/** Maps a normalised pointer (plus extra segments) to the raw key path, via the longest recorded prefix. */
export function toRawPath(rawPaths: Map<string, string[]>, normalized: readonly string[]): string[] {
  for (let n = normalized.length; n >= 0; n--) {
    const raw = rawPaths.get(jsonPointer(normalized.slice(0, n)));
    if (raw !== undefined) return [...raw, ...normalized.slice(n)];
  }
  return [...normalized];
}

/** Guards against schemas that `$ref` themselves without consuming data. */
const MAX_EXPANSION_DEPTH = 32;

/** The schemas that apply to `data` at this point: each one, its `$ref` target, `allOf` parts, the fitting anyOf/oneOf branch. */
function applicable(schemas: readonly SchemaObject[], data: unknown, root: SchemaObject, startDepth = 0): SchemaObject[] {
  const out: SchemaObject[] = [];
  const add = (s: SchemaObject, depth: number): void => {
    if (depth > MAX_EXPANSION_DEPTH || out.includes(s)) return;
    out.push(s);
    const target = deref(s, root);
    if (target !== s) add(target, depth + 1);
    const allOf = s['allOf'];
    if (Array.isArray(allOf)) for (const part of allOf) if (isSchemaObject(part)) add(part, depth + 1);
    for (const key of ['anyOf', 'oneOf'] as const) {
      const branches = s[key];
      if (!Array.isArray(branches)) continue;
      const branch = pickBranch(branches.filter(isSchemaObject), data, root, depth + 1);
      if (branch !== undefined) add(branch, depth + 1);
    }
  };
  for (const s of schemas) add(s, startDepth);
  return out;
}

/** The branch whose type fits the value; among map-typed ones, the one that knows most of the value's keys. */
function pickBranch(branches: SchemaObject[], data: unknown, root: SchemaObject, depth: number): SchemaObject | undefined {
  let best: SchemaObject | undefined;
  let bestScore = -1;
  for (const branch of branches) {
    const fit = typeFit(branch, data, root);
    if (fit === 0) continue;
    let score = fit * 1_000_000;
    if (jsonTypeOf(data) === 'object') score += knownKeyCount(applicable([branch], data, root, depth), data as Record<string, unknown>);
    if (score > bestScore) {
      best = branch;
      bestScore = score;
    }
  }
  return best;
}

function knownKeyCount(schemas: SchemaObject[], data: Record<string, unknown>): number {
  const shape = mapShape(schemas);
  let n = 0;
  for (const k of Object.keys(data)) {
    const nk = normalizeKey(k);
    if (shape.properties.has(shape.aliases.get(nk) ?? nk)) n++;
  }
  return n;
}

interface MapShape {
  properties: Map<string, SchemaObject[]>;
  aliases: Map<string, string>;
  patterns: { re: RegExp; schema: SchemaObject }[];
  additional: SchemaObject[];
}

function mapShape(schemas: readonly SchemaObject[]): MapShape {
  const shape: MapShape = { properties: new Map(), aliases: new Map(), patterns: [], additional: [] };
  for (const s of schemas) {
    const props = s['properties'];
    if (isSchemaObject(props)) {
      for (const [k, sub] of Object.entries(props)) {
        if (!isSchemaObject(sub)) {
          if (!shape.properties.has(k)) shape.properties.set(k, []);
          continue;
        }
        const list = shape.properties.get(k) ?? [];
        list.push(sub);
        shape.properties.set(k, list);
      }
    }
    const aliases = s['x-aliases'];
    if (isSchemaObject(aliases)) {
      for (const [alias, target] of Object.entries(aliases)) if (typeof target === 'string') shape.aliases.set(normalizeKey(alias), target);
    }
    const patterns = s['patternProperties'];
    if (isSchemaObject(patterns)) {
      for (const [re, sub] of Object.entries(patterns)) if (isSchemaObject(sub)) shape.patterns.push({ re: new RegExp(re, 'u'), schema: sub });
    }
    const additional = s['additionalProperties'];
    if (isSchemaObject(additional)) shape.additional.push(additional);
  }
  return shape;
}

function walk(
  data: unknown,
  schemas: readonly SchemaObject[],
  rawPath: string[],
  normPath: string[],
  root: SchemaObject,
  result: WalkResult,
): unknown {
  result.rawPaths.set(jsonPointer(normPath), rawPath);
  if (Array.isArray(data)) return walkList(data, applicable(schemas, data, root), rawPath, normPath, root, result);
  if (typeof data === 'object' && data !== null) {
    return walkMap(data as Record<string, unknown>, applicable(schemas, data, root), rawPath, normPath, root, result);
  }
  return data;
}

function walkList(
  data: unknown[],
  schemas: SchemaObject[],
  rawPath: string[],
  normPath: string[],
  root: SchemaObject,
  result: WalkResult,
): unknown[] {
  return data.map((item, i) => {
    const itemSchemas: SchemaObject[] = [];
    for (const s of schemas) {
      const tuple = Array.isArray(s['prefixItems']) ? s['prefixItems'] : Array.isArray(s['items']) ? s['items'] : undefined;
      if (tuple !== undefined) {
        const rest = Array.isArray(s['items']) ? s['additionalItems'] : s['items'];
        const sub = i < tuple.length ? tuple[i] : rest;
        if (isSchemaObject(sub)) itemSchemas.push(sub);
      } else if (isSchemaObject(s['items'])) {
        itemSchemas.push(s['items']);
      }
    }
    const seg = String(i);
    return walk(item, itemSchemas, [...rawPath, seg], [...normPath, seg], root, result);
  });
}

function walkMap(
  data: Record<string, unknown>,
  schemas: SchemaObject[],
  rawPath: string[],
  normPath: string[],
  root: SchemaObject,
  result: WalkResult,
): Record<string, unknown> {
  const shape = mapShape(schemas);
  const out: Record<string, unknown> = {};
  /** output key ⇒ the key as written that produced it */
  const writtenAs = new Map<string, string>();
  for (const [k, v] of Object.entries(data)) {
    const nk = normalizeKey(k);
    const target = shape.aliases.get(nk) ?? nk;
    const declared = shape.properties.has(target);
    // undeclared keys are user data (or typos): keep them exactly as written
    const outKey = declared ? target : k;
    const earlier = writtenAs.get(outKey);
    if (earlier !== undefined) {
      result.issues.push({ rawPath: [...rawPath, k], why: twiceReason(outKey, earlier, k, shape.aliases) });
      continue;
    }
    writtenAs.set(outKey, k);
    let childSchemas: SchemaObject[];
    if (declared) {
      childSchemas = shape.properties.get(target) ?? [];
    } else {
      childSchemas = shape.patterns.filter((p) => p.re.test(k)).map((p) => p.schema);
      if (childSchemas.length === 0) childSchemas = shape.additional;
    }
    setOwn(out, outKey, walk(v, childSchemas, [...rawPath, k], [...normPath, outKey], root, result));
  }
  return out;
}

function twiceReason(target: string, first: string, second: string, aliases: Map<string, string>): string {
  const alias = [first, second].find((w) => aliases.has(normalizeKey(w)));
  const other = alias === first ? second : first;
  if (alias !== undefined && aliases.get(normalizeKey(other)) === undefined) {
    return `'${alias}' is an alias of '${target}', and '${other}' is given too; keep only one of them`;
  }
  if (alias !== undefined) return `'${first}' and '${second}' both stand for '${target}'; keep only one of them`;
  return `key '${target}' is given twice (as '${first}' and '${second}')`;
}
