/**
 * The time source the scheduler reads. Replace it (module option `clock`) to drive
 * schedules from tests or to apply a known clock offset.
 * @publicApi
 */
export interface Clock {
  /** Milliseconds since the epoch, as `Date.now()`. */
  now(): number;
}

/** The real clock. @publicApi */
export const systemClock: Clock = { now: () => Date.now() };
