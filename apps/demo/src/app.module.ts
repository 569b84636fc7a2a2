import { Controller, Get, Module, Param, Post } from '@nestjs/common';
import { GatesModule, GatesStore, OpenTheGates } from '#gates';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { Interactors, InteractorsHealthModule, InteractorsModule } from 'nestjs-interactors';

@Controller()
class GatesController {
  constructor(
    private readonly interactors: Interactors,
    private readonly store: GatesStore,
  ) {}

  @Get('gates')
  gates() {
    return this.store.all();
  }

  @Get('tasks')
  tasks() {
    return this.interactors.list();
  }

  /** Runs OpenTheGates now and tells how the run ended (`success`, `locked`, ...). */
  @Post('gates/open')
  openAll() {
    return this.interactors.run(OpenTheGates);
  }

  @Post('gates/:gate/open')
  open(@Param('gate') gate: string) {
    return this.interactors.run(OpenTheGates, gate);
  }
}

const redisUrl = process.env.REDIS_URL || undefined;

@Module({
  imports: [
    InteractorsModule.forRoot({
      redis: redisUrl,
      prefix: 'demo:interactors',
      environment: process.env.NODE_ENV,
      queues: { gates: { concurrency: 2 } },
      // One build, different schedules per environment: unset keeps the @Task literal.
      schedules: { OpenTheGates: { cron: process.env.GATES_CRON } },
    }),
    GatesModule.register({ redisUrl, prefix: 'demo' }),
    // Serves prom-client's global registry, where the module's metrics live by default.
    PrometheusModule.register(),
    // GET /health (readiness), /health/live (liveness), /health/tasks (stale tasks, for alerting).
    InteractorsHealthModule.forRoot({ routes: true, staleness: true }),
  ],
  controllers: [GatesController],
})
export class AppModule {}
