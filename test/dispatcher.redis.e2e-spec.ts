import { dispatcherSpec } from './dispatcher.shared.js';
import { REDIS_URL, deleteKeys, uniquePrefix } from './src/helpers.js';

const filePrefix = uniquePrefix('dispatcher-redis');
let count = 0;

dispatcherSpec({
  kind: 'redis',
  options: (prefix) => ({ redis: REDIS_URL, prefix }),
  prefix: () => `${filePrefix}:${++count}`,
  cleanup: () => deleteKeys(filePrefix),
  sharedClaims: true,
});
