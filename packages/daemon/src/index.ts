export { Daemon, loadAndCheck, daemonVersion, type DaemonOptions } from './daemon.js';
export { Runtime } from './runtime/runtime.js';
export { parseConfig, checkGraph, ROLE_TABLES } from './runtime/config-model.js';
