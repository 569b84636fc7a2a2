/**
 * The testing kit in both modes, through a user's app that imports InteractorsModule
 * two modules deep with an unreachable Redis: jobs recorded per task and queue with their
 * arguments, `drain()`, inline runs, retries, `tick()` through the real tick path,
 * `clear()`, and the runs' outcomes.
 */
import { Test, type TestingModule } from '@nestjs/testing';
import { Interactors } from 'nestjs-interactors';
import { InteractorsTestKit } from 'nestjs-interactors/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { CapturingLogger, ManualClock, isolateEnv, sleep } from '../src/helpers.js';
import {
  Flaky,
  HourlyInline,
  OnDemand,
  Onboard,
  Outbox,
  QuarterHourly,
  SendEmail,
  Signups,
  UNREACHABLE,
  boot,
  forRoot,
  userApp,
} from './fixtures.js';

isolateEnv();
let open: TestingModule[] = [];
afterEach(async () => {
  await Promise.all(open.map((moduleRef) => moduleRef.close()));
  open = [];
});

async function start(kit: InteractorsTestKit, options = UNREACHABLE): Promise<TestingModule> {
  const moduleRef = await boot(kit, userApp(forRoot(options)));
  open.push(moduleRef);
  return moduleRef;
}

const at = (iso: string) => Date.parse(iso);

