export * from './http1/index.js';
