/** `trick_float`: each task goes to a random one of `next` (meant for float escapers sharing the load). */
import type { ObjectTypeDef } from '../../runtime/object-def.js';
import { nextListSchema, parseNextListConfig, RouteEscaper, type NextListConfig } from '../route-base.js';

export type TrickFloatConfig = NextListConfig;

export class TrickFloatEscaper extends RouteEscaper<TrickFloatConfig> {
  readonly logName = 'TrickFloat';
  protected select(): string {
    const n = this.config.next;
    return n[Math.floor(Math.random() * n.length)]!;
  }
}

export const trickFloatType: ObjectTypeDef<TrickFloatConfig, TrickFloatEscaper> = {
  type: 'trick_float',
  logName: 'TrickFloat',
  schema: nextListSchema('trick_float', 'Escapers to spread tasks over at random.'),
  parse: (v, ctx) => parseNextListConfig('trick_float', v, ctx),
  create: (cfg, runtime) => new TrickFloatEscaper(cfg, runtime),
  dependsOn: (cfg) => ({ escaper: [...new Set(cfg.next)] }),
  diff: () => 'reload',
};
