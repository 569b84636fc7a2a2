/**
 * Regressions from the README walkthrough: a stray word after the task name is bad usage
 * (it used to be dropped, running the task without its arguments), and a failed boot is
 * said once on stderr, not twice.
 */
import { Module } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import {
  CliExit,
  Interactor,
  InteractorsModule,
  Task,
  runInteractorsCli,
} from '../../src/index.js';
import { isolateEnv } from '../src/helpers.js';

const calls: unknown[][] = [];

@Task({ name: 'Open' })
class Open extends Interactor {
  call(...args: unknown[]): void {
    calls.push(args);
  }
}

@Module({ imports: [InteractorsModule.forRoot({ metrics: false })], providers: [Open] })
class AppModule {}

@Module({
  imports: [
    InteractorsModule.forRoot({
      metrics: false,
      redis: 'redis://127.0.0.1:1',
      connectTimeout: 300,
    }),
  ],
  providers: [Open],
})
class UnreachableModule {}

async function cli(module: Function, ...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runInteractorsCli(module as never, argv, {
    out: (text) => out.push(text),
    err: (text) => err.push(text),
  });
  return { code, out, err };
}

describe('CLI review regressions', () => {
  isolateEnv();

  it('a stray word after the task is bad usage and runs nothing', async () => {
    const result = await cli(AppModule, 'run', 'Open', 'north');
    expect(result.code).toBe(CliExit.usage);
    expect(result.err.join('\n')).toContain(
      `"run" takes one word but got: Open north (arguments go in --args`,
    );
    expect(calls).toEqual([]);
    expect((await cli(AppModule, 'list', 'extra')).code).toBe(CliExit.usage);
    const ok = await cli(AppModule, 'run', 'Open', '--args', '["north"]');
    expect(ok.code).toBe(CliExit.ok);
    expect(calls).toEqual([['north']]);
  });

  it('a failed boot is said once', async () => {
    const result = await cli(UnreachableModule, 'list');
    expect(result.code).toBe(CliExit.failed);
    const said = result.err.filter((line) => line.includes('Cannot reach Redis at 127.0.0.1:1'));
    expect(said).toHaveLength(1);
  });
});
