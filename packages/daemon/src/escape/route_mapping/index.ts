/**
 * `route_mapping`: the next escaper by the client's egress path number id (1 = first, 0 = last, larger ids wrap);
 * a random one when the client chose none.
 */
import type { ObjectTypeDef } from '../../runtime/object-def.js';
import type { TaskContext } from '../../task/task.js';
import { nextListSchema, parseNextListConfig, RouteEscaper, type NextListConfig } from '../route-base.js';

export type RouteMappingConfig = NextListConfig;

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
  schema: nextListSchema('route_mapping', 'Escapers, in the order their number ids refer to.'),
  parse: (v, ctx) => parseNextListConfig('route_mapping', v, ctx),
  create: (cfg, runtime) => new RouteMappingEscaper(cfg, runtime),
  dependsOn: (cfg) => ({ escaper: [...new Set(cfg.next)] }),
  diff: () => 'reload',
};
