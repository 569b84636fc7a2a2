import {
  Injectable,
  Module,
  UseInterceptors,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { map, type Observable } from 'rxjs';
import { Interactor, Task, TaskRun, type TaskRunContext } from '../../src/index.js';

/** A plain dependency, to prove tasks get theirs injected whatever the provider shape. */
@Injectable()
export class Greeter {
  greet(name: string): string {
    return `hello ${name}`;
  }
}

// --- a task two module levels down -------------------------------------------------------

@Task()
export class NestedTask extends Interactor {
  constructor(private readonly greeter: Greeter) {
    super();
  }

  call(name: string): string {
    return this.greeter.greet(name);
  }
}

@Module({ providers: [Greeter, NestedTask], exports: [Greeter] })
export class NestedModule {}

@Task()
export class FeatureTask extends Interactor {
  call(): string {
    return 'feature';
  }
}

@Module({ imports: [NestedModule], providers: [FeatureTask] })
export class FeatureModule {}

// --- subclasses ---------------------------------------------------------------------------

@Task()
export class BaseReport extends Interactor {
  call(): string {
    return `report by ${this.constructor.name}`;
  }
}

/** Not decorated itself: inherits @Task, yet is its own task named after itself. */
export class DerivedReport extends BaseReport {}

/** Decorated again with its own options. */
@Task({ cron: '0 * * * *', run: 'inline' })
export class ScheduledReport extends BaseReport {}

// --- provider shapes ----------------------------------------------------------------------

@Task()
export class UseClassTask extends Interactor {
  constructor(private readonly greeter: Greeter) {
    super();
  }

  call(): string {
    return this.greeter.greet('useClass');
  }
}

/** An abstract token whose implementation is chosen with useClass. */
export abstract class Notifier extends Interactor {}

@Task()
export class EmailNotifier extends Notifier {
  call(to: string): string {
    return `mail to ${to}`;
  }
}

/** Built by a factory (not decorated with @Injectable beyond @Task, constructed by hand). */
@Task()
export class UseFactoryTask extends Interactor {
  constructor(private readonly greeter: Greeter) {
    super();
  }

  call(): string {
    return this.greeter.greet('useFactory');
  }
}

@Task()
export class UseValueTask extends Interactor {
  constructor(private readonly label: string) {
    super();
  }

  call(): string {
    return `value ${this.label}`;
  }
}

@Task()
export class AliasedTask extends Interactor {
  call(): string {
    return 'aliased';
  }
}

@Task()
export class AliasedFirstTask extends Interactor {
  call(): string {
    return 'aliased first';
  }
}

// --- names, schedules, results ------------------------------------------------------------

@Task({ name: 'reports.daily_v2-1' })
export class CustomNamedTask extends Interactor {
  call(): string {
    return 'custom';
  }
}

@Task({ cron: '0 0 * * *', timeZone: 'Europe/Berlin', run: 'inline' })
export class BerlinMidnight extends Interactor {
  call(): void {}
}

@Task({ cron: '30 * * * * *', run: 'inline' })
export class ModuleZoneTask extends Interactor {
  call(): void {}
}

@Task()
export class EchoTask extends Interactor {
  async call(count: number, word: string): Promise<{ count: number; word: string }> {
    await Promise.resolve();
    return { count, word };
  }
}

export class BoomError extends Error {
  constructor(readonly detail: string) {
    super(`boom: ${detail}`);
  }
}

@Task()
export class FailingTask extends Interactor {
  async call(detail: string): Promise<never> {
    await Promise.resolve();
    throw new BoomError(detail);
  }
}

@Task()
export class ContextTask extends Interactor {
  call(): TaskRunContext | undefined {
    return TaskRun.current();
  }
}

/** Records the context type Nest reports and tags the result. */
@Injectable()
export class TagInterceptor implements NestInterceptor {
  static contextTypes: string[] = [];

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    TagInterceptor.contextTypes.push(context.getType());
    return next.handle().pipe(map((value) => `tagged ${String(value)}`));
  }
}

@Task()
@UseInterceptors(TagInterceptor)
export class InterceptedTask extends Interactor {
  call(): string {
    return 'plain';
  }
}

/** A task class that no module provides. */
@Task()
export class UnprovidedTask extends Interactor {
  call(): void {}
}
