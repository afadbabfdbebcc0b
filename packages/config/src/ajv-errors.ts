/**
 * ajv's errors ⇒ plain reasons an operator can act on. anyOf/oneOf failures are reduced to the branch
 * that fits the value (or one "expected X or Y" line when none does) instead of one error per branch.
 */
import type { ErrorObject } from 'ajv';
import { jsonKind } from './hybrid.js';
import { suggestKey } from './names.js';
import { deref, isSchemaObject, reachableSchemas, type SchemaObject } from './schema-util.js';
import { parseJsonPointer } from './normalize-walk.js';

/** A translated error: where (normalised key path) and why. */
export interface Reason {
  path: string[];
  why: string;
}

type AjvError = ErrorObject<string, Record<string, any>, unknown>;

export function translateAjvErrors(errors: readonly AjvError[], root: SchemaObject): Reason[] {
  const reduced = reduceAlternatives(dropNoise(errors), root);
  const out: Reason[] = [];
  const seen = new Set<string>();
  for (const e of reduced) {
    const r = reasonOf(e);
    if (r === undefined) continue;
    const key = JSON.stringify(r);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(r);
  }
  return out;
}

/**
 * Drops errors that only repeat or follow from another: `if` says "must match then schema" next to the
 * real error; inner propertyNames errors repeat the outer one; when a value has the wrong type, the other
 * keywords of that same schema (a g3value parser, a pattern) have nothing sensible to say about it.
 */
function dropNoise(errors: readonly AjvError[]): AjvError[] {
  /** schema object ⇒ the value paths where its `type` failed */
  const wrongType = new Map<object, string[]>();
  for (const e of errors) {
    if (e.keyword !== 'type' || !isSchemaObject(e.parentSchema)) continue;
    wrongType.set(e.parentSchema, [...(wrongType.get(e.parentSchema) ?? []), e.instancePath]);
  }
  return errors.filter((e) => {
    if (e.keyword === 'if' || (e as { propertyName?: string }).propertyName !== undefined) return false;
    if (e.keyword === 'type') return true;
    return !(isSchemaObject(e.parentSchema) && (wrongType.get(e.parentSchema) ?? []).includes(e.instancePath));
  });
}

function within(path: string, parent: string): boolean {
  return path === parent || path.startsWith(parent + '/');
}

