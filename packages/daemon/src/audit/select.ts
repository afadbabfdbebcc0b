/**
 * Whether a task is audited, as g3 decides: the auditor is the server's, or the one a comply_audit escaper
 * set for the task. Without a user (no user group on the server) the auditor's task_audit_ratio decides; with
 * a user, the user's `audit.enable_protocol_inspection` must be on and the user's task_audit_ratio, when set,
 * replaces the auditor's.
 */
import type { Runtime } from '../runtime/runtime.js';
import type { TaskContext } from '../task/task.js';
import { StreamAuditor } from './auditor/index.js';

export function auditorFor(runtime: Runtime, serverAuditor: string | undefined, task: TaskContext): StreamAuditor | undefined {
  const name = task.auditor ?? serverAuditor;
  if (!name) return undefined;
  const auditor = runtime.gen?.maps.auditor.get(name);
  // a dangling name was reported when the config loaded; such tasks are not audited
  if (!(auditor instanceof StreamAuditor)) return undefined;
  if (task.user !== undefined) {
    const ua = task.userAudit;
    if (!ua?.enableProtocolInspection) return undefined;
    return StreamAuditor.sample(ua.taskAuditRatio ?? auditor.config.taskAuditRatio) ? auditor : undefined;
  }
  return StreamAuditor.sample(auditor.config.taskAuditRatio) ? auditor : undefined;
}
