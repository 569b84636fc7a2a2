import type { LoggerService } from '@nestjs/common';

/** Says once that something became unreachable, and once that it is back: never a flood. @internal */
export class OutageLog {
  private down = false;

  constructor(
    private readonly logger: LoggerService,
    private readonly what: string,
  ) {}

  failed(reason: string): void {
    if (this.down) return;
    this.down = true;
    this.logger.warn(`${this.what} is unreachable: ${reason}`);
  }

  recovered(): void {
    if (!this.down) return;
    this.down = false;
    this.logger.log(`${this.what} is reachable again`);
  }
}
