/**
 * Per-schema validators: a schema-guided key normalisation walk, then ajv (compiled once per schema
 * object), then ajv's errors turned into ConfigErrors that point at the YAML the operator wrote.
 */
import AjvImport, { type AnySchemaObject, type ValidateFunction } from 'ajv';
import addFormatsImport from 'ajv-formats';
import { translateAjvErrors } from './ajv-errors.js';
import { ConfigError } from './errors.js';
import { normalizeBySchema, toRawPath } from './normalize-walk.js';
import type { SchemaObject } from './schema-util.js';
import type { RawNode, RawObject } from './types.js';

// ajv and ajv-formats are CommonJS modules whose real export sits on `.default` when imported from ESM
const Ajv = AjvImport.default;
const addFormats = addFormatsImport.default;

/** Parses (and so validates) one g3 value syntax; throws an Error whose message is the reason. */
export type ValueParser = (value: unknown) => unknown;

const valueParsers = new Map<string, ValueParser>();

/** Makes parsers available to the `g3value: '<name>'` keyword; a later registration of a name replaces the earlier one. */
export function registerValueParsers(parsers: Record<string, ValueParser>): void {
  for (const [name, parser] of Object.entries(parsers)) valueParsers.set(name, parser);
}

/** A parser may name the offending sub-key of the value with a `path` property on the Error it throws. */
function checkG3Value(name: string, data: unknown, parentSchema?: AnySchemaObject): boolean {
  const parser = valueParsers.get(name);
  if (parser === undefined) throw new Error(`no value parser registered for g3value '${name}'`);
  try {
    parser(data);
    return true;
  } catch (e) {
    const err: Error & { path?: unknown } = e instanceof Error ? e : new Error(String(e));
    const path = Array.isArray(err.path) ? err.path.map(String) : [];
    // parentSchema lets the anyOf reduction tell which alternative this error belongs to
    checkG3Value.errors = [{ keyword: 'g3value', message: err.message, params: { parser: name, path }, parentSchema }];
    return false;
  }
}
checkG3Value.errors = [] as object[];

const ajv = new Ajv({
  strict: true,
  allErrors: true,
  useDefaults: false,
  // verbose puts the failing schema, its parent and the data on each error: needed for good reasons
  verbose: true,
  allowUnionTypes: true,
});
addFormats(ajv);
ajv.addKeyword({
  keyword: 'x-aliases',
  schemaType: 'object',
  metaSchema: { type: 'object', additionalProperties: { type: 'string' } },
});
ajv.addKeyword({ keyword: 'g3value', schemaType: 'string', errors: true, validate: checkG3Value });

export type NormalizedValue = unknown;
export type Validator<T = NormalizedValue> = (value: unknown, node: RawNode | RawObject) => T;

const compiled = new WeakMap<object, Validator<unknown>>();

/**
 * The validator for `schema`, compiled on first use and cached by schema object. It returns the value
 * with declared keys normalised (the input is not changed) or throws a ConfigError (more in `causes`).
 */
export function createValidator<T = NormalizedValue>(schemaArg: object): Validator<T> {
  const cached = compiled.get(schemaArg);
  if (cached !== undefined) return cached as Validator<T>;
  const schema = schemaArg as SchemaObject;
  const check: ValidateFunction = ajv.compile(schema);
  const validator: Validator<unknown> = (value, node) => {
    const walked = normalizeBySchema(value, schema);
    if (walked.issues.length > 0) {
      throw ConfigError.combine(walked.issues.map((i) => errorAt(node, i.rawPath, i.why)));
    }
    if (check(walked.value)) return walked.value;
    const reasons = translateAjvErrors(check.errors ?? [], schema);
    if (reasons.length === 0) throw errorAt(node, [], 'is not valid');
    throw ConfigError.combine(reasons.map((r) => errorAt(node, toRawPath(walked.rawPaths, r.path), r.why)));
  };
  compiled.set(schemaArg, validator);
  return validator as Validator<T>;
}

function errorAt(node: RawNode | RawObject, rawPath: string[], why: string): ConfigError {
  const pos = node.locate(rawPath);
  const keyPath = [...node.keyPathPrefix, ...rawPath];
  const obj = 'kind' in node ? node : undefined;
  return new ConfigError({
    file: pos.file,
    line: pos.line,
    column: pos.column,
    why,
    keyPath: keyPath.length === 0 ? '' : '/' + keyPath.join('/'),
    ...(obj === undefined ? {} : { objectKind: obj.kind, objectName: obj.name }),
    ...(obj?.type === undefined ? {} : { objectType: obj.type }),
  });
}
