export * from './errors.js';
export * from './values/index.js';
