/**
 * Small JSON Schema helpers for the normalisation walk and for error translation: local `$ref`s,
 * which branch of an anyOf/oneOf fits a value, which schema objects a branch can reach.
 */

export type SchemaObject = Record<string, unknown>;

export function isSchemaObject(s: unknown): s is SchemaObject {
  return typeof s === 'object' && s !== null && !Array.isArray(s);
}

/** Resolves a local `$ref` (`#`, `#/definitions/x`, `#/$defs/x`) against `root`; other refs are not followed. */
export function resolveLocalRef(ref: string, root: SchemaObject): SchemaObject | undefined {
  if (!ref.startsWith('#')) return undefined;
  const fragment = decodeURIComponent(ref.slice(1));
  if (fragment === '' ) return root;
  if (!fragment.startsWith('/')) return undefined;
  let node: unknown = root;
  for (const raw of fragment.slice(1).split('/')) {
    const seg = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (Array.isArray(node)) node = node[Number(seg)];
    else if (isSchemaObject(node)) node = node[seg];
    else return undefined;
  }
  return isSchemaObject(node) ? node : undefined;
}

/** Follows a chain of `$ref`-only hops to the schema that carries the keywords. */
export function deref(schema: SchemaObject, root: SchemaObject): SchemaObject {
  let s = schema;
  for (let hops = 0; hops < 16 && typeof s['$ref'] === 'string'; hops++) {
    const next = resolveLocalRef(s['$ref'], root);
    if (next === undefined) break;
    s = next;
  }
  return s;
}

export type JsonType = 'null' | 'boolean' | 'integer' | 'number' | 'string' | 'array' | 'object';

export function jsonTypeOf(v: unknown): JsonType {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return 'array';
  switch (typeof v) {
    case 'boolean':
      return 'boolean';
    case 'number':
      return Number.isInteger(v) ? 'integer' : 'number';
    case 'string':
      return 'string';
    default:
      return 'object';
  }
}

/**
 * How well a branch fits a value by JSON type: 2 = its `type` (or, without one, the keywords it uses)
 * admits the value, 1 = cannot tell, 0 = it cannot match.
 */
export function typeFit(branch: SchemaObject, data: unknown, root: SchemaObject): 0 | 1 | 2 {
  const s = deref(branch, root);
  const actual = jsonTypeOf(data);
  const declared = s['type'];
  if (declared !== undefined) {
    const types = Array.isArray(declared) ? declared : [declared];
    return types.some((t) => t === actual || (t === 'number' && actual === 'integer')) ? 2 : 0;
  }
  if ('const' in s) return jsonTypeOf(s['const']) === actual ? 2 : 0;
  if (Array.isArray(s['enum'])) return s['enum'].some((v) => jsonTypeOf(v) === actual) ? 2 : 0;
  if ('properties' in s || 'additionalProperties' in s || 'patternProperties' in s || 'required' in s) return actual === 'object' ? 2 : 0;
  if ('items' in s || 'prefixItems' in s) return actual === 'array' ? 2 : 0;
  return 1;
}

/** Every schema object reachable from `schema` (following local refs), to tell which branch an error came from. */
export function reachableSchemas(schema: unknown, root: SchemaObject, into = new Set<object>()): Set<object> {
  if (Array.isArray(schema)) {
    for (const s of schema) reachableSchemas(s, root, into);
    return into;
  }
  if (!isSchemaObject(schema) || into.has(schema)) return into;
  into.add(schema);
  for (const [k, v] of Object.entries(schema)) {
    if (k === '$ref' && typeof v === 'string') {
      const target = resolveLocalRef(v, root);
      if (target !== undefined) reachableSchemas(target, root, into);
    } else if (k !== 'enum' && k !== 'const' && k !== 'default' && k !== 'examples' && typeof v === 'object') {
      reachableSchemas(v, root, into);
    }
  }
  return into;
}
