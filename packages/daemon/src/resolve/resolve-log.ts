/**
 * The Resolve log record of a failed query, with g3's common fields; each resolver type appends its own
 * (c-ares: `server`; hickory: `bind_addr`, `server`, `server_port`, `encryption`).
 */
import type { SluiceError } from '@sluice/common';
import { formatDuration } from '../log/format.js';
import type { Logger } from '../log/hub.js';
import type { LogValue } from '../log/record.js';

export interface FailedQuery {
  resolverType: string;
  resolverName: string;
  family: 4 | 6;
  domain: string;
  durMs: number;
  error: SluiceError;
  /** the resolver library's own reason (a DNS rcode, a transport failure), else the error code is repeated */
  subtype: string | undefined;
}

export function logResolveError(logger: Logger, q: FailedQuery, extra: Array<[string, LogValue]>): void {
  if (!logger.enabled) return;
  logger.log('Resolve', [
    ['resolver_type', q.resolverType],
    ['resolver_name', q.resolverName],
    ['query_type', q.family === 4 ? 'A' : 'AAAA'],
    ['duration', formatDuration(q.durMs)],
    ['rr_source', 'query'],
    ['error_type', q.error.code],
    ['error_subtype', q.subtype ?? q.error.code],
    ['domain', q.domain],
    ...extra,
  ], q.error.message, 'warn');
}
