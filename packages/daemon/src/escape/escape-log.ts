/** The Escape log: one record per escaper-side error (g3's log_type=Escape). */
import type { SluiceError } from '@sluice/common';
import type { LogValue } from '../log/record.js';
import type { Runtime } from '../runtime/runtime.js';
import type { TaskContext } from '../task/task.js';

export function logEscapeError(
  runtime: Runtime,
  escaper: { name: string; logName: string; config?: { raw?: unknown } },
  escapeType: 'TcpConnect' | 'TlsHandshake' | 'UdpSendto',
  task: TaskContext,
  extra: Array<[string, LogValue]>,
  err: SluiceError,
): void {
  const shared = (escaper.config?.raw as { shared_logger?: unknown } | null | undefined)?.shared_logger;
  const logger = runtime.logs.forEscaper(escaper.name, typeof shared === 'string' ? shared : undefined);
  if (!logger.enabled) return;
  const fields: Array<[string, LogValue]> = [
    ['escaper_type', escaper.logName],
    ['escaper_name', escaper.name],
    ['escape_type', escapeType],
    ['task_id', task.id],
    ...extra,
  ];
  if (task.nextBoundAddr) fields.push(['next_bound_addr', task.nextBoundAddr]);
  if (task.nextPeerAddr) fields.push(['next_peer_addr', task.nextPeerAddr]);
  if (task.tcpConnectTries) fields.push(['tcp_connect_tries', task.tcpConnectTries]);
  logger.log('Escape', fields, `${err.code}: ${err.message}`, 'warn');
}
