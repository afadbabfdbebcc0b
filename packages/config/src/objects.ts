/**
 * Turns one object definition (an inline map or a document of an included file) into a RawObject:
 * top-level keys normalised, `name` checked, `type` normalised.
 */
import { ConfigError, displayPath, type Position } from './errors.js';
import type { ObjectSource } from './hybrid.js';
import { jsonKind } from './hybrid.js';
import { isValidObjectName, normalizeKey, normalizeTypeName } from './names.js';
import type { ObjectKind, RawObject } from './types.js';
import { locateIn, setOwn, type PosNode } from './yaml-positions.js';

/** Kinds whose objects cannot do without `type:` (user groups default to `basic`; auditors have no type). */
const TYPE_REQUIRED: ReadonlySet<ObjectKind> = new Set(['resolver', 'escaper', 'server']);

/** Builds the object, or throws a ConfigError carrying every problem found in it. */
export function buildRawObject(kind: ObjectKind, src: ObjectSource): RawObject {
  const raw = src.value as Record<string, unknown>;
  const errors: ConfigError[] = [];
  const value: Record<string, unknown> = {};
  const keys = new Map<string, PosNode>();
  const written = new Map<string, string>();
  for (const [k, v] of Object.entries(raw)) {
    const keyTree = src.tree.keys?.get(k) ?? { pos: src.tree.pos };
    const nk = normalizeKey(k);
    const before = written.get(nk);
    if (before !== undefined) {
      errors.push(ConfigError.at(keyTree.pos, `key '${nk}' is given twice (as '${before}' and '${k}')`, { objectKind: kind, keyPath: `/${nk}` }));
      continue;
    }
    written.set(nk, k);
    setOwn(value, nk, v);
    keys.set(nk, keyTree);
  }
  const tree: PosNode = { pos: src.tree.pos, keys };
  const locate = (pointer: readonly string[]): Position => locateIn(tree, pointer);

  let name: string | undefined;
  const rawName = value['name'];
  if (rawName === undefined) {
    errors.push(ConfigError.at(tree.pos, `missing required key 'name'`, { objectKind: kind }));
  } else if (typeof rawName !== 'string') {
    const hint = typeof rawName === 'number' || typeof rawName === 'boolean' ? ` (quote it: "${String(rawName)}")` : '';
    errors.push(ConfigError.at(locate(['name']), `must be a string, got ${jsonKind(rawName)}${hint}`, { objectKind: kind, keyPath: '/name' }));
  } else if (!isValidObjectName(rawName)) {
    errors.push(
      ConfigError.at(locate(['name']), `invalid name '${rawName}': only letters, digits, '_', '.', '/' and '-' are allowed`, {
        objectKind: kind,
        keyPath: '/name',
      }),
    );
  } else {
    name = rawName;
  }

  let type: string | undefined;
  const rawType = value['type'];
  const context = name === undefined ? { objectKind: kind } : { objectKind: kind, objectName: name };
  if (rawType === undefined) {
    if (TYPE_REQUIRED.has(kind)) errors.push(ConfigError.at(tree.pos, `missing required key 'type'`, context));
  } else if (typeof rawType !== 'string' || rawType === '') {
    errors.push(ConfigError.at(locate(['type']), `must be a non-empty string, got ${rawType === '' ? 'an empty one' : jsonKind(rawType)}`, { ...context, keyPath: '/type' }));
  } else {
    type = normalizeTypeName(rawType);
    value['type'] = type;
  }

  // every error so far is about this object: name it in each where the name is known
  const named = errors.map((e) => withObject(e, kind, name, type));
  if (named.length > 0) throw ConfigError.combine(named);

  return {
    kind,
    name: name!,
    type,
    value,
    file: src.file,
    docIndex: src.docIndex,
    inline: src.inline,
    baseDir: src.baseDir,
    keyPathPrefix: [],
    locate,
  };
}

function withObject(e: ConfigError, kind: ObjectKind, name: string | undefined, type: string | undefined): ConfigError {
  if (e.objectName !== undefined || name === undefined) return e;
  return new ConfigError({
    file: e.file,
    line: e.line,
    column: e.column,
    why: e.why,
    keyPath: e.keyPath,
    objectKind: kind,
    objectName: name,
    ...(type === undefined ? {} : { objectType: type }),
  });
}

/** Errors for a second object of the same kind and name, naming where the first one is. */
export function findDuplicateNames(objects: readonly RawObject[]): ConfigError[] {
  const first = new Map<string, RawObject>();
  const errors: ConfigError[] = [];
  for (const obj of objects) {
    const earlier = first.get(obj.name);
    if (earlier === undefined) {
      first.set(obj.name, obj);
      continue;
    }
    const there = earlier.locate(['name']);
    errors.push(
      ConfigError.at(obj.locate(['name']), `duplicate name, first defined at ${displayPath(there.file)}:${there.line}:${there.column}`, {
        objectKind: obj.kind,
        objectName: obj.name,
        ...(obj.type === undefined ? {} : { objectType: obj.type }),
        keyPath: '/name',
      }),
    );
  }
  return errors;
}
