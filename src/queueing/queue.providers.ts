import type { Provider } from '@nestjs/common';
import type { QueueDeclarations } from '../interfaces/module-options.interface.js';

/** Providers of the declared queues under `@nestjs/bullmq`'s tokens. @internal */
export function queueProviders(_queues: QueueDeclarations | undefined): Array<Provider & { provide: string }> {
  return [];
}
