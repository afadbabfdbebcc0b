/**
 * The config text most end-to-end tests start from, so each test writes only what it is about: a runtime that
 * goes offline at once (tests stop daemons often), the task log on stdout (the testkit reads it), a c-ares
 * resolver `default`, and a `direct_fixed` escaper `direct` allowed to reach loopback (the default egress
 * filter forbids it, and every origin a test starts listens there).
 */
export interface BaseConfigOptions {
  /** the value of `log:` — a driver name, or a block that starts with a newline (a map indented under `log:`) */
  log?: string;
  /** extra lines under `runtime:`, e.g. `task_wait_timeout: 5s` */
  runtime?: string[];
  /** more items of the `resolver:` list, as YAML list items */
  resolvers?: string;
  /** more items of the `escaper:` list, as YAML list items */
  escapers?: string;
  /** what `direct` may reach (default 127.0.0.1) */
  directAllow?: string;
  /** `direct`'s egress filter default for addresses not listed (default allow) */
  directDefault?: 'allow' | 'forbid';
}

export function baseConfig(o: BaseConfigOptions = {}): string {
  const log = o.log ?? 'stdout';
  const runtime = ['server_offline_delay: 0', 'task_wait_delay: 0', ...(o.runtime ?? [])];
  return `runtime:
${runtime.map((l) => `  ${l}`).join('\n')}
log:${log.startsWith('\n') ? log : ` ${log}`}
resolver:
  - name: default
    type: c-ares
${o.resolvers ?? ''}escaper:
  - name: direct
    type: direct_fixed
    resolver: default
    egress_network_filter: { default: ${o.directDefault ?? 'allow'}, allow: ${o.directAllow ?? '127.0.0.1'} }
${o.escapers ?? ''}`;
}
