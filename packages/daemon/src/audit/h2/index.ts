/**
 * HTTP/2 interception for auditors (g3's `h2_interception`, inspect/http/v2). The auditor calls `interceptH2`
 * when inspection found HTTP/2 (the h2c prior-knowledge preface in a tunnel, or ALPN h2 after TLS interception)
 * and `h2_inspect_policy` is `intercept`:
 *
 *   const summary = await interceptH2({
 *     client, upstream, clientPrefix: bytesInspectionRead, upstreamHost: 'host:port', upstreamScheme: 'https',
 *     config: auditor.h2Interception, taskId: task.id, depth, logUriMaxChars: server.logUriMaxChars,
 *     log: (fields, msg) => auditLogger.log('Intercept', [['auditor_name', auditor.name], ...fields], msg, 'info'),
 *     signal: serverQuitSignal, idleTimeout,
 *   });
 *
 * The promise never rejects; `summary.errorCode` (a SluiceError code) says why the connection ended when it
 * was not a clean close, and the byte counters are DATA payload bytes (wire bytes are the caller's sockets').
 */
export { H2_INTERCEPTION_DEFAULTS, H2_INTERCEPTION_FIELD, parseH2Interception, type H2InterceptionConfig } from './config.js';
export { interceptH2, type H2InterceptArgs, type H2InterceptSummary } from './intercept.js';
export type { H2InterceptLog, InterceptFields } from './records.js';
export type { H2StreamCounters } from './stream-forward.js';
