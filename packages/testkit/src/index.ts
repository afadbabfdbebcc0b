export * from './daemon.js';
export * from './log-parse.js';
export * from './origins.js';
export * from './certs.js';
export * from './dns.js';
export * from './clients.js';
export * from './config.js';
export * from './certgen.js';
