/**
 * `nestjs-interactors/testing`: test tasks, schedules and enqueues without Redis and
 * without waiting for the clock. Framework-neutral: plain values, usable from Vitest and
 * Jest alike.
 */
export { InteractorsTestKit, type OverridableModuleBuilder } from './interactors.test-kit.js';
export { InteractorsTestKitError } from './test-kit.error.js';
export type * from './test-kit.interface.js';
