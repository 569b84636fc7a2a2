import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { Module, type INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { Interactor, InteractorsModule, Task, TaskRun } from '../../src/index.js';
import { TaskDispatcher } from '../../src/scheduling/task.dispatcher.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const BURST = 50;

describe('claiming a burst of ticks', () => {
  const prefix = `test:round-trips:${randomBytes(4).toString('hex')}`;
  const redis = new Redis(REDIS_URL);

  afterAll(async () => {
    const keys: string[] = [];
    for await (const batch of redis.scanStream({ match: `${prefix}:*`, count: 1000 }))
      keys.push(...batch);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });

  it.each(['inline', 'queue'] as const)(
    `claims ${BURST} tasks due at one instant in one Redis round trip (run: %s)`,
    async (run) => {
      const ran: Array<{ task: string; dueAt: number | undefined }> = [];
      const tasks = Array.from({ length: BURST }, (_, i) => {
        @Task({ name: `Burst${i}`, cron: '0 * * * * *', run })
        class BurstTask extends Interactor {
          call(): void {
            const { task, dueAt } = TaskRun.current()!;
            ran.push({ task, dueAt });
          }
        }
        return BurstTask;
      });
      @Module({ providers: tasks })
      class BurstModule {}

      const start = Date.UTC(2030, 0, 1, 0, 0, 30);
      let now = start;
      const modulePrefix = `${prefix}:${run}`;
      const moduleRef = await Test.createTestingModule({
        imports: [
          // No run history: its batched writes share the connection watched here.
          InteractorsModule.forRoot({
            redis: REDIS_URL,
            prefix: modulePrefix,
            clock: { now: () => now },
            history: false,
          }),
          BurstModule,
        ],
      }).compile();
      const app: INestApplicationContext = await moduleRef.init();
      const monitor = await monitorRedis(REDIS_URL);
      try {
        // The module's own client is named after its prefix.
        const clients = await redis.client('LIST');
        const address = String(clients)
          .split('\n')
          .find((line) => line.includes(`name=${modulePrefix}:module`))
          ?.match(/ addr=(\S+)/)?.[1];
        expect(address).toBeDefined();
        const commands: string[] = [];
        // The batched writes of the runs' last successes and of the tasks' first-seen instants
        // (for the staleness check) share the connection too, off the claim path, even with
        // history: false; they are not claims.
        const facts = /:(last-success|watched-since)" /;
        monitor.onCommand = (source, command, line) =>
          source === address && !facts.test(line) && commands.push(command);

        const dispatcher = app.get(TaskDispatcher);
        for (const minute of [1, 2]) {
          commands.length = 0;
          now = Date.UTC(2030, 0, 1, 0, minute, 0);
          await dispatcher.wake();
          await expect
            .poll(() => ran.filter((r) => r.dueAt === now).length, { timeout: 10_000 })
            .toBe(BURST);
          // MONITOR lines arrive asynchronously; give stragglers a moment before counting.
          await new Promise((resolve) => setTimeout(resolve, 200));
          expect(commands).toEqual(['eval']);
        }
        expect(new Set(ran.map((r) => r.task)).size).toBe(BURST);
      } finally {
        monitor.close();
        await app.close();
      }
    },
    30_000,
  );
});

/**
 * MONITOR over a raw socket: ioredis's monitor mode trips over output that arrives
 * while it still awaits the MONITOR reply ("Command queue state error").
 */
async function monitorRedis(url: string) {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port || 6379), hostname);
  const handle = {
    onCommand: (_source: string, _command: string, _line: string): unknown => undefined,
    close: () => socket.destroy(),
  };
  let buffer = '';
  socket.on('data', (chunk) => {
    buffer += chunk.toString();
    const lines = buffer.split('\r\n');
    buffer = lines.pop()!;
    for (const line of lines) {
      const match = /^\+\d+\.\d+ \[\d+ ([^\]]+)\] "([^"]+)"/.exec(line);
      if (match) handle.onCommand(match[1]!, match[2]!.toLowerCase(), line);
    }
  });
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  socket.write('MONITOR\r\n');
  await new Promise<void>((resolve) => socket.once('data', () => resolve()));
  return handle;
}
