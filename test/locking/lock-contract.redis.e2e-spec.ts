import { lockContract } from './lock-contract.js';

lockContract('redis');
