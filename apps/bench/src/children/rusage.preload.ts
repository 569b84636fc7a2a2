/**
 * Preloaded (`node --import`) into a process the bench times from outside: at exit,
 * writes the process's CPU time and peak RSS to the file named by BENCH_RUSAGE_FILE.
 */
import { writeFileSync } from 'node:fs';

const file = process.env.BENCH_RUSAGE_FILE;
if (file) {
  process.on('exit', () => {
    const usage = process.resourceUsage();
    writeFileSync(
      file,
      JSON.stringify({
        cpuMicros: usage.userCPUTime + usage.systemCPUTime,
        maxRssBytes: usage.maxRSS * 1024,
      }),
    );
  });
}
