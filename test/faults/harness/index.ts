export * from './fault-app.js';
export * from './figures.js';
export * from './records.js';
export * from './redis-server.js';
export * from './scenario.js';
