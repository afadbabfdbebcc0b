/**
 * ConfigError: what an operator sees when a config does not load. Every error names the file, line and
 * column, the object (kind, name, type) when there is one, the key path inside it and the reason, e.g.
 *
 *   conf/escaper.d/direct.yaml:12:5: escaper 'direct' (direct_fixed): /egress_net_filter/allow/0: invalid IP network 'x'
 */
import { isAbsolute, relative } from 'node:path';

/** A place in a config file; line and column are 1-based, 0 when unknown (e.g. the file itself is missing). */
export interface Position {
  file: string;
  line: number;
  column: number;
}

export interface ConfigErrorInit {
  file: string;
  line?: number;
  column?: number;
  why: string;
  /** key path inside the object (or inside the main file for main sections), e.g. `/egress_net_filter/allow/0` */
  keyPath?: string;
  objectKind?: string;
  objectName?: string;
  objectType?: string;
  causes?: ConfigError[];
}

export class ConfigError extends Error {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly objectKind?: string;
  readonly objectName?: string;
  readonly objectType?: string;
  readonly keyPath: string;
  readonly why: string;
  /** further errors found in the same pass (each complete on its own) */
  readonly causes: ConfigError[];

  constructor(init: ConfigErrorInit) {
    const causes = init.causes ?? [];
    const more = causes.length === 0 ? '' : ` (and ${causes.length} more error${causes.length === 1 ? '' : 's'})`;
    super(headline(init) + more);
    this.name = 'ConfigError';
    this.file = init.file;
    this.line = init.line ?? 0;
    this.column = init.column ?? 0;
    if (init.objectKind !== undefined) this.objectKind = init.objectKind;
    if (init.objectName !== undefined) this.objectName = init.objectName;
    if (init.objectType !== undefined) this.objectType = init.objectType;
    this.keyPath = init.keyPath ?? '';
    this.why = init.why;
    this.causes = causes;
  }

  static at(pos: Position, why: string, extra: Omit<ConfigErrorInit, 'file' | 'line' | 'column' | 'why'> = {}): ConfigError {
    return new ConfigError({ ...extra, file: pos.file, line: pos.line, column: pos.column, why });
  }

  /** One error carrying the rest as causes; errors are ordered by file position so the first one is shown first. */
  static combine(errors: ConfigError[]): ConfigError {
    if (errors.length === 0) throw new Error('ConfigError.combine needs at least one error');
    const sorted = [...errors].sort(comparePlaces);
    const [first, ...rest] = sorted;
    if (rest.length === 0) return first!;
    return new ConfigError({ ...fieldsOf(first!), causes: [...first!.causes, ...rest] });
  }
}

/** The error and all its causes as a flat list, each without causes. */
export function flattenErrors(e: ConfigError): ConfigError[] {
  const self = e.causes.length === 0 ? e : new ConfigError(fieldsOf(e));
  return [self, ...e.causes.flatMap(flattenErrors)];
}

function fieldsOf(e: ConfigError): ConfigErrorInit {
  const init: ConfigErrorInit = { file: e.file, line: e.line, column: e.column, why: e.why, keyPath: e.keyPath };
  if (e.objectKind !== undefined) init.objectKind = e.objectKind;
  if (e.objectName !== undefined) init.objectName = e.objectName;
  if (e.objectType !== undefined) init.objectType = e.objectType;
  return init;
}

function comparePlaces(a: ConfigError, b: ConfigError): number {
  if (a.file !== b.file) return a.file < b.file ? -1 : 1;
  return a.line - b.line || a.column - b.column;
}

/** The first line of an error, without the "(and N more errors)" note. */
function headline(e: ConfigErrorInit): string {
  let place = displayPath(e.file);
  if (e.line) place += `:${e.line}:${e.column ?? 0}`;
  let what = '';
  if (e.objectKind !== undefined) {
    what = e.objectKind;
    if (e.objectName !== undefined) what += ` '${e.objectName}'`;
    if (e.objectType !== undefined) what += ` (${e.objectType})`;
    what += ': ';
  }
  const key = e.keyPath ? `${e.keyPath}: ` : '';
  return `${place}: ${what}${key}${e.why}`;
}

/** Paths under the working directory are shown relative to it (what the operator typed), others absolute. */
export function displayPath(file: string): string {
  const rel = relative(process.cwd(), file);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return file;
  return rel;
}

/** The whole chain, one error per line, causes indented below the error they belong to. */
export function formatConfigError(e: unknown): string {
  const lines: string[] = [];
  const visit = (err: unknown, depth: number): void => {
    const indent = '  '.repeat(depth);
    if (depth > 8) {
      lines.push(`${indent}...`);
      return;
    }
    if (err instanceof ConfigError) {
      lines.push(indent + headline(err));
      for (const c of err.causes) visit(c, depth + 1);
    } else if (err instanceof Error) {
      lines.push(indent + err.message);
      if (err.cause !== undefined) visit(err.cause, depth + 1);
    } else {
      lines.push(indent + String(err));
    }
  };
  visit(e, 0);
  return lines.join('\n');
}
