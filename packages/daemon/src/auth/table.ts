/** User group types, keyed by g3's `type:` string (normalised; a group without `type` is `basic`). */
import type { TypeTable } from '../runtime/object-def.js';

export const USER_GROUP_TYPES: TypeTable = {};
