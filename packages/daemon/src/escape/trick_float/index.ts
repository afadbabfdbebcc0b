/** `trick_float`: each task goes to a random one of `next` (meant for float escapers sharing the load). */
import type { BaseConfig, ObjectTypeDef, ParseContext } from '../../runtime/object-def.js';
import { commonEscaperFields, strList } from '../../runtime/schema-util.js';
import { RouteEscaper, routeSchema } from '../route-base.js';

export interface TrickFloatConfig extends BaseConfig {
  next: readonly string[];
}

const schema = routeSchema('trick_float', {
  ...commonEscaperFields,
  next: strList('Escapers to spread tasks over at random.'),
}, { required: ['next'] });

function parse(v: Record<string, unknown>, ctx: ParseContext): TrickFloatConfig {
  const next = (Array.isArray(v.next) ? v.next : [v.next]).map(String);
  if (next.length === 0) ctx.fail(['next'], 'at least one next escaper is needed');
  return Object.freeze({ name: v.name as string, type: 'trick_float', raw: v, baseDir: ctx.baseDir, next });
}

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
  schema,
  parse,
  create: (cfg, runtime) => new TrickFloatEscaper(cfg, runtime),
  dependsOn: (cfg) => ({ escaper: [...new Set(cfg.next)] }),
  diff: () => 'reload',
};
