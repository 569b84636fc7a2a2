import type { Type } from '@nestjs/common';
import { describe, expect, it, vi } from 'vitest';
import {
  InvalidJobOptionsError,
  InvalidTaskArgumentsError,
  UnknownQueueError,
  UnknownTaskError,
} from '../../src/index.js';
import { TaskDispatcher } from '../../src/scheduling/task.dispatcher.js';
import {
  BlockerTask,
  DoomedTask,
  EchoTask,
  FlakyTask,
  GateTask,
  HeavyTask,
  InlineTick,
  OnceFailingTask,
  QueuedTick,
} from './fixtures.js';
import { harness, type TransportKind } from './harness.js';
import { ManualClock, sleep, waitUntil } from './helpers.js';

/** A due instant far from now, so that a test's ticks never meet real ones: 2031-01-01T00:00:01Z. */
const DUE = Date.UTC(2031, 0, 1, 0, 0, 1);
/** Timer slack: a run may start this much before its due time, measured on the same clock. */
const SLACK = 15;

/**
 * What both queue adapters must do alike, as seen by a user through `Interactors` and by
 * the tasks through `TaskRun.current()`. Called once per transport by its spec file.
 */
export function queueContract(kind: TransportKind): void {
  const { boot } = harness(kind, 'contract');

  describe(`queue contract (${kind} transport)`, () => {
    describe('enqueue and enqueueTo', () => {
      it('enqueue runs the task on its own queue with its arguments and resolves to a job id', async () => {
        const { interactors, runs } = await boot();
        const id = await interactors.enqueue(EchoTask, 'gate-7', { n: 1 }, [true, null]);
        expect(typeof id).toBe('string');
        expect(id).not.toBe('');
        await waitUntil(() => runs.of('EchoTask').length === 1, 5_000, 'the run');
        const [run] = runs.of('EchoTask');
        expect(run!.args).toEqual(['gate-7', { n: 1 }, [true, null]]);
        expect(run!.trigger).toBe('queue');
        expect(run!.attempt).toBe(1);
        expect(run!.dueAt).toBeUndefined();
        expect(run!.runId).toMatch(/^[0-9a-f-]{36}$/);
      });

      it('successive enqueues return distinct ids, and each runs once', async () => {
        const { interactors, runs } = await boot();
        const ids = [];
        for (let i = 0; i < 5; i++) ids.push(await interactors.enqueue(EchoTask, i));
        expect(new Set(ids).size).toBe(5);
        await waitUntil(() => runs.of('EchoTask').length === 5, 5_000, 'five runs');
        await sleep(200);
        expect(
          runs
            .of('EchoTask')
            .map((run) => run.args[0])
            .toSorted(),
        ).toEqual([0, 1, 2, 3, 4]);
        expect(new Set(runs.all.map((run) => run.runId)).size).toBe(5);
      });

      it('enqueues by task name as well as by class', async () => {
        const { interactors, runs } = await boot();
        await interactors.enqueue('EchoTask', 'by-name');
        await interactors.enqueueTo('gates', 'GateTask', 'by-name-to');
        await waitUntil(() => runs.all.length === 2, 5_000, 'two runs');
        expect(runs.of('EchoTask')[0]!.args).toEqual(['by-name']);
        expect(runs.of('GateTask')[0]!.args).toEqual(['by-name-to']);
      });

      it('an unknown task is rejected with UnknownTaskError', async () => {
        const { interactors } = await boot();
        await expect(interactors.enqueue('NoSuchTask')).rejects.toThrow(UnknownTaskError);
        await expect(interactors.enqueueTo('gates', 'NoSuchTask')).rejects.toThrow(
          /Task "NoSuchTask" is not registered/,
        );
      });

      it("enqueue goes to the task's queue and enqueueTo to the named one (seen through what a process consumes)", async () => {
        // This process works `gates` only: EchoTask (queue `default`) runs only when sent to `gates`.
        const { interactors, runs } = await boot({ consume: ['gates'] });
        // (BullMQ numbers jobs per queue, so the two ids may be equal.)
        expect(typeof (await interactors.enqueue(EchoTask, 'to-default'))).toBe('string');
        expect(typeof (await interactors.enqueueTo('gates', EchoTask, 'to-gates'))).toBe('string');
        await waitUntil(() => runs.all.length === 1, 5_000, 'the gates run');
        await sleep(400);
        expect(runs.all.map((run) => run.args)).toEqual([['to-gates']]);
      });

      it('enqueueTo an undeclared queue rejects with UnknownQueueError naming the declared queues', async () => {
        const { interactors, runs } = await boot();
        const error = await interactors.enqueueTo('nope', EchoTask).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(UnknownQueueError);
        expect((error as UnknownQueueError).queue).toBe('nope');
        expect((error as Error).message).toContain('Queue "nope" is not declared');
        expect((error as Error).message).toContain('declared queues: default, gates, heavy');
        await expect(interactors.with({ delay: 10 }).enqueueTo('nope', EchoTask)).rejects.toThrow(
          UnknownQueueError,
        );
        await sleep(200);
        expect(runs.all).toEqual([]);
      });
    });

    describe('per-job options', () => {
      it('delay: the job does not run before the delay has passed', async () => {
        const { interactors, runs } = await boot();
        const enqueuedAt = Date.now();
        await interactors.with({ delay: 800 }).enqueue(EchoTask, 'late');
        await sleep(400);
        expect(runs.all).toEqual([]);
        await waitUntil(() => runs.all.length === 1, 5_000, 'the delayed run');
        expect(runs.all[0]!.startedAt - enqueuedAt).toBeGreaterThanOrEqual(800 - SLACK);
      });

      it('runAt (a Date or epoch ms): the job does not run before that instant', async () => {
        const { interactors, runs } = await boot();
        const at = Date.now() + 800;
        await interactors.with({ runAt: new Date(at) }).enqueue(EchoTask, 'date');
        await interactors.with({ runAt: at + 100 }).enqueue(EchoTask, 'epoch');
        await sleep(400);
        expect(runs.all).toEqual([]);
        await waitUntil(() => runs.all.length === 2, 5_000, 'both runs');
        const date = runs.all.find((run) => run.args[0] === 'date')!;
        const epoch = runs.all.find((run) => run.args[0] === 'epoch')!;
        expect(date.startedAt).toBeGreaterThanOrEqual(at - SLACK);
        expect(epoch.startedAt).toBeGreaterThanOrEqual(at + 100 - SLACK);
      });

      it('runAt in the past runs at once', async () => {
        const { interactors, runs } = await boot();
        const enqueuedAt = Date.now();
        await interactors.with({ runAt: enqueuedAt - 60_000 }).enqueue(EchoTask, 'past');
        await waitUntil(() => runs.all.length === 1, 2_000, 'the run');
        expect(runs.all[0]!.startedAt - enqueuedAt).toBeLessThan(1_000);
      });

      it('priority: waiting jobs run unprioritised first, then 1 (highest), 3, 5', async () => {
        const { interactors, runs } = await boot();
        // `default` has concurrency 1: hold its only slot while the others queue up.
        await interactors.enqueue(BlockerTask);
        await waitUntil(() => runs.of('BlockerTask').length === 1, 5_000, 'the blocker to start');
        await interactors.with({ priority: 5 }).enqueue(EchoTask, 'p5');
        await interactors.enqueue(EchoTask, 'none');
        await interactors.with({ priority: 1 }).enqueue(EchoTask, 'p1');
        await interactors.with({ priority: 3 }).enqueue(EchoTask, 'p3');
        await sleep(100);
        runs.blocker.resolve();
        await waitUntil(() => runs.of('EchoTask').length === 4, 5_000, 'four runs');
        expect(runs.of('EchoTask').map((run) => run.args[0])).toEqual(['none', 'p1', 'p3', 'p5']);
      });

      it("jobId: the caller's id is returned, and enqueueing it again adds nothing (one job, one run)", async () => {
        const { interactors, runs } = await boot();
        const first = await interactors.with({ jobId: 'order-42' }).enqueue(EchoTask, 'first');
        const second = await interactors.with({ jobId: 'order-42' }).enqueue(EchoTask, 'second');
        expect(first).toBe('order-42');
        expect(second).toBe('order-42');
        await waitUntil(() => runs.all.length === 1, 5_000, 'the run');
        // Once the job has completed (and is retained), the same id is still a no-op.
        const third = await interactors.with({ jobId: 'order-42' }).enqueue(EchoTask, 'third');
        expect(third).toBe('order-42');
        await sleep(400);
        expect(runs.all.map((run) => run.args)).toEqual([['first']]);
      });

      it('jobId: while the first is still delayed, a second enqueue with the same id does not add a job either', async () => {
        const { interactors, runs } = await boot();
        await interactors.with({ jobId: 'later-1', delay: 300 }).enqueue(EchoTask, 'a');
        await interactors.with({ jobId: 'later-1' }).enqueue(EchoTask, 'b');
        await sleep(200);
        expect(runs.all).toEqual([]);
        await waitUntil(() => runs.all.length === 1, 5_000, 'the run');
        await sleep(300);
        expect(runs.all.map((run) => run.args)).toEqual([['a']]);
      });

      it.each([
        ['with ":"', 'order:42'],
        ['all digits', '12345'],
        ['empty', ''],
      ])('jobId %s is rejected with a clear error and nothing runs', async (_, jobId) => {
        const { interactors, runs } = await boot();
        const error = await interactors
          .with({ jobId })
          .enqueue(EchoTask)
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(InvalidJobOptionsError);
        expect((error as Error).message).toContain('Task "EchoTask"');
        expect((error as Error).message).toContain(
          `job option "jobId" ${JSON.stringify(jobId)} is not valid`,
        );
        expect((error as Error).message).toMatch(/without ":".*not all digits/);
        await sleep(200);
        expect(runs.all).toEqual([]);
      });

      it.each([
        [{ delay: -1 }, /"delay" must be a number of milliseconds ≥ 0, got -1/],
        [{ delay: Number.NaN }, /"delay" must be/],
        [{ runAt: new Date('nope') }, /"runAt" must be a valid Date or epoch milliseconds/],
        [{ runAt: Date.now() + 1_000, delay: 5 }, /give "delay" or "runAt", not both/],
        [{ priority: 0 }, /"priority" must be a whole number from 1 to 2097152, got 0/],
        [{ priority: 1.5 }, /"priority" must be a whole number/],
      ])(
        'invalid job options %o are rejected before anything is enqueued',
        async (options, message) => {
          const { interactors, runs } = await boot();
          const error = await interactors
            .with(options)
            .enqueue(EchoTask)
            .catch((e: unknown) => e);
          expect(error).toBeInstanceOf(InvalidJobOptionsError);
          expect((error as Error).message).toMatch(message);
          await sleep(150);
          expect(runs.all).toEqual([]);
        },
      );

      it('rejects bad arguments with their path before anything is enqueued', async () => {
        const { interactors, runs } = await boot();
        const error = await interactors
          .enqueue(EchoTask, 'ok', { a: { b: () => 1 } })
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(InvalidTaskArgumentsError);
        expect((error as InvalidTaskArgumentsError).path).toBe('args[1].a.b');
        await sleep(150);
        expect(runs.all).toEqual([]);
      });
    });

    describe('attempts and backoff', () => {
      it('a task failing twice with attempts: 3 runs three times, attempts 1, 2, 3, same run id, backoff between', async () => {
        const { interactors, runs } = await boot();
        await interactors.enqueue(FlakyTask);
        await waitUntil(() => runs.all.length === 3, 8_000, 'three attempts');
        await sleep(500);
        const attempts = runs.of('FlakyTask');
        expect(attempts.map((run) => run.attempt)).toEqual([1, 2, 3]);
        expect(new Set(attempts.map((run) => run.runId)).size).toBe(1);
        expect(attempts.every((run) => run.trigger === 'queue')).toBe(true);
        // backoff: 150 ms (fixed) between attempts
        expect(attempts[1]!.startedAt - attempts[0]!.finishedAt!).toBeGreaterThanOrEqual(
          150 - SLACK,
        );
        expect(attempts[2]!.startedAt - attempts[1]!.finishedAt!).toBeGreaterThanOrEqual(
          150 - SLACK,
        );
      });

      it('exhausted attempts stop retrying; exponential backoff doubles the wait', async () => {
        const { interactors, runs } = await boot();
        await interactors.enqueue(DoomedTask);
        await waitUntil(() => runs.all.length === 3, 8_000, 'three attempts');
        await sleep(800);
        const attempts = runs.of('DoomedTask');
        expect(attempts.map((run) => run.attempt)).toEqual([1, 2, 3]);
        expect(attempts[1]!.startedAt - attempts[0]!.finishedAt!).toBeGreaterThanOrEqual(
          150 - SLACK,
        );
        expect(attempts[2]!.startedAt - attempts[1]!.finishedAt!).toBeGreaterThanOrEqual(
          300 - SLACK,
        );
      });

      it('without attempts a failing job runs once', async () => {
        const { interactors, runs } = await boot();
        await interactors.enqueue(OnceFailingTask);
        await waitUntil(() => runs.all.length === 1, 5_000, 'the run');
        await sleep(500);
        expect(runs.all.map((run) => run.attempt)).toEqual([1]);
      });

      it('a failing job does not stop the worker: later jobs still run', async () => {
        const { interactors, runs } = await boot();
        await interactors.enqueue(OnceFailingTask);
        await interactors.enqueue(EchoTask, 'after');
        await waitUntil(() => runs.of('EchoTask').length === 1, 5_000, 'the healthy run');
      });
    });

    describe('retention', () => {
      it('keeps at most `count` finished jobs per state: trimmed ids can be enqueued again, kept ones cannot', async () => {
        const { interactors, runs } = await boot({
          retention: { completed: { count: 2 }, failed: { count: 2 } },
        });
        // `default` has concurrency 1, so jobs finish in the order they were added.
        for (let i = 1; i <= 5; i++)
          await interactors.with({ jobId: `ok-${i}` }).enqueue(EchoTask, `ok-${i}`);
        for (let i = 1; i <= 5; i++)
          await interactors.with({ jobId: `ko-${i}` }).enqueue(OnceFailingTask);
        await waitUntil(() => runs.all.length === 10, 8_000, 'ten runs');
        await sleep(100);
        // The two newest of each state were kept: enqueueing their ids is a no-op. (Checked
        // first: the runs below finish jobs, which trims these in turn.)
        for (const id of ['ok-4', 'ok-5', 'ko-4', 'ko-5']) {
          await interactors.with({ jobId: id }).enqueue(EchoTask, `again-${id}`);
        }
        // The three oldest of each state were removed: their ids are free again and run anew.
        for (const id of ['ok-1', 'ok-3', 'ko-1', 'ko-3']) {
          await interactors.with({ jobId: id }).enqueue(EchoTask, `again-${id}`);
        }
        await waitUntil(() => runs.all.length === 14, 8_000, 'four runs of the trimmed ids');
        await sleep(400);
        expect(runs.all.slice(10).map((run) => run.args[0])).toEqual([
          'again-ok-1',
          'again-ok-3',
          'again-ko-1',
          'again-ko-3',
        ]);
      });
    });

    describe('workers', () => {
      it('per-queue concurrency: `heavy` (3) runs at most 3 jobs at once, and more than 1', async () => {
        const { interactors, runs } = await boot();
        for (let i = 0; i < 9; i++) await interactors.enqueue(HeavyTask, 250);
        await waitUntil(
          () => runs.of('HeavyTask').filter((run) => run.finishedAt).length === 9,
          10_000,
          'nine runs',
        );
        expect(runs.maxActive).toBeLessThanOrEqual(3);
        expect(runs.maxActive).toBeGreaterThan(1);
      });

      it('per-queue concurrency: `default` (1 unless declared) runs one job at a time', async () => {
        const { interactors, runs } = await boot();
        for (let i = 0; i < 4; i++) await interactors.enqueueTo('default', HeavyTask, 100);
        await waitUntil(
          () => runs.all.filter((run) => run.finishedAt).length === 4,
          10_000,
          'four runs',
        );
        expect(runs.maxActive).toBe(1);
      });

      it('declared concurrency of `default` is honoured too', async () => {
        const { interactors, runs } = await boot({
          queues: { default: { concurrency: 2 }, gates: {}, heavy: {} },
        });
        for (let i = 0; i < 6; i++) await interactors.enqueueTo('default', HeavyTask, 200);
        await waitUntil(
          () => runs.all.filter((run) => run.finishedAt).length === 6,
          10_000,
          'six runs',
        );
        expect(runs.maxActive).toBe(2);
      });

      it("without the worker role (roles: ['scheduler']) jobs are accepted but not run", async () => {
        const { interactors, runs } = await boot({ roles: ['scheduler'] });
        const id = await interactors.enqueue(EchoTask, 'stays');
        expect(typeof id).toBe('string');
        await sleep(700);
        expect(runs.all).toEqual([]);
      });

      it('INTERACTORS_ROLES overrides the roles option (off)', async () => {
        vi.stubEnv('INTERACTORS_ROLES', 'scheduler');
        const { interactors, runs } = await boot({ roles: ['scheduler', 'worker'] });
        await interactors.enqueue(EchoTask);
        await sleep(700);
        expect(runs.all).toEqual([]);
      });

      it('INTERACTORS_ROLES overrides the roles option (on)', async () => {
        vi.stubEnv('INTERACTORS_ROLES', 'scheduler, worker');
        const { interactors, runs } = await boot({ roles: ['scheduler'] });
        await interactors.enqueue(EchoTask);
        await waitUntil(() => runs.all.length === 1, 5_000, 'the run');
      });

      it('an empty INTERACTORS_ROLES means neither role', async () => {
        vi.stubEnv('INTERACTORS_ROLES', '');
        const { interactors, runs } = await boot();
        await interactors.enqueue(EchoTask);
        await sleep(600);
        expect(runs.all).toEqual([]);
      });

      it("consume: ['heavy'] works heavy jobs and leaves gates jobs alone", async () => {
        const { interactors, runs } = await boot({ consume: ['heavy'] });
        await interactors.enqueue(GateTask, 'g1');
        await interactors.enqueue(HeavyTask, 0);
        await waitUntil(() => runs.of('HeavyTask').length === 1, 5_000, 'the heavy run');
        await sleep(500);
        expect(runs.of('GateTask')).toEqual([]);
      });

      it('INTERACTORS_QUEUES overrides consume', async () => {
        vi.stubEnv('INTERACTORS_QUEUES', 'gates');
        const { interactors, runs } = await boot({ consume: ['heavy'] });
        await interactors.enqueue(GateTask, 'g1');
        await interactors.enqueue(HeavyTask, 0);
        await waitUntil(() => runs.of('GateTask').length === 1, 5_000, 'the gates run');
        await sleep(500);
        expect(runs.of('HeavyTask')).toEqual([]);
      });
    });

    describe('ticks', () => {
      /** Boots a scheduler with a clock held half a second before `DUE`; returns a way to fire that tick. */
      async function bootScheduled(
        tasks: Type[],
        roles: ('scheduler' | 'worker')[] = ['scheduler', 'worker'],
      ) {
        const clock = new ManualClock(DUE - 500);
        const booted = await boot({ clock, roles, tasks: [...tasks, EchoTask] });
        const dispatcher = booted.app.get(TaskDispatcher, { strict: false });
        const fire = async () => {
          clock.set(DUE);
          await dispatcher.wake();
        };
        return { ...booted, fire };
      }

      it("run: 'queue': the claimed tick is enqueued under the id <Task>-<dueAt> and a worker runs it with that dueAt", async () => {
        const { interactors, runs, fire } = await bootScheduled([QueuedTick]);
        await fire();
        await waitUntil(() => runs.all.length === 1, 5_000, 'the tick run');
        const [run] = runs.all;
        expect(run).toMatchObject({ task: 'QueuedTick', trigger: 'queue', dueAt: DUE, attempt: 1 });
        // The job exists under that id: enqueueing the same id again is a no-op.
        expect(await interactors.with({ jobId: `QueuedTick-${DUE}` }).enqueue(QueuedTick)).toBe(
          `QueuedTick-${DUE}`,
        );
        // A double wake for the same instant fires nothing twice.
        await fire();
        await sleep(500);
        expect(runs.all).toHaveLength(1);
        // Control: another id does run.
        await interactors.with({ jobId: `QueuedTick-${DUE + 1000}` }).enqueue(QueuedTick);
        await waitUntil(() => runs.all.length === 2, 5_000, 'the control run');
        expect(runs.all[1]!.dueAt).toBeUndefined();
      });

      it("run: 'queue' without the worker role: the tick is enqueued, not run", async () => {
        const { runs, fire } = await bootScheduled([QueuedTick], ['scheduler']);
        await fire();
        await sleep(600);
        expect(runs.all).toEqual([]);
      });

      it("run: 'inline': the tick runs in the scheduler with trigger 'cron' and its dueAt, without a job", async () => {
        const { interactors, runs, fire } = await bootScheduled([InlineTick], ['scheduler']);
        await fire();
        await waitUntil(() => runs.all.length === 1, 5_000, 'the inline run');
        expect(runs.all[0]).toMatchObject({
          task: 'InlineTick',
          trigger: 'cron',
          dueAt: DUE,
          attempt: 1,
        });
        // No job took the id a queued tick would have had: adding it now adds a job.
        // (This process has no worker role, so the job stays put; the id is what we look at.)
        const id = await interactors.with({ jobId: `InlineTick-${DUE}` }).enqueue(InlineTick);
        expect(id).toBe(`InlineTick-${DUE}`);
        await sleep(300);
        expect(runs.all).toHaveLength(1);
      });

      it("run: 'inline' with both roles: the enqueue with the tick's id runs (so no job had it)", async () => {
        const { interactors, runs, fire } = await bootScheduled([InlineTick]);
        await fire();
        await waitUntil(() => runs.all.length === 1, 5_000, 'the inline run');
        await interactors.with({ jobId: `InlineTick-${DUE}` }).enqueue(InlineTick);
        await waitUntil(() => runs.all.length === 2, 5_000, 'the queued run of that id');
        expect(runs.all.map((run) => run.trigger)).toEqual(['cron', 'queue']);
      });
    });
  });
}
