import { queueContract } from './queue-contract.js';

// The shared queue contract on BullMQ against the real Redis.
queueContract('redis');
