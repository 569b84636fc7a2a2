import { Interactor, Task, TaskLogger } from 'nestjs-interactors';
import { GatesStore } from './gates.store.js';

/** Opens one gate, or all of them; never twice at once for the same gate, cluster-wide. */
@Task({ cron: '*/15 * * * *', queue: 'gates', lock: { key: (gate?: string) => gate ?? 'all' } })
export class OpenTheGates extends Interactor {
  constructor(private readonly store: GatesStore) {
    super();
  }

  async call(gate?: string): Promise<string[]> {
    const gates = gate ? [gate] : this.store.gates;
    for (const name of gates) {
      // Gates are heavy: opening one takes a moment.
      await new Promise((resolve) => setTimeout(resolve, 250));
      await this.store.set(name, 'open');
    }
    return gates;
  }
}

/** Closes every gate, hourly, in the scheduler process itself. */
@Task({ cron: '0 * * * *', run: 'inline' })
export class CloseTheGates extends Interactor {
  constructor(private readonly store: GatesStore) {
    super();
  }

  async call(): Promise<void> {
    for (const name of this.store.gates) await this.store.set(name, 'closed');
  }
}

/** Walks the gates every 5 seconds and reports what it saw. */
@Task({ cron: '*/5 * * * * *', queue: 'gates' })
export class PatrolTheGates extends Interactor {
  private readonly logger = new TaskLogger('Patrol');

  constructor(private readonly store: GatesStore) {
    super();
  }

  async call(): Promise<number> {
    const [state, round] = await Promise.all([this.store.all(), this.store.patrolled()]);
    const open = Object.entries(state)
      .filter(([, s]) => s === 'open')
      .map(([gate]) => gate);
    this.logger.log(`round ${round} (pid ${process.pid}): open ${open.join(', ') || 'none'}`);
    return round;
  }
}
