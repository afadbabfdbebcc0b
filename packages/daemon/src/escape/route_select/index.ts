/**
 * `route_select`: pick the next escaper from weighted `next_nodes` with a pick policy (default ketama, keyed by
 * `<client-ip>[-<username>]-<upstream-host>`). A client's egress path string id naming one of the nodes wins.
 */
import { parsePickPolicy, ValueError, type PickPolicy } from '@sluice/common';
import type { BaseConfig, ObjectTypeDef, ParseContext } from '../../runtime/object-def.js';
import { commonEscaperFields, g3 } from '../../runtime/schema-util.js';
import type { TaskContext, Upstream } from '../../task/task.js';
import { Picker, selectionKey, type Weighted } from '../pick/index.js';
import { clientIpOf } from '../proxy-peer.js';
import { RouteEscaper, routeSchema } from '../route-base.js';

export interface RouteSelectConfig extends BaseConfig {
  nodes: ReadonlyArray<Weighted<string>>;
  policy: PickPolicy;
}

const schema = routeSchema('route_select', {
  ...commonEscaperFields,
  next_nodes: { description: 'Escapers to pick from: a name, a list of names, or {name, weight} maps.', anyOf: [{ type: 'string' }, { type: 'array' }, { type: 'object' }] },
  next_pick_policy: g3('pick_policy', 'random, serial, round_robin, ketama (default), rendezvous or jump_hash.'),
}, { required: ['next_nodes'] });

/** Weighted escaper names: `name`, `[name...]`, `{name, weight}` or a list mixing them. */
export function parseWeightedNames(v: unknown): Array<Weighted<string>> {
  const list = Array.isArray(v) ? v : [v];
  return list.map((x, i) => {
    if (typeof x === 'string') return { item: x, weight: 1 };
    if (x && typeof x === 'object') {
      const m = x as Record<string, unknown>;
      const name = m.name ?? m.next ?? m.escaper;
      if (typeof name !== 'string') throw new ValueError(`[${i}] needs a 'name'`);
      const weight = m.weight === undefined ? 1 : Number(m.weight);
      if (!(weight >= 0)) throw new ValueError(`[${i}] weight must be a non-negative number`);
      return { item: name, weight };
    }
    throw new ValueError(`[${i}] must be an escaper name or {name, weight}`);
  });
}

function parse(v: Record<string, unknown>, ctx: ParseContext): RouteSelectConfig {
  let nodes: Array<Weighted<string>> = [];
  try {
    nodes = parseWeightedNames(v.next_nodes);
  } catch (e) {
    ctx.fail(['next_nodes'], (e as Error).message);
  }
  if (nodes.length === 0) ctx.fail(['next_nodes'], 'at least one next node is needed');
  return Object.freeze({ name: v.name as string, type: 'route_select', raw: v, baseDir: ctx.baseDir, nodes, policy: parsePickPolicy(v.next_pick_policy, 'ketama') });
}

export class RouteSelectEscaper extends RouteEscaper<RouteSelectConfig> {
  readonly logName = 'RouteSelect';
  private picker = new Picker(this.config.nodes, this.config.policy);
  protected override onReload(): void {
    this.picker = new Picker(this.config.nodes, this.config.policy);
  }
  protected select(task: TaskContext, upstream: Upstream): string {
    const wanted = task.egressPath?.selectStringId(this.name);
    if (wanted && this.config.nodes.some((n) => n.item === wanted)) return wanted;
    const p = this.picker;
    // only the hashing policies need the key; skip building it for the others
    return p.pick(p.policy === 'ketama' || p.policy === 'rendezvous' || p.policy === 'jump_hash' ? selectionKey(clientIpOf(task), task.user, upstream.host) : '');
  }
}

export const routeSelectType: ObjectTypeDef<RouteSelectConfig, RouteSelectEscaper> = {
  type: 'route_select',
  logName: 'RouteSelect',
  schema,
  parse,
  create: (cfg, runtime) => new RouteSelectEscaper(cfg, runtime),
  dependsOn: (cfg) => ({ escaper: [...new Set(cfg.nodes.map((n) => n.item))] }),
  diff: () => 'reload',
};
