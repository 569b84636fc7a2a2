export * from './invalid-module-options.error.js';
export * from './invalid-task-definitions.error.js';
export * from './redis-connection.error.js';
export * from './unknown-task.error.js';
export * from './invalid-job-options.error.js';
export * from './invalid-task-arguments.error.js';
export * from './unknown-queue.error.js';
export * from './task-timeout.error.js';
