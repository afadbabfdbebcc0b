/** Auditor kinds. g3 auditors carry no `type:`; sluice registers them under `auditor`. */
import type { TypeTable } from '../runtime/object-def.js';
import { auditorType } from './auditor/index.js';

export const AUDITOR_TYPES: TypeTable = {
  auditor: auditorType,
};
