/** Resolver types, keyed by g3's `type:` string (normalised). A new type is a folder and a line here. */
import { cAresType } from './c-ares/index.js';
import { denyAllType } from './deny_all/index.js';
import { failOverType } from './fail_over/index.js';
import { hickoryType } from './hickory/index.js';

export const RESOLVER_TYPES = {
  c_ares: cAresType,
  deny_all: denyAllType,
  fail_over: failOverType,
  hickory: hickoryType,
} as const;

export type ResolverTypeName = keyof typeof RESOLVER_TYPES;