describe('fake mode', () => {
  it('records enqueues per task and queue with their arguments, and runs nothing', async () => {
    const kit = new InteractorsTestKit({ mode: 'fake' });
    const app = await start(kit);
    const interactors = app.get(Interactors);

    await app.get(Signups).signUp('ann@example.com');
    await interactors.enqueueTo('default', SendEmail, 'bob@example.com');
    await interactors.with({ delay: 60_000, priority: 2 }).enqueue(SendEmail, 'cy@example.com');
    await interactors.enqueue(OnDemand);

    expect(app.get(Outbox).sent).toEqual([]);
    expect(kit.jobs(SendEmail).map(({ queue, args, state }) => ({ queue, args, state }))).toEqual([
      { queue: 'mail', args: ['ann@example.com'], state: 'pending' },
      { queue: 'default', args: ['bob@example.com'], state: 'pending' },
      { queue: 'mail', args: ['cy@example.com'], state: 'pending' },
    ]);
    expect(kit.jobs({ queue: 'mail' }).map((job) => job.args)).toEqual([
      ['ann@example.com'],
      ['cy@example.com'],
    ]);
    expect(kit.jobs({ task: 'SendEmail', queue: 'default' })).toHaveLength(1);
    expect(kit.jobs({ task: OnDemand })).toMatchObject([{ queue: 'default', args: [] }]);
    expect(kit.jobs(SendEmail)[2]).toMatchObject({ delay: 60_000, priority: 2 });
    // Ids as the queues number them: per queue, in order.
    expect(kit.jobs().map((job) => `${job.queue}/${job.id}`)).toEqual([
      'mail/1',
      'default/1',
      'mail/2',
      'default/2',
    ]);
    expect(kit.runs()).toEqual([]);
  });

  it('records arguments as a worker receives them (Dates as ISO strings), and checks them as enqueue does', async () => {
    const kit = new InteractorsTestKit();
    const app = await start(kit);
    const interactors = app.get(Interactors);
    await interactors.enqueue('SendEmail', { when: new Date('2026-05-01T10:00:00Z') } as never);
    expect(kit.jobs(SendEmail)[0]!.args).toEqual([{ when: '2026-05-01T10:00:00.000Z' }]);
    await expect(interactors.enqueue('SendEmail', new Map() as never)).rejects.toThrow(/args\[0\]/);
    // Copies: changing what the kit returned changes nothing it holds.
    kit.jobs(SendEmail)[0]!.args.push('extra');
    expect(kit.jobs(SendEmail)[0]!.args).toHaveLength(1);
  });

  it('an existing jobId is not added twice', async () => {
    const kit = new InteractorsTestKit();
    const app = await start(kit);
    const enqueuer = app.get(Interactors).with({ jobId: 'welcome-ann' });
    expect(await enqueuer.enqueue(SendEmail, 'ann@example.com')).toBe('welcome-ann');
    expect(await enqueuer.enqueue(SendEmail, 'ann@example.com')).toBe('welcome-ann');
    expect(kit.jobs()).toHaveLength(1);
  });

  it('drain() runs what is pending in order, jobs enqueued meanwhile included, and tells how each run ended', async () => {
    const kit = new InteractorsTestKit({ mode: 'fake' });
    const app = await start(kit);
    const interactors = app.get(Interactors);
    await interactors.enqueue(SendEmail, 'ann@example.com');
    await interactors.enqueue(SendEmail, 'fail@example.com');
    await interactors.enqueue(Onboard, 'dan@example.com');

    const runs = await kit.drain();

    expect(app.get(Outbox).sent).toEqual(['ann@example.com', 'dan@example.com']);
    expect(runs.map(({ task, outcome, attempt }) => [task, outcome, attempt])).toEqual([
      ['SendEmail', 'success', 1],
      ['SendEmail', 'failure', 1],
      ['SendEmail', 'failure', 2], // attempts: 2, retried at once: no backoff is waited for
      ['Onboard', 'success', 1],
      ['SendEmail', 'success', 1], // enqueued by Onboard's run, drained in the same call
    ]);
    expect(runs.every((run) => run.trigger === 'queue')).toBe(true);
    const failed = kit.jobs({ state: 'failed' });
    expect(failed).toMatchObject([
      {
        task: 'SendEmail',
        args: ['fail@example.com'],
        failedReason: 'cannot send to fail@example.com',
      },
    ]);
    expect(failed[0]!.runs.map((run) => run.attempt)).toEqual([1, 2]);
    expect(kit.jobs({ state: 'completed' })).toHaveLength(3);
    expect(kit.jobs({ state: 'pending' })).toEqual([]);
    expect(await kit.drain()).toEqual([]);
  });

  it('drain(Task) works only that task; drain({ queue }) only that queue', async () => {
    const kit = new InteractorsTestKit();
    const app = await start(kit);
    const interactors = app.get(Interactors);
    await interactors.enqueue(SendEmail, 'ann@example.com');
    await interactors.enqueue(OnDemand);
    await interactors.enqueueTo('mail', OnDemand);

    expect((await kit.drain(OnDemand)).map((run) => run.task)).toEqual(['OnDemand', 'OnDemand']);
    expect(kit.jobs({ state: 'pending' }).map((job) => job.task)).toEqual(['SendEmail']);
    await interactors.enqueue(OnDemand);
    expect((await kit.drain({ queue: 'mail' })).map((run) => run.task)).toEqual(['SendEmail']);
    expect(kit.jobs({ state: 'pending' }).map((job) => job.task)).toEqual(['OnDemand']);
  });

  it('runs() has every run, calls included, by task, outcome and trigger; clear() forgets jobs, runs and claims', async () => {
    const kit = new InteractorsTestKit();
    const app = await start(kit);
    const interactors = app.get(Interactors);
    await interactors.run(SendEmail, 'fail@example.com');
    await interactors.run(OnDemand);
    await interactors.enqueue(OnDemand);
    await kit.drain();
    await kit.tick(HourlyInline, at('2026-01-01T10:00:00Z'));

    expect(kit.runs().map((run) => `${run.task}/${run.trigger}/${run.outcome}`)).toEqual([
      'SendEmail/call/failure',
      'OnDemand/call/success',
      'OnDemand/queue/success',
      'HourlyInline/cron/success',
    ]);
    expect(kit.runs({ outcome: 'failure' })[0]!.error).toBeInstanceOf(Error);
    expect(kit.runs({ task: OnDemand, trigger: 'queue' })).toMatchObject([{ value: 'on demand' }]);
    expect(kit.runs(OnDemand)).toHaveLength(2);

    kit.clear();
    expect(kit.jobs()).toEqual([]);
    expect(kit.runs()).toEqual([]);
    // The claim was forgotten too: the same tick fires again.
    expect(await kit.tick(HourlyInline, at('2026-01-01T10:00:00Z'))).toMatchObject({ fired: true });
  });
});

