export * from './http1/index.js';
export * from './proxy-protocol/index.js';
export * from './socks/index.js';
export * from './tls-hello/index.js';
export * from './dns/index.js';
export * from './dpi/index.js';
