export * from './errors.js';
export * from './methods.js';
export * from './paths.js';
export * from './protocol.js';
export type { ControlLogger } from './logger.js';
export { ControlServer, type ControlServerOptions } from './server.js';
export { ControlClient, type ControlClientOptions } from './client.js';
