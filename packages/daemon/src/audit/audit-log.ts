/**
 * The auditor's records, g3's shape (g3proxy/src/log/{inspect,intercept}): every record carries
 * `auditor_name` after the logger-wide keys, then `task_id` and `depth`. Inspect records say which protocol
 * a stream was found to speak and how (`source`); Intercept records describe what an interceptor did
 * (`intercept_type`: HttpForward, HttpConnect, HttpUpgrade, H1Websocket, TlsHandshake, TransitUnknown...).
 */
import type { LogRecord } from '../log/record.js';
import type { TaskContext } from '../task/task.js';
import type { StreamAuditor } from './auditor/index.js';

export type InspectSource = 'stream inspection' | 'tls alpn' | 'start tls' | 'h2 extended connect' | 'http upgrade';

type Fields = LogRecord['fields'];

export function logInspect(a: StreamAuditor, task: TaskContext, depth: number, source: InspectSource, protocol: string): void {
  if (!a.log.enabled) return void a.log.log('Inspect', []);
  a.log.log('Inspect', [
    ['auditor_name', a.name], ['task_id', task.id], ['depth', depth], ['source', source], ['protocol', protocol],
  ]);
}

/** An Intercept record: `fields` follow intercept_type, task_id and depth; fields left undefined are omitted. */
export function logIntercept(
  a: StreamAuditor, task: TaskContext, depth: number, interceptType: string,
  fields: Array<[string, string | number | boolean | undefined]>, msg = '',
): void {
  if (!a.log.enabled) return void a.log.log('Intercept', []);
  const out: Fields = [['auditor_name', a.name], ['intercept_type', interceptType], ['task_id', task.id], ['depth', depth]];
  for (const [k, v] of fields) if (v !== undefined) out.push([k, v]);
  a.log.log('Intercept', out, msg);
}

/** A URI for a record, cut to log_uri_max_chars characters. */
export function logUri(uri: string, max: number): string {
  return uri.length > max ? uri.slice(0, max) : uri;
}
