/**
 * A user's `audit` block (g3's user audit): whether the user's tasks get protocol inspection at all, whether
 * unknown or timed-out protocols are refused, and a task_audit_ratio replacing the auditor's.
 */
import { asBool, parseRandomRatio, ValueError } from '@sluice/common';

export interface UserAuditConfig {
  readonly enableProtocolInspection: boolean;
  readonly prohibitUnknownProtocol: boolean;
  readonly prohibitTimeoutProtocol: boolean;
  /** undefined: the auditor's task_audit_ratio applies */
  readonly taskAuditRatio: number | undefined;
}

/** g3's defaults: a user without `audit` is not inspected. */
export const DEFAULT_USER_AUDIT: UserAuditConfig = Object.freeze({
  enableProtocolInspection: false,
  prohibitUnknownProtocol: false,
  prohibitTimeoutProtocol: true,
  taskAuditRatio: undefined,
});

export function parseUserAudit(v: unknown): UserAuditConfig {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new ValueError('audit must be a map');
  const c: { -readonly [K in keyof UserAuditConfig]: UserAuditConfig[K] } = { ...DEFAULT_USER_AUDIT };
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    try {
      switch (k.toLowerCase().replace(/-/g, '_')) {
        case 'enable_protocol_inspection': c.enableProtocolInspection = asBool(x); break;
        case 'prohibit_unknown_protocol': c.prohibitUnknownProtocol = asBool(x); break;
        case 'prohibit_timeout_protocol': c.prohibitTimeoutProtocol = asBool(x); break;
        case 'task_audit_ratio':
        case 'application_audit_ratio': c.taskAuditRatio = parseRandomRatio(x); break;
        default: throw new ValueError(`invalid key '${k}' in audit (enable_protocol_inspection, prohibit_unknown_protocol, prohibit_timeout_protocol, task_audit_ratio)`);
      }
    } catch (e) {
      throw new ValueError((e as Error).message, [k, ...((e as ValueError).path ?? [])]);
    }
  }
  return Object.freeze(c);
}
