import { ConfigurableModuleBuilder } from '@nestjs/common';
import { INTERACTORS_QUEUES } from './interactors.constants.js';
import type {
  InteractorsModuleExtras,
  InteractorsModuleOptions,
} from './interfaces/module-options.interface.js';
import { queueProviders, queueTokens } from './queueing/queue.providers.js';

export const {
  ConfigurableModuleClass,
  MODULE_OPTIONS_TOKEN: INTERACTORS_MODULE_OPTIONS,
  OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<InteractorsModuleOptions>({ moduleName: 'Interactors' })
  .setClassMethodName('forRoot')
  .setExtras<InteractorsModuleExtras>(
    { isGlobal: true, queues: undefined },
    (definition, extras) => {
      // Queue names must be known here, when modules compile, to register their tokens.
      return {
        ...definition,
        global: extras.isGlobal,
        providers: [
          ...(definition.providers ?? []),
          { provide: INTERACTORS_QUEUES, useValue: extras.queues },
          ...queueProviders(extras.queues),
        ],
        exports: [...(definition.exports ?? []), ...queueTokens(extras.queues)],
      };
    },
  )
  .build();
