/**
 * From a loaded config (YAML with positions) to typed configs: find each object's type in its role's table,
 * validate it with that type's schema, parse it, then check the object graph (dangling references, escaper
 * cycles). Nothing here builds live objects, so `sluice -t` runs exactly this.
 */
import { VALUE_PARSERS } from '@sluice/common';
import { ConfigError, createValidator, normalizeTypeName, registerValueParsers, type LoadedConfig, type RawObject } from '@sluice/config';
import { AUDITOR_TYPES } from '../audit/table.js';
import { USER_GROUP_TYPES } from '../auth/table.js';
import { ESCAPER_TYPES } from '../escape/table.js';
import { RESOLVER_TYPES } from '../resolve/table.js';
import { SERVER_TYPES } from '../serve/table.js';
import { parseMainSettings, type MainSettings } from './main-settings.js';
import type { AnyTypeDef, BaseConfig, ParseContext, RoleName, TypeTable } from './object-def.js';

// Schemas name g3 value syntaxes with `g3value: '<name>'`; these parsers validate them.
registerValueParsers(VALUE_PARSERS);

export const ROLES: readonly RoleName[] = ['resolver', 'escaper', 'user_group', 'auditor', 'server'];

export const ROLE_TABLES: Readonly<Record<RoleName, TypeTable>> = {
  resolver: RESOLVER_TYPES,
  escaper: ESCAPER_TYPES,
  user_group: USER_GROUP_TYPES,
  auditor: AUDITOR_TYPES,
  server: SERVER_TYPES,
};

const ROLE_TEXT: Record<RoleName, string> = {
  resolver: 'resolver', escaper: 'escaper', user_group: 'user group', auditor: 'auditor', server: 'server',
};

export interface ParsedObject {
  role: RoleName;
  def: AnyTypeDef;
  cfg: BaseConfig;
  raw: RawObject;
}

export interface ParsedConfig {
  loaded: LoadedConfig;
  main: MainSettings;
  objects: Record<RoleName, ParsedObject[]>;
}

export interface GraphIssues {
  /** references to objects that do not exist (errors for `-t`, warnings for a running daemon) */
  dangling: ConfigError[];
  /** escaper cycles (always errors) */
  cycles: ConfigError[];
}

/** Build a ConfigError located at `path` inside `obj`. */
export function objectError(obj: RawObject, path: string[], why: string): ConfigError {
  const pos = obj.locate(path);
  return new ConfigError({
    file: pos.file,
    line: pos.line,
    column: pos.column,
    objectKind: obj.kind,
    objectName: obj.name,
    objectType: obj.type,
    keyPath: path.length ? `/${path.join('/')}` : '',
    why,
  });
}

export function findTypeDef(role: RoleName, type: string): AnyTypeDef | undefined {
  const table = ROLE_TABLES[role];
  // g3 accepts every type with or without its underscores (`directfixed`, `route_dst_ip`/`routedstip`)
  const norm = normalizeTypeName(type).replaceAll('_', '');
  const same = (a: string) => normalizeTypeName(a).replaceAll('_', '') === norm;
  for (const def of Object.values(table)) {
    if (same(def.type)) return def;
    if (def.aliases?.some(same)) return def;
  }
  return undefined;
}

function knownTypes(role: RoleName): string {
  const names = Object.values(ROLE_TABLES[role]).map((d) => d.type);
  return names.length ? names.join(', ') : '(none in this build)';
}

/** The `type:` an object has, with g3's defaults for user groups (basic) and auditors (untyped). */
function typeOf(obj: RawObject, role: RoleName): string | undefined {
  if (obj.type) return obj.type;
  if (role === 'user_group') return 'basic';
  if (role === 'auditor') return 'auditor';
  return undefined;
}

export function parseObject(role: RoleName, obj: RawObject): ParsedObject {
  const type = typeOf(obj, role);
  if (!type) throw objectError(obj, [], `missing required key 'type' (known ${ROLE_TEXT[role]} types: ${knownTypes(role)})`);
  const def = findTypeDef(role, type);
  if (!def) {
    throw objectError(obj, ['type'], `unknown ${ROLE_TEXT[role]} type '${type}' (known: ${knownTypes(role)})`);
  }
  const value = createValidator(def.schema)(obj.value, obj) as Record<string, unknown>;
  const ctx: ParseContext = {
    object: obj,
    baseDir: obj.baseDir,
    fail: (path, why) => {
      throw objectError(obj, path, why);
    },
  };
  let cfg: BaseConfig;
  try {
    cfg = def.parse(value, ctx);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    // value parsers throw errors carrying the sub-path of the offending key
    const path = (e as { path?: string[] }).path ?? [];
    const key = (e as { key?: string }).key;
    throw objectError(obj, key ? [key, ...path] : path, (e as Error).message);
  }
  return { role, def, cfg, raw: obj };
}

export function parseConfig(loaded: LoadedConfig): ParsedConfig {
  const objects = {} as Record<RoleName, ParsedObject[]>;
  for (const role of ROLES) objects[role] = (loaded.objects[role] ?? []).map((o) => parseObject(role, o));
  return { loaded, main: parseMainSettings(loaded), objects };
}

/** Path of the first string in `value` equal to `name` (to point an error at the referencing key). */
function findValuePath(value: unknown, name: string, path: string[] = []): string[] | null {
  if (value === name) return path;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const p = findValuePath(value[i], name, [...path, String(i)]);
      if (p) return p;
    }
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === name) return [...path, k];
      const p = findValuePath(v, name, [...path, k]);
      if (p) return p;
    }
  }
  return null;
}

export function checkGraph(parsed: ParsedConfig): GraphIssues {
  const names = {} as Record<RoleName, Map<string, ParsedObject>>;
  for (const role of ROLES) names[role] = new Map(parsed.objects[role].map((p) => [p.cfg.name, p]));
  const dangling: ConfigError[] = [];
  for (const role of ROLES) {
    for (const p of parsed.objects[role]) {
      const deps = p.def.dependsOn?.(p.cfg) ?? {};
      for (const depRole of ROLES) {
        for (const dep of deps[depRole] ?? []) {
          if (names[depRole].has(dep)) continue;
          const at = findValuePath(p.raw.value, dep) ?? [];
          dangling.push(objectError(p.raw, at, `${ROLE_TEXT[depRole]} '${dep}' does not exist`));
        }
      }
    }
  }
  // cycles among escapers (routes) and among resolvers (fail_over): depth-first search with colours
  const cycles: ConfigError[] = [];
  for (const role of ['escaper', 'resolver'] as const) {
    const colour = new Map<string, 1 | 2>();
    const stack: string[] = [];
    const visit = (name: string): void => {
      const p = names[role].get(name);
      if (!p) return;
      colour.set(name, 1);
      stack.push(name);
      for (const next of p.def.dependsOn?.(p.cfg)[role] ?? []) {
        const c = colour.get(next);
        if (c === 1) {
          const loop = [...stack.slice(stack.indexOf(next)), next];
          cycles.push(objectError(p.raw, findValuePath(p.raw.value, next) ?? [], `${ROLE_TEXT[role]} cycle: ${loop.join(' -> ')}`));
        } else if (c === undefined) visit(next);
      }
      stack.pop();
      colour.set(name, 2);
    };
    for (const name of names[role].keys()) if (!colour.has(name)) visit(name);
  }
  return { dangling, cycles };
}
