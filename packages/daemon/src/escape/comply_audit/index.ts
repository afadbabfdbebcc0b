/**
 * `comply_audit`: hand every task to `next`, under `auditor` instead of the server's: the task's tunnel is
 * inspected (or not) as that auditor says once it is connected, whatever auditor the server names.
 */
import type { BaseConfig, ObjectTypeDef, ParseContext } from '../../runtime/object-def.js';
import { commonEscaperFields, str } from '../../runtime/schema-util.js';
import type { TaskContext } from '../../task/task.js';
import { RouteEscaper, routeSchema } from '../route-base.js';

export interface ComplyAuditConfig extends BaseConfig {
  next: string;
  auditor: string;
}

const schema = routeSchema('comply_audit', {
  ...commonEscaperFields,
  next: str('Escaper that carries the tasks.'),
  auditor: str('Auditor that applies to these tasks instead of the server\'s (the tunnels of CONNECT, SOCKS TCP connect and stream servers are inspected by it).'),
}, { required: ['next', 'auditor'] });

function parse(v: Record<string, unknown>, ctx: ParseContext): ComplyAuditConfig {
  return Object.freeze({ name: v.name as string, type: 'comply_audit', raw: v, baseDir: ctx.baseDir, next: v.next as string, auditor: v.auditor as string });
}

export class ComplyAuditEscaper extends RouteEscaper<ComplyAuditConfig> {
  readonly logName = 'ComplyAudit';
  protected select(task: TaskContext): string {
    task.auditor = this.config.auditor;
    return this.config.next;
  }
}

export const complyAuditType: ObjectTypeDef<ComplyAuditConfig, ComplyAuditEscaper> = {
  type: 'comply_audit',
  logName: 'ComplyAudit',
  schema,
  parse,
  create: (cfg, runtime) => new ComplyAuditEscaper(cfg, runtime),
  dependsOn: (cfg) => ({ escaper: [cfg.next], auditor: [cfg.auditor] }),
  diff: () => 'reload',
};
