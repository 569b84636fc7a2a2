import { Module, type DynamicModule } from '@nestjs/common';
import { CloseTheGates, OpenTheGates, PatrolTheGates } from './gates.tasks.js';
import { GATES_OPTIONS, GatesStore, type GatesOptions } from './gates.store.js';

/** The gates example: three tasks over a small store. */
@Module({})
export class GatesModule {
  static register(options: GatesOptions = {}): DynamicModule {
    return {
      module: GatesModule,
      providers: [
        { provide: GATES_OPTIONS, useValue: options },
        GatesStore,
        OpenTheGates,
        CloseTheGates,
        PatrolTheGates,
      ],
      exports: [GatesStore],
    };
  }
}