function reduceAlternatives(input: AjvError[], root: SchemaObject): AjvError[] {
  let list = input;
  // each pass removes one anyOf/oneOf error, so this ends
  for (let guard = 0; guard < 1000; guard++) {
    const at = list.findIndex((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf');
    if (at < 0) return list;
    const alt = list[at]!;
    const branches: unknown[] = Array.isArray(alt.schema) ? alt.schema : [];
    const reach = branches.map((b) => reachableSchemas(b, root));
    // the branch errors were recorded while the alternatives were tried, i.e. just before this error
    const groups: AjvError[][] = branches.map(() => []);
    const members = new Set<AjvError>();
    for (let i = 0; i < at; i++) {
      const e = list[i]!;
      if (!within(e.instancePath, alt.instancePath) || e.parentSchema === undefined) continue;
      const b = reach.findIndex((r) => r.has(e.parentSchema as object));
      if (b < 0) continue;
      groups[b]!.push(e);
      members.add(e);
    }
    const replacement = chooseAlternative(alt, branches, groups, root);
    list = [...list.slice(0, at).filter((e) => !members.has(e)), ...replacement, ...list.slice(at + 1)];
  }
  return list;
}

function chooseAlternative(alt: AjvError, branches: unknown[], groups: AjvError[][], root: SchemaObject): AjvError[] {
  if (alt.keyword === 'oneOf' && Array.isArray(alt.params['passingSchemas'])) {
    return [synthetic(alt, 'matches more than one of the allowed forms; make it unambiguous')];
  }
  const mismatched = groups.map((g, i) => isMismatch(g, alt, branches[i], root));
  const candidates = groups.map((g, i) => i).filter((i) => !mismatched[i] && groups[i]!.length > 0);
  if (candidates.length === 0) {
    const expected = unique(branches.map((b) => expectationOf(b, root)).filter((x): x is string => x !== undefined));
    const got = alt.data === undefined ? '' : `, got ${describeValue(alt.data)}`;
    return [synthetic(alt, expected.length > 0 ? `expected ${orList(expected)}${got}` : 'does not match any of the allowed forms')];
  }
  // the branch whose errors reach deepest into the value is the one the operator meant to write
  const depth = (i: number): number => Math.max(...groups[i]!.map((e) => parseJsonPointer(e.instancePath).length));
  candidates.sort((a, b) => depth(b) - depth(a) || groups[a]!.length - groups[b]!.length || a - b);
  return groups[candidates[0]!]!;
}

/**
 * The branch does not apply to the value at all: its own `type` failed (whatever else it said), or all
 * it said is that the value is not its constant / not in its enum.
 */
function isMismatch(group: AjvError[], alt: AjvError, branch: unknown, root: SchemaObject): boolean {
  if (group.length === 0 || !isSchemaObject(branch)) return false;
  const own = (e: AjvError): boolean =>
    e.instancePath === alt.instancePath && (e.parentSchema === branch || e.parentSchema === deref(branch, root));
  if (group.some((e) => e.keyword === 'type' && own(e))) return true;
  return group.every((e) => (e.keyword === 'const' || e.keyword === 'enum') && own(e));
}

function expectationOf(branch: unknown, root: SchemaObject): string | undefined {
  if (!isSchemaObject(branch)) return undefined;
  const s = deref(branch, root);
  if ('const' in s) return quote(s['const']);
  if (Array.isArray(s['enum'])) return `one of ${s['enum'].map(quote).join(', ')}`;
  if (s['type'] !== undefined) return typeNames(s['type']);
  return undefined;
}

function synthetic(alt: AjvError, why: string): AjvError {
  return { ...alt, keyword: 'x-reason', params: { why } };
}

/** `a`, `a or b`, `a, b or c` */
function orList(items: string[]): string {
  return items.length <= 2 ? items.join(' or ') : `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

function unique(list: string[]): string[] {
  return [...new Set(list)];
}

const TYPE_WORDS: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  integer: 'an integer',
  boolean: 'a boolean',
  object: 'a map',
  array: 'a list',
  null: 'null',
};

function typeNames(t: unknown): string {
  const list = Array.isArray(t) ? t : String(t).split(',');
  return orList(list.map((x) => TYPE_WORDS[String(x)] ?? String(x)));
}

function quote(v: unknown): string {
  return typeof v === 'string' ? `'${v}'` : JSON.stringify(v);
}

function describeValue(v: unknown): string {
  return jsonKind(v);
}

function reasonOf(e: AjvError): Reason | undefined {
  const path = parseJsonPointer(e.instancePath);
  const p = e.params;
  switch (e.keyword) {
    case 'x-reason':
      return { path, why: String(p['why']) };
    case 'additionalProperties': {
      const key = String(p['additionalProperty']);
      const guess = suggestKey(key, knownKeys(e.parentSchema));
      return { path: [...path, key], why: `unknown key '${key}'${guess === undefined ? '' : ` (did you mean '${guess}'?)`}` };
    }
    case 'required':
      return { path, why: `missing required key '${String(p['missingProperty'])}'` };
    case 'dependencies':
    case 'dependentRequired':
      return { path, why: `key '${String(p['property'])}' needs key '${String(p['missingProperty'])}' as well` };
    case 'type':
      return { path, why: `expected ${typeNames(p['type'])}, got ${describeValue(e.data)}` };
    case 'enum':
      return { path, why: `must be one of ${(p['allowedValues'] as unknown[]).map(String).join(', ')}` };
    case 'const':
      return { path, why: `must be ${quote(p['allowedValue'])}` };
    case 'g3value': {
      const sub = Array.isArray(p['path']) ? (p['path'] as unknown[]).map(String) : [];
      return { path: [...path, ...sub], why: String(e.message) };
    }
    case 'format':
      return { path, why: `${quote(e.data)} is not a valid ${String(p['format'])}` };
    case 'pattern':
      return { path, why: `${quote(e.data)} does not match the pattern ${String(p['pattern'])}` };
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return { path, why: `must be ${String(p['comparison'])} ${String(p['limit'])}, got ${String(e.data)}` };
    case 'minLength':
      return { path, why: p['limit'] === 1 ? 'must not be empty' : `must be at least ${String(p['limit'])} characters long` };
    case 'maxLength':
      return { path, why: `must be at most ${String(p['limit'])} characters long` };
    case 'minItems':
      return { path, why: p['limit'] === 1 ? 'must not be an empty list' : `must have at least ${String(p['limit'])} items` };
    case 'maxItems':
      return { path, why: `must have at most ${String(p['limit'])} items` };
    case 'minProperties':
      return { path, why: p['limit'] === 1 ? 'must not be an empty map' : `must have at least ${String(p['limit'])} keys` };
    case 'maxProperties':
      return { path, why: `must have at most ${String(p['limit'])} keys` };
    case 'uniqueItems':
      return { path, why: `items #${String(p['j'])} and #${String(p['i'])} are the same` };
    case 'propertyNames':
      return { path: [...path, String(p['propertyName'])], why: `invalid key '${String(p['propertyName'])}'` };
    case 'false schema':
      return { path, why: 'is not allowed here' };
    case 'not':
      return { path, why: 'has a value that is not allowed here' };
    default:
      return { path, why: e.message ?? `fails the '${e.keyword}' check` };
  }
}

function knownKeys(parentSchema: unknown): string[] {
  if (!isSchemaObject(parentSchema)) return [];
  const props = isSchemaObject(parentSchema['properties']) ? Object.keys(parentSchema['properties']) : [];
  const aliases = isSchemaObject(parentSchema['x-aliases']) ? Object.keys(parentSchema['x-aliases']) : [];
  return [...props, ...aliases];
}
