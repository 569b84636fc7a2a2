import { Injectable, Module, type DynamicModule, type Type } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import {
  Interactor,
  Interactors,
  InteractorsModule,
  Task,
  TaskRun,
  type InteractorsModuleOptions,
} from 'nestjs-interactors';
import { InteractorsTestKit } from 'nestjs-interactors/testing';
import { CapturingLogger } from '../src/helpers.js';

/** What the tasks did, for assertions. */
@Injectable()
export class Outbox {
  readonly sent: string[] = [];
  readonly ticks: number[] = [];
  /** Attempts of Flaky so far. */
  flakyAttempts = 0;
}

/** Sends one email; an address starting with "fail" always fails. */
@Task({ queue: 'mail', attempts: 2 })
export class SendEmail extends Interactor {
  constructor(private readonly outbox: Outbox) {
    super();
  }

  call(to: string): string {
    if (to.startsWith('fail')) throw new Error(`cannot send to ${to}`);
    this.outbox.sent.push(to);
    return `sent to ${to}`;
  }
}

/** Fails its first two attempts, then succeeds. */
@Task({ attempts: 3 })
export class Flaky extends Interactor {
  constructor(private readonly outbox: Outbox) {
    super();
  }

  call(): number {
    if (++this.outbox.flakyAttempts < 3) throw new Error('not yet');
    return this.outbox.flakyAttempts;
  }
}

/** Hourly, run in the scheduler process. */
@Task({ cron: '0 * * * *', run: 'inline' })
export class HourlyInline extends Interactor {
  constructor(private readonly outbox: Outbox) {
    super();
  }

  call(): void {
    this.outbox.ticks.push(TaskRun.current()!.dueAt!);
  }
}

/** Every second, inline: would run within a second if anything fired by itself. */
@Task({ cron: '* * * * * *', run: 'inline' })
export class EverySecond extends Interactor {
  constructor(private readonly outbox: Outbox) {
    super();
  }

  call(): void {
    this.outbox.ticks.push(TaskRun.current()!.dueAt!);
  }
}

/** Every 15 minutes, through the mail queue. */
@Task({ cron: '*/15 * * * *', queue: 'mail' })
export class QuarterHourly extends Interactor {
  constructor(private readonly outbox: Outbox) {
    super();
  }

  call(): string {
    this.outbox.sent.push('digest');
    return 'digest';
  }
}

/** Onboards a user: enqueues the welcome email from inside a run. */
@Task()
export class Onboard extends Interactor {
  constructor(private readonly interactors: Interactors) {
    super();
  }

  async call(email: string): Promise<string> {
    return this.interactors.enqueue(SendEmail, email);
  }
}

/** Never scheduled: runs only when called or enqueued. */
@Task()
export class OnDemand extends Interactor {
  call(): string {
    return 'on demand';
  }
}

/** Enqueues the welcome email, as app code would. */
@Injectable()
export class Signups {
  constructor(private readonly interactors: Interactors) {}

  async signUp(email: string): Promise<string> {
    return this.interactors.enqueue(SendEmail, email);
  }
}

export const TASKS = [
  SendEmail,
  Flaky,
  HourlyInline,
  EverySecond,
  QuarterHourly,
  Onboard,
  OnDemand,
];

/**
 * A user's app, three modules deep: AppModule → AccountsModule → CoreModule, which
 * imports InteractorsModule; the tasks live in AccountsModule.
 */
export function userApp(interactors: DynamicModule, tasks: Type[] = TASKS): Type {
  @Module({ imports: [interactors], providers: [Outbox], exports: [Outbox] })
  class CoreModule {}

  @Module({ imports: [CoreModule], providers: [...tasks, Signups] })
  class AccountsModule {}

  @Module({ imports: [AccountsModule] })
  class AppModule {}

  return AppModule;
}

/** The module options most tests use: an unreachable Redis that must never be contacted. */
export const UNREACHABLE: InteractorsModuleOptions = {
  redis: 'redis://127.0.0.1:1',
  metrics: false,
};

/** Compiles and initialises the app under a kit; the caller closes it. */
export async function boot(
  kit: InteractorsTestKit,
  app: Type,
  logger = new CapturingLogger(),
): Promise<TestingModule> {
  const moduleRef = await kit
    .override(Test.createTestingModule({ imports: [app] }).setLogger(logger))
    .compile();
  return moduleRef.init();
}

export function forRoot(options: InteractorsModuleOptions = UNREACHABLE): DynamicModule {
  return InteractorsModule.forRoot({ ...options, queues: ['mail'] });
}
