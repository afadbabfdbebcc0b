import type { Position } from './errors.js';

/** The reloadable object kinds of the main file, in g3's spelling. */
export const OBJECT_KINDS = ['resolver', 'escaper', 'user_group', 'auditor', 'server'] as const;
export type ObjectKind = (typeof OBJECT_KINDS)[number];

/** Main-file sections that are plain maps read once at start (not reloadable). */
export const MAIN_SECTIONS = ['runtime', 'worker', 'log', 'stat', 'controller'] as const;
export type MainSection = (typeof MAIN_SECTIONS)[number];

/** A value read from YAML, still raw (keys as written), with the means to point back into its file. */
export interface RawNode {
  /** plain JS: objects, arrays, strings, numbers, booleans, null */
  value: unknown;
  file: string;
  docIndex: number;
  /** directory against which relative paths inside the value are resolved */
  baseDir: string;
  /**
   * Key path of this node inside its document, prepended to error key paths (`['log']` for the main
   * file's `log:` section, `[]` for an object that is a whole document or a list item).
   */
  keyPathPrefix: readonly string[];
  /** file position of the deepest existing node along `pointer` (relative to `value`), else of the value itself */
  locate(pointer: readonly string[]): Position;
}

/** One resolver / escaper / user group / auditor / server definition. */
export interface RawObject extends RawNode {
  kind: ObjectKind;
  name: string;
  /** normalised (`direct-fixed` ⇒ `direct_fixed`); undefined when the object has no `type:` */
  type: string | undefined;
  /** top-level keys normalised; `name` and `type` included (`type` in its normalised form) */
  value: Record<string, unknown>;
  /** written inside the main file's map or sequence (no file#doc position of its own, so no per-object reload) */
  inline: boolean;
}

export interface LoadedConfig {
  mainFile: string;
  configDir: string;
  /** extension of the main file including the dot (`.yaml`), '' when it has none */
  ext: string;
  main: Partial<Record<MainSection, RawNode>>;
  objects: Record<ObjectKind, RawObject[]>;
}
