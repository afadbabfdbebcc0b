/**
 * `route_mapping`: the next escaper by the client's egress path number id (1 = first, 0 = last, larger ids wrap);
 * a random one when the client chose none.
 */
import type { BaseConfig, ObjectTypeDef, ParseContext } from '../../runtime/object-def.js';
import { commonEscaperFields, strList } from '../../runtime/schema-util.js';
import type { TaskContext } from '../../task/task.js';
import { RouteEscaper, routeSchema } from '../route-base.js';

export interface RouteMappingConfig extends BaseConfig {
  next: readonly string[];
}

const schema = routeSchema('route_mapping', {
  ...commonEscaperFields,
  next: strList('Escapers, in the order their number ids refer to.'),
}, { required: ['next'] });

function parse(v: Record<string, unknown>, ctx: ParseContext): RouteMappingConfig {
  const next = (Array.isArray(v.next) ? v.next : [v.next]).map(String);
  if (next.length === 0) ctx.fail(['next'], 'at least one next escaper is needed');
  return Object.freeze({ name: v.name as string, type: 'route_mapping', raw: v, baseDir: ctx.baseDir, next });
}

export class RouteMappingEscaper extends RouteEscaper<RouteMappingConfig> {
  readonly logName = 'RouteMapping';
  protected select(task: TaskContext): string {
    const nodes = this.config.next;
    const i = task.egressPath?.selectNumberId(this.name, nodes.length);
    return nodes[i ?? Math.floor(Math.random() * nodes.length)]!;
  }
}

export const routeMappingType: ObjectTypeDef<RouteMappingConfig, RouteMappingEscaper> = {
  type: 'route_mapping',
  logName: 'RouteMapping',
  schema,
  parse,
  create: (cfg, runtime) => new RouteMappingEscaper(cfg, runtime),
  dependsOn: (cfg) => ({ escaper: [...new Set(cfg.next)] }),
  diff: () => 'reload',
};
