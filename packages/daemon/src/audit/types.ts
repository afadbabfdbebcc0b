import type { BaseConfig, LiveObject } from '../runtime/object-def.js';

/** An auditor inspects and intercepts the traffic of the servers that name it. Auditors have no `type:`. */
export interface Auditor<Cfg extends BaseConfig = BaseConfig> extends LiveObject<Cfg> {
  readonly logName: string;
}
