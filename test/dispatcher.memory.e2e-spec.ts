import { dispatcherSpec } from './dispatcher.shared.js';
import { uniquePrefix } from './src/helpers.js';

dispatcherSpec({
  kind: 'memory',
  options: (prefix) => ({ prefix }),
  prefix: () => uniquePrefix('dispatcher-memory'),
  sharedClaims: false,
});
