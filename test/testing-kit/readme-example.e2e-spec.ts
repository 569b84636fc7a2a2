// accounts.spec.ts: the app's pieces are inline to keep the example whole.
import { Injectable, Module } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { Interactor, Interactors, InteractorsModule, Task } from 'nestjs-interactors';
import { InteractorsTestKit } from 'nestjs-interactors/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest'; // or Jest's globals

// ---- the app ----

@Injectable()
export class Mailer {
  readonly sent: string[] = [];

  async send(to: string, subject: string): Promise<void> {
    this.sent.push(`${to}: ${subject}`);
  }
}

@Task({ queue: 'mail', attempts: 3 })
export class SendWelcome extends Interactor {
  constructor(private readonly mailer: Mailer) {
    super();
  }

  async call(email: string): Promise<void> {
    await this.mailer.send(email, 'Welcome!');
  }
}

@Task({ cron: '0 9 * * 1-5', timeZone: 'Europe/Berlin', run: 'inline' })
export class SendDigest extends Interactor {
  constructor(private readonly mailer: Mailer) {
    super();
  }

  async call(): Promise<void> {
    await this.mailer.send('team@example.com', 'Daily digest');
  }
}

@Injectable()
export class Signups {
  constructor(private readonly interactors: Interactors) {}

  async signUp(email: string): Promise<void> {
    await this.interactors.enqueue(SendWelcome, email);
  }
}

@Module({ providers: [Mailer, SendWelcome, SendDigest, Signups] })
export class AccountsModule {}

@Module({
  imports: [
    InteractorsModule.forRoot({ redis: process.env.REDIS_URL, queues: ['mail'] }),
    AccountsModule,
  ],
})
export class AppModule {}

// ---- the test: no Redis, no waiting for the clock ----

describe('accounts', () => {
  let kit: InteractorsTestKit;
  let app: TestingModule;

  beforeEach(async () => {
    kit = new InteractorsTestKit({ mode: 'fake' });
    app = await kit.override(Test.createTestingModule({ imports: [AppModule] })).compile();
    await app.init();
  });

  afterEach(() => app.close());

  it('signing up enqueues the welcome email; draining the queue sends it', async () => {
    await app.get(Signups).signUp('ann@example.com');

    expect(kit.jobs(SendWelcome)).toMatchObject([
      { queue: 'mail', args: ['ann@example.com'], state: 'pending' },
    ]);
    expect(app.get(Mailer).sent).toEqual([]);

    await kit.drain();
    expect(app.get(Mailer).sent).toEqual(['ann@example.com: Welcome!']);
    expect(kit.runs(SendWelcome).map((run) => run.outcome)).toEqual(['success']);
  });

  it('the digest goes out at 09:00 Berlin time on weekdays, across the DST change', () => {
    const from = new Date('2026-03-27T00:00:00Z');
    expect(kit.nextRuns(SendDigest, { from, count: 3 })).toEqual([
      new Date('2026-03-27T08:00:00Z'), // Friday, 09:00 CET
      new Date('2026-03-30T07:00:00Z'), // Monday, 09:00 CEST: clocks went forward on Sunday
      new Date('2026-03-31T07:00:00Z'),
    ]);
  });

  it('a tick of the digest runs it through the whole pipeline', async () => {
    const tick = await kit.tick(SendDigest, new Date('2026-03-30T07:00:00Z'));

    expect(tick.run?.outcome).toBe('success');
    expect(app.get(Mailer).sent).toEqual(['team@example.com: Daily digest']);
  });
});