describe('inline mode', () => {
  it('an enqueue runs the job at once through the worker path and resolves after it ran', async () => {
    const kit = new InteractorsTestKit({ mode: 'inline' });
    const app = await start(kit);

    const id = await app.get(Signups).signUp('ann@example.com');

    expect(app.get(Outbox).sent).toEqual(['ann@example.com']);
    expect(kit.jobs(SendEmail)).toMatchObject([
      { id, queue: 'mail', args: ['ann@example.com'], state: 'completed' },
    ]);
    expect(kit.jobs(SendEmail)[0]!.runs).toMatchObject([
      {
        task: 'SendEmail',
        trigger: 'queue',
        attempt: 1,
        outcome: 'success',
        value: 'sent to ann@example.com',
      },
    ]);
  });

  it('retries a failed attempt at once while attempts remain; delays are not waited for', async () => {
    const kit = new InteractorsTestKit({ mode: 'inline' });
    const app = await start(kit);
    const interactors = app.get(Interactors);

    await interactors.enqueue(Flaky);
    expect(kit.runs(Flaky).map((run) => [run.attempt, run.outcome])).toEqual([
      [1, 'failure'],
      [2, 'failure'],
      [3, 'success'],
    ]);
    expect(kit.jobs(Flaky)[0]!.state).toBe('completed');

    const started = Date.now();
    await interactors.with({ delay: 3_600_000 }).enqueue(SendEmail, 'later@example.com');
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(kit.jobs(SendEmail)).toMatchObject([{ delay: 3_600_000, state: 'completed' }]);
  });

  it('a job enqueued from inside a run runs too, before the outer enqueue resolves', async () => {
    const kit = new InteractorsTestKit({ mode: 'inline' });
    const app = await start(kit);
    await app.get(Interactors).enqueue(Onboard, 'eve@example.com');
    expect(app.get(Outbox).sent).toEqual(['eve@example.com']);
    expect(kit.runs().map((run) => run.task)).toEqual(['SendEmail', 'Onboard']);
  });
});

describe('tick()', () => {
  it('fires an inline task through the claim and the pipeline at a given instant, once per tick', async () => {
    const kit = new InteractorsTestKit();
    const app = await start(kit);
    const ten = at('2026-01-01T10:00:00Z');

    const tick = await kit.tick(HourlyInline, new Date(ten));

    expect(tick).toMatchObject({ task: 'HourlyInline', dueAt: ten, fired: true });
    expect(tick.run).toMatchObject({ trigger: 'cron', dueAt: ten, outcome: 'success' });
    expect(app.get(Outbox).ticks).toEqual([ten]);
    // Each tick is claimed at most once, and never one before the last claimed.
    expect(await kit.tick(HourlyInline, ten)).toMatchObject({
      fired: false,
      reason: 'already_claimed',
    });
    expect(await kit.tick(HourlyInline, ten - 3_600_000)).toMatchObject({
      fired: false,
      reason: 'already_claimed',
    });
    expect(app.get(Outbox).ticks).toEqual([ten]);
    expect(await app.get(Interactors).times(HourlyInline)).toMatchObject({ lastDueAt: ten });
  });

  it('without an instant, walks the schedule from the module clock', async () => {
    const kit = new InteractorsTestKit();
    const clock = new ManualClock(at('2026-01-01T10:07:00Z'));
    await start(kit, { ...UNREACHABLE, clock });
    expect((await kit.tick(HourlyInline)).dueAt).toBe(at('2026-01-01T11:00:00Z'));
    expect((await kit.tick(HourlyInline)).dueAt).toBe(at('2026-01-01T12:00:00Z'));
    clock.set(at('2026-01-02T00:30:00Z'));
    expect((await kit.tick(HourlyInline)).dueAt).toBe(at('2026-01-02T01:00:00Z'));
  });

  it('a queue task enqueues its tick as <Task>-<instant>; the job follows the kit mode (fake)', async () => {
    const kit = new InteractorsTestKit({ mode: 'fake' });
    const app = await start(kit);
    const first = at('2026-01-01T10:00:00Z');

    const tick = await kit.tick(QuarterHourly, first);

    expect(tick).toMatchObject({ fired: true, run: undefined });
    expect(tick.job).toMatchObject({
      id: `QuarterHourly-${first}`,
      queue: 'mail',
      dueAt: first,
      state: 'pending',
    });
    // overlap: 'skip': no tick is enqueued while a job of an earlier tick is unfinished
    expect(await kit.tick(QuarterHourly, first + 900_000)).toMatchObject({
      fired: false,
      reason: 'overlap',
    });
    expect(await kit.drain()).toMatchObject([
      { trigger: 'queue', dueAt: first, outcome: 'success' },
    ]);
    expect(app.get(Outbox).sent).toEqual(['digest']);
    expect(await kit.tick(QuarterHourly, first + 1_800_000)).toMatchObject({ fired: true });
  });

  it('a queue task in inline mode: the tick is enqueued and run before tick() resolves', async () => {
    const kit = new InteractorsTestKit({ mode: 'inline' });
    const app = await start(kit);
    const first = at('2026-01-01T10:15:00Z');
    const tick = await kit.tick('QuarterHourly', first);
    expect(tick.job).toMatchObject({ id: `QuarterHourly-${first}`, state: 'completed' });
    expect(tick.run).toMatchObject({
      trigger: 'queue',
      dueAt: first,
      outcome: 'success',
      value: 'digest',
    });
    expect(app.get(Outbox).sent).toEqual(['digest']);
  });

  it('does not fire a task disabled by the schedules option', async () => {
    const kit = new InteractorsTestKit();
    const app = await start(kit, {
      ...UNREACHABLE,
      schedules: { HourlyInline: { enabled: false } },
    });
    expect(await kit.tick(HourlyInline, at('2026-01-01T10:00:00Z'))).toMatchObject({
      fired: false,
      reason: 'disabled',
    });
    expect(app.get(Outbox).ticks).toEqual([]);
  });

  it('refuses an instant that is not due, and a task without a schedule, saying why', async () => {
    const kit = new InteractorsTestKit();
    await start(kit);
    await expect(kit.tick(HourlyInline, at('2026-01-01T10:01:00Z'))).rejects.toThrow(
      'InteractorsTestKit.tick(HourlyInline, at): 2026-01-01T10:01:00.000Z is not a due instant of cron "0 * * * *" (UTC); the next one is 2026-01-01T11:00:00.000Z',
    );
    await expect(kit.tick(OnDemand)).rejects.toThrow(
      'task "OnDemand" has no schedule (no "cron" or "every"), so it has no ticks',
    );
    await expect(kit.tick(HourlyInline, new Date('nope'))).rejects.toThrow(
      'InteractorsTestKit.tick(HourlyInline, at) must be a valid Date or epoch milliseconds',
    );
  });
});

