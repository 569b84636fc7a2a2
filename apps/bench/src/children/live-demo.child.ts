/**
 * The demo app as a live scheduler (its roles by default: scheduler and worker), asked by
 * the bench to run PatrolTheGates inside it, as a tick would. Logs as the CLI does: run
 * lines dropped, warnings and errors to stderr.
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { PatrolTheGates } from '#gates';
import { Interactors } from 'nestjs-interactors';
import { AppModule } from '../../../demo/src/app.module.js';
import { cpuMicros, now } from '../measure.js';
import { parent } from './parent.js';

/** bench → child: run the task `count` times, one after the other. */
export interface RunMessage {
  readonly type: 'run';
  readonly count: number;
}

/** child → bench: what each run took, and the process's memory meanwhile. */
export interface RanMessage {
  readonly type: 'ran';
  readonly wallMs: number[];
  readonly cpuMicros: number[];
  readonly outcomes: string[];
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
}

const app = await NestFactory.createApplicationContext(AppModule, {
  logger: {
    log: () => undefined,
    warn: (message: unknown) => process.stderr.write(`warn: ${String(message)}\n`),
    error: (message: unknown) => process.stderr.write(`error: ${String(message)}\n`),
  },
  abortOnError: false,
});
const interactors = app.get(Interactors);
process.on('message', (message: { type?: string; count?: number }) => {
  if (message.type === 'stop') void app.close().then(() => process.exit(0));
  if (message.type !== 'run') return;
  void (async () => {
    const wallMs: number[] = [];
    const cpu: number[] = [];
    const outcomes: string[] = [];
    for (let i = 0; i < message.count!; i++) {
      const cpuStart = cpuMicros();
      const start = now();
      const result = await interactors.run(PatrolTheGates);
      wallMs.push(now() - start);
      cpu.push(cpuMicros() - cpuStart);
      outcomes.push(result.outcome);
    }
    const memory = process.memoryUsage();
    await parent.send({
      type: 'ran',
      wallMs,
      cpuMicros: cpu,
      outcomes,
      rssBytes: memory.rss,
      heapUsedBytes: memory.heapUsed,
    } satisfies RanMessage);
  })();
});
await parent.send({ type: 'ready' });
