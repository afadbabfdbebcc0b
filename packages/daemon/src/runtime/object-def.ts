/**
 * The contract every configurable object type implements, whatever its role.
 *
 * A type is one folder registered in its role's `table.ts`. The descriptor turns a validated config value into a
 * typed, frozen config (`parse`), says which other objects it needs (`dependsOn`), builds the live object
 * (`create`), and tells a reload what to do when the config changed (`diff`).
 */
import type { RawObject } from '@sluice/config';
import type { Runtime } from './runtime.js';

export type RoleName = 'resolver' | 'escaper' | 'user_group' | 'auditor' | 'server';

/** What a config change means for a live object. */
export type DiffAction = 'none' | 'reload' | 'respawn';

/** Names this object refers to, by role. Used for dangling-reference checks and the escaper graph. */
export interface Dependencies {
  resolver?: string[];
  escaper?: string[];
  user_group?: string[];
  auditor?: string[];
  server?: string[];
}

export interface BaseConfig {
  readonly name: string;
  readonly type: string;
  /** The normalised config value, kept for diffing and for `-t` output. */
  readonly raw: unknown;
  /** Directory of the file holding this object: relative paths inside it are resolved against it. */
  readonly baseDir: string;
}

export interface ParseContext {
  readonly object: RawObject;
  readonly baseDir: string;
  /** Throw a ConfigError pointing at `path` inside this object. */
  fail(path: string[], why: string): never;
}

export interface LiveObject<Cfg extends BaseConfig = BaseConfig> {
  readonly name: string;
  readonly config: Cfg;
  /** Apply a changed config in place (diff said `reload`). Must not throw for a config that parsed. */
  reload?(cfg: Cfg): void;
  /** Acquire what can fail (bind listeners) before the generation is swapped in. Undone by destroy(). */
  prepare?(): Promise<void>;
  /** Called once the whole generation is built and swapped in. Must not fail. */
  start?(): void;
  /** Graceful close: stop taking new work, let running work finish within `graceMs`. */
  close(graceMs: number): Promise<void>;
  /** Forced close: drop everything now. Idempotent. */
  destroy(): void;
}

export interface ObjectTypeDef<Cfg extends BaseConfig = BaseConfig, Obj extends LiveObject<Cfg> = LiveObject<Cfg>> {
  /** g3's `type:` string in normalised form (lowercase, `-` → `_`). */
  readonly type: string;
  readonly aliases?: readonly string[];
  /** The value written to logs and metrics (`server_type`, `escaper_type`, ...), e.g. `HttpProxy`. */
  readonly logName: string;
  /** Prose put before the key table of the type's generated doc page (scripts/gen-docs.mjs). */
  readonly doc?: string;
  /** JSON Schema of the object (ajv; `additionalProperties: false`; a description per field). */
  readonly schema: object;
  parse(value: Record<string, unknown>, ctx: ParseContext): Cfg;
  create(cfg: Cfg, runtime: Runtime): Obj;
  dependsOn?(cfg: Cfg): Dependencies;
  /** Defaults to: equal raw value ⇒ none; else reload when the object supports it, respawn otherwise. */
  diff?(old: Cfg, next: Cfg): DiffAction;
}

export type AnyTypeDef = ObjectTypeDef<any, any>;

/** One role's type table: normalised type string → descriptor. */
export type TypeTable = Readonly<Record<string, AnyTypeDef>>;
