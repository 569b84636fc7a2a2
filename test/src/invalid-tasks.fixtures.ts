import { Inject, Injectable, Module, Scope } from '@nestjs/common';
import { Interactor, Task, type TaskOptions } from '../../src/index.js';

/** A valid task class with the given options (the class is named `name`). */
export function taskWith(name: string, options: TaskOptions): new () => Interactor {
  @Task(options)
  class Fixture extends Interactor {
    call(): string {
      return name;
    }
  }
  Object.defineProperty(Fixture, 'name', { value: name });
  return Fixture;
}

// --- cron and time zone ---------------------------------------------------------------------

export const OutOfRangeMinute = taskWith('OutOfRangeMinute', { cron: '61 * * * *', run: 'inline' });
export const MinuteStep61 = taskWith('MinuteStep61', { cron: '*/61 * * * *', run: 'inline' });
export const SecondStep60 = taskWith('SecondStep60', { cron: '*/60 * * * * *', run: 'inline' });
export const SevenFields = taskWith('SevenFields', { cron: '* * * * * * *', run: 'inline' });
export const February31 = taskWith('February31', { cron: '0 0 31 2 *', run: 'inline' });
export const UnknownZone = taskWith('UnknownZone', {
  cron: '0 * * * *',
  timeZone: 'Mars/Olympus_Mons',
  run: 'inline',
});

// --- names ------------------------------------------------------------------------------------

/** Two different classes both named `Report`, in two modules: their default names collide. */
export const ReportA = taskWith('Report', {});
export const ReportB = taskWith('Report', {});

@Module({ providers: [ReportA] })
export class BillingModule {}

@Module({ providers: [ReportB] })
export class ShippingModule {}

@Task({ name: 'nightly' })
export class NightlyCleanup extends Interactor {
  call(): void {}
}

@Task({ name: 'nightly' })
export class NightlyBackup extends Interactor {
  call(): void {}
}

@Module({ providers: [NightlyCleanup] })
export class CleanupModule {}

@Module({ providers: [NightlyBackup] })
export class BackupModule {}

// --- decorator and class shape -------------------------------------------------------------------

@Task({ run: 'inline' })
@Task({ cron: '0 * * * *', run: 'inline' })
export class DecoratedTwice extends Interactor {
  call(): void {}
}

@Task()
export class WithoutCall {
  run(): void {}
}

@Task()
export class TransientTask extends Interactor {
  call(): void {}
}

@Task()
export class RequestTask extends Interactor {
  call(): void {}
}

/** `@Task` applied over `@Injectable({ scope })`: the scope the user wrote must not vanish. */
@Task()
@Injectable({ scope: Scope.REQUEST })
export class RequestScopedUnderTask extends Interactor {
  call(): void {}
}

@Injectable({ scope: Scope.REQUEST })
export class RequestContext {
  readonly id = Math.random();
}

/** Request-scoped only through its dependency chain: task → AuditService → RequestContext. */
@Injectable()
export class AuditService {
  constructor(readonly context: RequestContext) {}
}

@Task()
export class AuditedTask extends Interactor {
  constructor(private readonly audit: AuditService) {
    super();
  }

  call(): number {
    return this.audit.context.id;
  }
}

/** Request-scoped through a property injection: task → (property) AuditService → RequestContext. */
@Task()
export class PropertyAuditedTask extends Interactor {
  @Inject(AuditService) private readonly audit!: AuditService;

  call(): number {
    return this.audit.context.id;
  }
}

@Injectable({ scope: Scope.TRANSIENT })
export class TransientHelper {
  static made = 0;
  readonly serial = ++TransientHelper.made;
}

/** Merely injects a transient provider: a fine task. */
@Task()
export class UsesTransientHelper extends Interactor {
  constructor(@Inject(TransientHelper) private readonly helper: TransientHelper) {
    super();
  }

  call(): number {
    return this.helper.serial;
  }
}

// --- options of the wrong type or value ------------------------------------------------------------

export const UnknownOption = taskWith('UnknownOption', { colour: 'red' } as TaskOptions);
export const RunSometimes = taskWith('RunSometimes', {
  run: 'sometimes',
} as unknown as TaskOptions);
export const ZeroAttempts = taskWith('ZeroAttempts', { attempts: 0 });
export const UndeclaredQueue = taskWith('UndeclaredQueue', { queue: 'billing' });
export const NumericCron = taskWith('NumericCron', { cron: 5 } as unknown as TaskOptions);
export const BadBackoff = taskWith('BadBackoff', {
  backoff: { type: 'linear', delay: 10 },
} as unknown as TaskOptions);
export const ColonName = taskWith('ColonName', { name: 'reports:daily' });
export const DigitName = taskWith('DigitName', { name: '9lives' });
export const LongName = taskWith('LongName', { name: `T${'x'.repeat(128)}` });
export const LongestName = taskWith('LongestName', { name: `T${'x'.repeat(127)}` });
