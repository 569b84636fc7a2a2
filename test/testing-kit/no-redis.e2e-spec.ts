/**
 * Under the kit no Redis connection is opened, whatever the user's options say and however
 * deep InteractorsModule is imported: not the module's own client, not BullMQ's, not the
 * queues registered under getQueueToken, not through an app's BullModule.forRoot. Proven
 * with a TCP server that counts every connection made to it (and, as a control, sees
 * them when the kit is not used), and with an unreachable URL that would fail the boot.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { Injectable, Module } from '@nestjs/common';
import { BullModule, getQueueToken } from '@nestjs/bullmq';
import type { TestingModule } from '@nestjs/testing';
import {
  Interactors,
  InteractorsModule,
  RedisConnectionError,
  type InteractorsModuleOptions,
} from 'nestjs-interactors';
import { InteractorsTestKit } from 'nestjs-interactors/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CapturingLogger, bootFailure, isolateEnv, sleep } from '../src/helpers.js';
import { Outbox, SendEmail, Signups, UNREACHABLE, boot, forRoot, userApp } from './fixtures.js';

isolateEnv();

/** A TCP server that accepts and counts connections, and never answers. */
class CountingServer {
  connections = 0;
  private readonly sockets = new Set<Socket>();
  private readonly server: Server = createServer((socket) => {
    this.connections++;
    this.sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => this.sockets.delete(socket));
  });

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `redis://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const counting = new CountingServer();
let url = '';
beforeAll(async () => {
  url = await counting.listen();
});
afterAll(() => counting.close());

let open: TestingModule[] = [];
afterEach(async () => {
  await Promise.all(open.map((moduleRef) => moduleRef.close()));
  open = [];
});

async function start(kit: InteractorsTestKit, app = userApp(forRoot()), logger?: CapturingLogger) {
  const moduleRef = await boot(kit, app, logger);
  open.push(moduleRef);
  return moduleRef;
}

/** An async config source, as ConfigService would be. */
@Injectable()
class Settings {
  get(key: string): string | undefined {
    return { REDIS_URL: url, NODE_ENV: 'test' }[key];
  }
}
@Module({ providers: [Settings], exports: [Settings] })
class SettingsModule {}

describe('an unreachable Redis in the options (redis://127.0.0.1:1)', () => {
  it('boots at once, with no error and no connection warning, and the kit works', async () => {
    const logger = new CapturingLogger();
    const kit = new InteractorsTestKit({ mode: 'inline' });
    const started = Date.now();
    const app = await start(kit, userApp(forRoot(UNREACHABLE)), logger);
    const took = Date.now() - started;

    expect(took).toBeLessThan(2_000); // the connect timeout alone would be 10 s
    await app.get(Signups).signUp('ann@example.com');
    expect(app.get(Outbox).sent).toEqual(['ann@example.com']);
    expect(kit.jobs(SendEmail)).toMatchObject([{ state: 'completed' }]);
    expect(logger.lines.filter((line) => /redis|ECONNREFUSED|connect/i.test(line))).toEqual([]);
  });

  it('(control: without the kit the same app fails to boot, naming the unreachable Redis)', async () => {
    const failure = await bootFailure({
      imports: [userApp(forRoot({ ...UNREACHABLE, connectTimeout: 300 }))],
    });
    expect(failure.error).toBeInstanceOf(RedisConnectionError);
    expect(failure.error.message).toContain('127.0.0.1:1');
  });

  it('the queues under getQueueToken are null, as on the in-memory transport', async () => {
    const app = await start(new InteractorsTestKit());
    expect(app.get(getQueueToken('mail'), { strict: false })).toBeNull();
    expect(app.get(getQueueToken('default'), { strict: false })).toBeNull();
  });

  it("does not refuse environment 'production' for want of Redis: the kit never uses it", async () => {
    const kit = new InteractorsTestKit();
    const app = await start(
      kit,
      userApp(
        InteractorsModule.forRoot({ environment: 'production', metrics: false, queues: ['mail'] }),
      ),
    );
    await app.get(Interactors).enqueue(SendEmail, 'prod@example.com');
    expect(kit.jobs()).toHaveLength(1);
  });

  it('still rejects invalid options, with the module’s own message', async () => {
    const kit = new InteractorsTestKit();
    await expect(
      start(
        kit,
        userApp(forRoot({ ...UNREACHABLE, shutdownGrace: -1 } as InteractorsModuleOptions)),
      ),
    ).rejects.toThrow('option "shutdownGrace" must be a positive number of milliseconds');
  });
});

describe('a Redis that accepts connections and counts them', () => {
  it('sees none from forRoot imported two modules deep, nor from its BullMQ queues', async () => {
    const before = counting.connections;
    const kit = new InteractorsTestKit({ mode: 'fake' });
    const app = await start(kit, userApp(forRoot({ redis: url, metrics: false })));
    await app.get(Interactors).enqueueTo('mail', SendEmail, 'bo@example.com');
    await kit.drain();
    await app.close();
    open = [];
    await sleep(100);
    expect(counting.connections - before).toBe(0);
    expect(kit.runs()).toMatchObject([{ task: 'SendEmail', outcome: 'success' }]);
  });

  it('sees none from forRootAsync reading its URL from a config provider', async () => {
    const before = counting.connections;
    const kit = new InteractorsTestKit({ mode: 'inline' });
    const interactors = InteractorsModule.forRootAsync({
      imports: [SettingsModule],
      inject: [Settings],
      useFactory: (settings: Settings) => ({
        redis: settings.get('REDIS_URL'),
        environment: settings.get('NODE_ENV'),
        metrics: false,
      }),
      queues: ['mail'],
    });
    const app = await start(kit, userApp(interactors));
    await app.get(Signups).signUp('async@example.com');
    expect(app.get(Outbox).sent).toEqual(['async@example.com']);
    await app.close();
    open = [];
    await sleep(100);
    expect(counting.connections - before).toBe(0);
  });

  it("sees none through the app's own BullModule.forRoot connection", async () => {
    const before = counting.connections;
    const port = Number(new URL(url).port);
    @Module({
      imports: [
        BullModule.forRoot({ connection: { host: '127.0.0.1', port } }),
        userApp(InteractorsModule.forRoot({ metrics: false, queues: ['mail'] })),
      ],
    })
    class AppWithBull {}
    const kit = new InteractorsTestKit();
    const app = await start(kit, AppWithBull);
    await app.get(Interactors).enqueue(SendEmail, 'bull@example.com');
    expect(app.get(getQueueToken('mail'), { strict: false })).toBeNull();
    await app.close();
    open = [];
    await sleep(100);
    expect(counting.connections - before).toBe(0);
  });

  it("(control: without the kit the module connects to it through the app's BullModule.forRoot)", async () => {
    const before = counting.connections;
    const port = Number(new URL(url).port);
    const failure = await bootFailure({
      imports: [
        BullModule.forRoot({ connection: { host: '127.0.0.1', port } }),
        userApp(
          InteractorsModule.forRoot({ metrics: false, queues: ['mail'], connectTimeout: 300 }),
        ),
      ],
    });
    expect(failure.error).toBeInstanceOf(RedisConnectionError);
    expect(counting.connections - before).toBeGreaterThan(0);
  });

  it('(control: without the kit the module connects to it)', async () => {
    const before = counting.connections;
    const failure = await bootFailure({
      imports: [userApp(forRoot({ redis: url, metrics: false, connectTimeout: 300 }))],
    });
    expect(failure.error).toBeInstanceOf(RedisConnectionError);
    expect(counting.connections - before).toBeGreaterThan(0);
  });
});

describe('open handles', () => {
  it('leaves no socket and no timer of its own once the testing module is closed', async () => {
    const active = () => process.getActiveResourcesInfo().filter((kind) => kind !== 'PipeWrap');
    await sleep(50);
    const before = active();
    const kit = new InteractorsTestKit({ mode: 'inline' });
    const app = await start(kit, userApp(forRoot(UNREACHABLE)));
    await app.get(Signups).signUp('handles@example.com');
    await kit.tick('HourlyInline', Date.parse('2026-01-01T10:00:00Z'));
    await app.close();
    open = [];
    await sleep(50);
    expect(active().filter((kind) => kind === 'TCPSocketWrap' || kind === 'TCPServerWrap')).toEqual(
      before.filter((kind) => kind === 'TCPSocketWrap' || kind === 'TCPServerWrap'),
    );
    expect(active().filter((kind) => kind === 'Timeout').length).toBeLessThanOrEqual(
      before.filter((kind) => kind === 'Timeout').length,
    );
  });
});
