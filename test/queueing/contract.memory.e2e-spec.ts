import { queueContract } from './queue-contract.js';

// The shared queue contract on the in-memory twin (no `redis` option).
queueContract('memory');
