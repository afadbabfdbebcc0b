import type { BaseConfig, LiveObject } from '../runtime/object-def.js';

/** A user group authenticates clients and holds per-user policy. Its types arrive with the user-group module. */
export interface UserGroup<Cfg extends BaseConfig = BaseConfig> extends LiveObject<Cfg> {
  readonly logName: string;
}
