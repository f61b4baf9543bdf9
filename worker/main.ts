// Standalone routing worker: node --import tsx worker/main.ts (see run-worker-process.ts).
import { runWorkerProcess } from './run-worker-process.ts';

runWorkerProcess().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`astreinte worker: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
