export { H2_INTERCEPTION_DEFAULTS, H2_INTERCEPTION_FIELD, parseH2Interception, type H2InterceptionConfig } from './config.js';
export { interceptH2, type H2InterceptArgs, type H2InterceptSummary } from './intercept.js';
export type { H2InterceptLog, InterceptFields } from './records.js';
export type { H2StreamCounters } from './stream-forward.js';
