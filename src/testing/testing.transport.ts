import { MemoryTransport } from '../transport/memory.transport.js';

/**
 * The in-memory transport, with claims the kit can forget (`clear()`), so a test can fire
 * a tick it fired before. Nothing here opens a socket. @internal
 */
export class TestingTransport extends MemoryTransport {
  /** Forgets every claimed tick. */
  reset(): void {
    this.forgetClaims();
  }
}
