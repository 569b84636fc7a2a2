/**
 * Shutdown past the grace frees the locks of abandoned task runs only: a lock held through
 * `InteractorsLocks.withLock` by code of the app's own is its holder's to release.
 */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { InteractorsLocks, InteractorsModule } from '../../src/index.js';
import {
  Apps,
  CapturingLogger,
  REDIS_URL,
  deleteKeys,
  isolateEnv,
  sleep,
  uniquePrefix,
} from '../src/helpers.js';

const prefix = uniquePrefix('release-abandoned');
const client = new Redis(REDIS_URL);
afterAll(async () => {
  await deleteKeys(prefix);
  client.disconnect();
});

describe('releaseAll at shutdown', () => {
  isolateEnv();
  const apps = new Apps();
  it('leaves a lock held by non-task code (withLock) alone', async () => {
    const logger = new CapturingLogger();
    const app = await apps.boot(
      {
        imports: [
          InteractorsModule.forRoot({
            redis: REDIS_URL,
            prefix,
            shutdownGrace: 200,
            roles: ['worker'],
          }),
        ],
      },
      logger,
    );
    const locks = app.get(InteractorsLocks);
    let abortedDuring: boolean | undefined;
    let keyDuring: string | null = 'unset';
    const held = locks.withLock('user-report', async (signal) => {
      await sleep(1_500);
      abortedDuring = signal.aborted;
      keyDuring = await client.get(`${prefix}:lock:user-report`);
    });
    await sleep(100);
    expect(await client.get(`${prefix}:lock:user-report`)).not.toBeNull();
    await app.close();
    await held;
    expect(keyDuring).not.toBeNull();
    expect(abortedDuring).toBe(false);
    expect(JSON.stringify(logger)).not.toMatch(/Released \d+ lock/);
  });
});
