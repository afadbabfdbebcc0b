/**
 * Whether a task is audited, as g3 decides: the auditor is the server's, or the one a comply_audit escaper
 * set for the task. Without a user (no user group on the server) the auditor's task_audit_ratio decides; with
 * a user, the user's `audit.enable_protocol_inspection` must be on and the user's task_audit_ratio, when set,
 * replaces the auditor's.
 */
import type { RawObject } from '@sluice/config';
import type { Runtime } from '../runtime/runtime.js';
import type { TaskContext } from '../task/task.js';
import { parseAuditor } from './auditor/config.js';
import { StreamAuditor } from './auditor/index.js';

/**
 * Auditors named by a server or escaper but not defined: g3 gets-or-inserts an auditor with every default
 * (protocol inspection on its default portmaps, no TLS interception, task_audit_ratio 1), so sluice does the
 * same rather than not auditing. One per name and config generation, so a reload that defines the name takes
 * over at once. The load-time warning about the missing name still comes.
 */
const defaultAuditors = new WeakMap<object, Map<string, StreamAuditor>>();

function defaultAuditor(runtime: Runtime, gen: object, name: string): StreamAuditor {
  let byName = defaultAuditors.get(gen);
  if (!byName) defaultAuditors.set(gen, (byName = new Map()));
  let a = byName.get(name);
  if (!a) {
    const value = { name };
    const object: RawObject = {
      kind: 'auditor', name, type: undefined, value, inline: true,
      file: '(default auditor)', docIndex: 0, baseDir: '', keyPathPrefix: [], locate: () => ({ file: '(default auditor)', line: 0, column: 0 }),
    };
    const cfg = parseAuditor(value, {
      object,
      baseDir: '',
      fail: (path, why) => {
        throw new Error(`default auditor ${name}: ${path.join('.')}: ${why}`);
      },
    });
    byName.set(name, (a = new StreamAuditor(cfg, runtime)));
  }
  return a;
}

export function auditorFor(runtime: Runtime, serverAuditor: string | undefined, task: TaskContext): StreamAuditor | undefined {
  const name = task.auditor ?? serverAuditor;
  if (!name) return undefined;
  const gen = runtime.gen;
  if (!gen) return undefined;
  const defined = gen.maps.auditor.get(name);
  const auditor = defined instanceof StreamAuditor ? defined : defaultAuditor(runtime, gen, name);
  if (task.user !== undefined) {
    const ua = task.userAudit;
    if (!ua?.enableProtocolInspection) return undefined;
    return StreamAuditor.sample(ua.taskAuditRatio ?? auditor.config.taskAuditRatio) ? auditor : undefined;
  }
  return StreamAuditor.sample(auditor.config.taskAuditRatio) ? auditor : undefined;
}
