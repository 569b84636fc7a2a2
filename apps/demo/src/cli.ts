import 'reflect-metadata';
import { runInteractorsCli } from 'nestjs-interactors';
import { AppModule } from './app.module.js';

// `npm run interactors -- list`: acts on the demo's tasks by name, firing nothing itself.
process.exitCode = await runInteractorsCli(AppModule);
