import 'reflect-metadata';
import { runInteractorsCli } from 'nestjs-interactors';
import { AppModule } from './app.module.js';

// `npm run interactors -- list`: acts on the demo's tasks by name, firing nothing itself.
// process.exit, not exitCode: a client the app opened before a failed boot (the gates
// store's Redis) would otherwise keep the process alive.
process.exit(await runInteractorsCli(AppModule));
