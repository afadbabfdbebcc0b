/** Auditor kinds. g3 auditors carry no `type:`; sluice registers them under `auditor`. */
import type { TypeTable } from '../runtime/object-def.js';

export const AUDITOR_TYPES: TypeTable = {};
