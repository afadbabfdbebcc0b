/** Assertions shared by the value parser tests (not exported from the package). */
import assert from 'node:assert/strict';
import { ValueError } from './errors.js';

/** Asserts that `fn` throws a ValueError whose message matches `message` and whose path is `path`. */
export function assertValueError(fn: () => unknown, message: RegExp, path: string[] = []): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ValueError, `expected a ValueError, got ${String(e)}`);
    assert.match(e.message, message);
    assert.deepEqual(e.path, path);
    return true;
  });
}
