import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';

export const GATES_OPTIONS = 'gates:options';

export interface GatesOptions {
  /** Where gate state lives; without it, in this process's memory. */
  redisUrl?: string;
  /** Key prefix in Redis. */
  prefix?: string;
  gates?: string[];
}

export type GateState = 'open' | 'closed';

/** Gate state and a patrol counter, in Redis when configured so every process sees it. */
@Injectable()
export class GatesStore implements OnApplicationShutdown {
  private readonly redis: Redis | undefined;
  private readonly memory = new Map<string, string>();
  private readonly key: string;
  readonly gates: string[];

  constructor(@Inject(GATES_OPTIONS) options: GatesOptions) {
    this.redis = options.redisUrl ? new Redis(options.redisUrl) : undefined;
    // Outages are reported by the module; a task's failed command says the rest.
    this.redis?.on('error', () => undefined);
    this.key = `${options.prefix ?? 'demo'}:gates`;
    this.gates = options.gates ?? ['north', 'south', 'east', 'west'];
  }

  async set(gate: string, state: GateState): Promise<void> {
    if (this.redis) await this.redis.hset(this.key, gate, state);
    else this.memory.set(gate, state);
  }

  async all(): Promise<Record<string, string>> {
    const state = this.redis ? await this.redis.hgetall(this.key) : Object.fromEntries(this.memory);
    return Object.fromEntries(this.gates.map((gate) => [gate, state[gate] ?? 'closed']));
  }

  /** Counts a patrol round; returns the total so far. */
  async patrolled(): Promise<number> {
    if (this.redis) return this.redis.hincrby(`${this.key}:stats`, 'patrols', 1);
    const patrols = Number(this.memory.get('#patrols') ?? 0) + 1;
    this.memory.set('#patrols', String(patrols));
    return patrols;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.redis?.quit();
  }
}