describe('no timers', () => {
  it('nothing fires by itself: an every-second task stays still while the clock runs', async () => {
    const kit = new InteractorsTestKit({ mode: 'inline' });
    const app = await start(kit);
    await sleep(1_500);
    expect(kit.runs()).toEqual([]);
    expect(app.get(Outbox).ticks).toEqual([]);
  });

  it('(control: without the kit, the same app in memory fires it within the same time)', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [userApp(forRoot({ metrics: false }))],
    })
      .setLogger(new CapturingLogger())
      .compile();
    open.push(moduleRef);
    await moduleRef.init();
    await sleep(1_500);
    expect(moduleRef.get(Outbox).ticks.length).toBeGreaterThan(0);
  });
});

describe('binding and bad input', () => {
  it('names the fix when the kit serves no module, or the module is not initialised', async () => {
    const kit = new InteractorsTestKit();
    expect(() => kit.jobs()).toThrow(
      'InteractorsTestKit.jobs(): the kit serves no testing module; pass the builder through kit.override(',
    );
    const moduleRef = await kit
      .override(Test.createTestingModule({ imports: [userApp(forRoot())] }))
      .compile();
    open.push(moduleRef);
    expect(() => kit.nextRuns(HourlyInline)).toThrow(
      'task "HourlyInline" is not registered, and no task is: the testing module is not initialised yet; await moduleRef.init()',
    );
  });

  it('one kit serves one open testing module; once closed it can serve the next', async () => {
    const kit = new InteractorsTestKit();
    const first = await start(kit);
    await expect(start(kit)).rejects.toThrow(
      'this kit already serves a testing module that is not closed',
    );
    await first.close();
    open = open.filter((moduleRef) => moduleRef !== first);
    await expect(kit.drain()).rejects.toThrow('the testing module was closed');
    await start(kit);
    expect(kit.jobs()).toEqual([]);
  });

  it('rejects an unknown mode, filter key, queue, state or task', async () => {
    expect(() => new InteractorsTestKit({ mode: 'sync' as never })).toThrow(
      'InteractorsTestKit: mode "sync" is not known; use "inline"',
    );
    const kit = new InteractorsTestKit();
    await start(kit);
    expect(() => kit.jobs({ tasks: SendEmail } as never)).toThrow(
      'InteractorsTestKit.jobs(): "tasks" is not known; use task, queue, state',
    );
    expect(() => kit.jobs({ queue: 'emails' })).toThrow(
      'InteractorsTestKit.jobs(): queue "emails" is not declared; declared queues: default, mail',
    );
    expect(() => kit.jobs({ state: 'done' as never })).toThrow('state "done" is not known');
    expect(() => kit.runs({ outcome: 'ok' as never })).toThrow('outcome "ok" is not known');
    expect(() => kit.runs('Nope')).toThrow('Task "Nope" is not registered');
    await expect(kit.drain({ state: 'pending' } as never)).rejects.toThrow(
      '"state" is not known; use task, queue',
    );
  });
});
