import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import path from 'node:path';

const REPO_ROOT = path.join(__dirname, '../../..');

/**
 * Starts src/bin/worker.ts as an operator runs it: its own Node process (transpiled on the fly, no build step),
 * configured only by environment — the test's database and Temporal server, `env` on top.
 */
export function spawnWorkerProcess(
  databaseUrl: string,
  env: Record<string, string | undefined>,
  stdio: StdioOptions = ['ignore', 'pipe', 'pipe'],
): ChildProcess {
  return spawn(process.execPath, [path.join(__dirname, 'run-ts.js'), 'src/bin/worker.ts'], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS,
      ...env,
    },
    stdio,
  });
}
