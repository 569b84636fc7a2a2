export * from './gates.module.js';
export * from './gates.store.js';
export * from './gates.tasks.js';
