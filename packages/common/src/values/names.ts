/**
 * Object names (servers, escapers, resolvers, user groups, auditors, users in metrics): g3proxy's metric
 * NodeName — the OpenTSDB character set `[A-Za-z0-9_./-]` plus any Unicode letter or digit, non-empty.
 */
import { ValueError, describe } from './errors.js';

const OBJECT_NAME = /^[A-Za-z0-9_./\-\p{Alphabetic}\p{N}]+$/u;

export function isValidObjectName(s: string): boolean {
  return OBJECT_NAME.test(s);
}

export function parseObjectName(v: unknown): string {
  if (typeof v !== 'string') throw new ValueError(`name must be a string, got ${describe(v)}`);
  if (v === '') throw new ValueError('name must not be empty');
  if (!isValidObjectName(v)) {
    const bad = [...v].find((c) => !OBJECT_NAME.test(c)) ?? '';
    throw new ValueError(`invalid character ${JSON.stringify(bad)} in name '${v}' (use letters, digits, '_', '.', '/', '-')`);
  }
  return v;
}
