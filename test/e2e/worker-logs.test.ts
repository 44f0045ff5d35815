import type { ChildProcess } from 'node:child_process';
import { createTestDb, type TestDb } from '../support/db';
import { spawnWorkerProcess } from './support/worker-process';

/**
 * The worker process's output as an operator's log pipeline reads it: one JSON object per line on stdout, the Temporal
 * SDK's own lines included, at the level LOG_LEVEL sets.
 */
describe('worker process logs', () => {
  let t: TestDb;
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    t = await createTestDb();
  });
  afterAll(async () => {
    if (child?.exitCode === null) child.kill('SIGKILL');
    await t?.drop();
  });

  /** Starts src/bin/worker.ts at `level`; resolves with stdout's and stderr's lines once the worker has started. */
  function startWorker(level: string): Promise<{ stdout: string[]; stderr: string[] }> {
    const proc = spawnWorkerProcess(t.url, {
      TEMPORAL_TASK_QUEUE: `e2e-logs-${Date.now()}`,
      SECRETS_KEY: Buffer.alloc(32, 7).toString('base64'),
      LOG_LEVEL: level,
    });
    child = proc;
    const out = { stdout: '', stderr: '' };
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the worker did not start:\n${out.stderr}`)), 60_000);
      proc.stderr!.on('data', (d: Buffer) => (out.stderr += d.toString()));
      proc.stdout!.on('data', (d: Buffer) => {
        out.stdout += d.toString();
        // The SDK's lines come up to 100 ms late (log forwarding sorts them by time): wait for all three workers'.
        const running = out.stdout
          .split('\n')
          .filter((l) => l.includes('"state":"RUNNING"') && l.includes('"msg":"Worker state changed"'));
        if (out.stdout.includes('"msg":"worker started"') && running.length >= 3) {
          clearTimeout(timer);
          proc.kill('SIGTERM');
          const lines = (s: string) => s.split('\n').filter(Boolean);
          resolve({ stdout: lines(out.stdout), stderr: lines(out.stderr) });
        }
      });
      proc.once('exit', (code) => {
        if (!out.stdout.includes('"msg":"worker started"')) {
          clearTimeout(timer);
          reject(new Error(`the worker exited (${code}):\n${out.stderr}`));
        }
      });
    });
  }

  it("writes the Temporal SDK's lines as JSON through the worker's logger, not as text on stderr", async () => {
    const { stdout, stderr } = await startWorker('info');
    // Node may warn on stderr (a deprecation, say); the SDK's own text lines look like "… [INFO] Worker state changed".
    expect(stderr.filter((line) => /\[(TRACE|DEBUG|INFO|WARN|ERROR)\]/.test(line))).toEqual([]);
    const entries = stdout.map((line) => JSON.parse(line) as Record<string, unknown>);
    const running = entries.filter((e) => e.component === 'temporal' && e.msg === 'Worker state changed');
    // The workflow queue and the two lanes' queues.
    expect(running.map((e) => e.taskQueue)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^e2e-logs-\d+$/), expect.stringMatching(/-changes$/)]),
    );
    expect(running.map((e) => e.taskQueue)).toEqual(expect.arrayContaining([expect.stringMatching(/-lifecycle$/)]));
    // The lane workers poll activities only, by design: not a warning.
    expect(entries.filter((e) => Number(e.level) >= 40 && /No workflows registered/.test(String(e.msg)))).toEqual([]);
    expect(entries.filter((e) => /No workflows registered/.test(String(e.msg)))).toEqual([]); // debug: not at info
  }, 90_000);
});
