import { MemoryTransport } from '../transport/memory.transport.js';
import type {
  ClaimResult,
  InteractorsTransport,
  TickClaim,
} from '../transport/transport.interface.js';

/**
 * The in-memory transport, with claims the kit can forget (`clear()`), so a test can fire
 * a tick it fired before. Nothing here opens a socket. @internal
 */
export class TestingTransport implements InteractorsTransport {
  readonly kind = 'memory';
  private memory = new MemoryTransport();

  claimTicks(ticks: readonly TickClaim[]): Promise<ClaimResult[]> {
    return this.memory.claimTicks(ticks);
  }

  lastClaimed(tasks: readonly string[]): Promise<Map<string, number>> {
    return this.memory.lastClaimed(tasks);
  }

  /** Forgets every claimed tick. */
  reset(): void {
    this.memory = new MemoryTransport();
  }

  async close(): Promise<void> {}
}
