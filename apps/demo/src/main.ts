import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';

async function bootstrap(): Promise<void> {
  const app = await NestFactory.create(AppModule);
  app.enableShutdownHooks();
  const port = Number(process.env.PORT ?? 3000);
  await app.listen(port);
  Logger.log(
    `Demo on http://localhost:${port} (roles: ${process.env.INTERACTORS_ROLES ?? 'scheduler,worker'}, ` +
      `redis: ${process.env.REDIS_URL ? 'yes' : 'in-memory'})`,
    'Demo',
  );
}

void bootstrap();
