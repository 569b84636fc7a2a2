import { InvalidHealthOptionsError } from '../errors/invalid-health-options.error.js';
import { MAX_TIMEOUT } from '../utils/within.js';

/**
 * Options of `InteractorsHealthModule.forRoot`. All are optional.
 * @publicApi
 */
export interface InteractorsHealthOptions {
  /**
   * Mount the health routes under this path: `GET /<path>` (readiness) and
   * `GET /<path>/live` (liveness); `true` means `'health'`. Without it no route is
   * mounted: compose `InteractorsHealthIndicator` into a controller of your own.
   * @default false
   */
  routes?: boolean | string;
  /** With `routes`, also mount `GET /<path>/tasks`: the staleness check, for alerting. @default false */
  staleness?: boolean;
  /**
   * How late (ms) the scheduler's timer, a task's next tick, or a worker loop's next step
   * may be before liveness fails. The scheduler re-arms at least once a minute and a
   * worker loop polls every 5 to 10 s, so only a loop that stopped moving is late by this much.
   * @default 30000
   */
  grace?: number;
  /** Added to two ticks for a task's default `staleAfter` (ms): room for queueing and the run itself. @default 60000 */
  staleGrace?: number;
  /** How long readiness waits for Redis to answer a PING (ms). @default 1000 */
  pingTimeout?: number;
}

/** The health options after defaults and validation. @internal */
export interface ResolvedHealthOptions {
  readonly routes: string | undefined;
  readonly staleness: boolean;
  readonly grace: number;
  readonly staleGrace: number;
  readonly pingTimeout: number;
}

const KNOWN = ['routes', 'staleness', 'grace', 'staleGrace', 'pingTimeout'];

/** The mounted path, or undefined for none; an unusable value falls back (validation reports it). @internal */
export function healthPath(routes: unknown): string | undefined {
  if (routes === true) return 'health';
  if (typeof routes === 'string' && routes.trim() !== '')
    return routes.trim().replace(/^\/+|\/+$/g, '');
  return undefined;
}

/** Applies defaults and reports every invalid option at once. @internal */
export function resolveHealthOptions(
  options: InteractorsHealthOptions = {},
): ResolvedHealthOptions {
  const problems: string[] = [];
  options ??= {};
  for (const key of Object.keys(options)) {
    if (!KNOWN.includes(key))
      problems.push(`option "${key}" is not known; remove it (known: ${KNOWN.join(', ')})`);
  }
  const { routes, staleness } = options;
  if (
    routes !== undefined &&
    typeof routes !== 'boolean' &&
    (typeof routes !== 'string' || routes.trim() === '')
  ) {
    problems.push(
      `option "routes" must be true, false or a path such as "health", got ${JSON.stringify(routes)}`,
    );
  }
  if (staleness !== undefined && typeof staleness !== 'boolean') {
    problems.push(`option "staleness" must be true or false, got ${JSON.stringify(staleness)}`);
  }
  if (staleness === true && !routes) {
    problems.push(
      'option "staleness" mounts GET /<path>/tasks beside the routes; set "routes" too (e.g. routes: true)',
    );
  }
  const ms = (name: keyof InteractorsHealthOptions, fallback: number): number => {
    const value = options[name];
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > MAX_TIMEOUT) {
      problems.push(
        `option "${name}" must be a positive number of milliseconds, got ${JSON.stringify(value)}`,
      );
      return fallback;
    }
    return value;
  };
  const resolved: ResolvedHealthOptions = {
    routes: healthPath(routes),
    staleness: staleness === true,
    grace: ms('grace', 30_000),
    staleGrace: ms('staleGrace', 60_000),
    pingTimeout: ms('pingTimeout', 1_000),
  };
  if (problems.length) throw new InvalidHealthOptionsError(problems);
  return resolved;
}
