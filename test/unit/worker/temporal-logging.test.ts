import { Writable } from 'node:stream';
import pino from 'pino';
import { sdkLogger } from '../../../src/worker/temporal-logging';

/** A pino logger at `level` whose JSON lines the test reads back. */
function capturingLogger(level: string) {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level }, stream), lines };
}

describe("the Temporal SDK's logs through the worker's logger", () => {
  it('writes each SDK message as a JSON line at its level, with its metadata as fields', () => {
    const { logger, lines } = capturingLogger('info');
    const sdk = sdkLogger(logger);
    sdk.info('Worker state changed', { sdkComponent: 'worker', taskQueue: 'entra-sync', state: 'RUNNING' });
    sdk.log('ERROR', 'Activity failed', { activityType: 'syncEmployeeToEntra' });
    expect(lines).toEqual([
      expect.objectContaining({
        level: 30,
        msg: 'Worker state changed',
        sdkComponent: 'worker',
        taskQueue: 'entra-sync',
        state: 'RUNNING',
      }),
      expect.objectContaining({ level: 50, msg: 'Activity failed', activityType: 'syncEmployeeToEntra' }),
    ]);
  });

  it('keeps to the worker’s LOG_LEVEL: below it nothing is written', () => {
    const { logger, lines } = capturingLogger('warn');
    const sdk = sdkLogger(logger);
    sdk.info('asset workflow-bundle.js 1.62 MiB [emitted]', { sdkComponent: 'worker' });
    sdk.debug('polling', {});
    sdk.warn('Activity task timed out', { taskQueue: 'entra-sync' });
    expect(lines.map((l) => l.msg)).toEqual(['Activity task timed out']);
  });

  it('logs an error with its message and stack, not as an empty object', () => {
    const { logger, lines } = capturingLogger('info');
    sdkLogger(logger).error('Worker failed', { error: new Error('connection refused') });
    expect(lines[0]).toMatchObject({ msg: 'Worker failed', err: { message: 'connection refused' } });
    expect(String((lines[0]!.err as { stack?: string }).stack)).toContain('connection refused');
  });

  it("takes the activity-only lane workers' warning for what it is: expected, at debug", () => {
    const atWarn = capturingLogger('warn');
    sdkLogger(atWarn.logger).warn('No workflows registered, not polling for workflow tasks', {
      taskQueue: 'entra-sync-changes',
    });
    expect(atWarn.lines).toEqual([]);
    const atDebug = capturingLogger('debug');
    sdkLogger(atDebug.logger).warn('No workflows registered, not polling for workflow tasks', {
      taskQueue: 'entra-sync-changes',
    });
    expect(atDebug.lines).toEqual([expect.objectContaining({ level: 20, taskQueue: 'entra-sync-changes' })]);
  });

  it("writes webpack's report of the workflow bundle at debug, keeping the bundle's size line at info", () => {
    const report =
      'asset workflow-bundle-a5f6d48adc861ed4f0b4.js 1.62 MiB [emitted] [immutable] (name: main)\n' +
      'modules by path ./node_modules/@temporalio/ 388 KiB\nwebpack 5.112.2 compiled successfully in 615 ms';
    const atInfo = capturingLogger('info');
    sdkLogger(atInfo.logger).info(report, { sdkComponent: 'worker' });
    sdkLogger(atInfo.logger).info('Workflow bundle created', { sdkComponent: 'worker', size: '1.62MB' });
    expect(atInfo.lines.map((l) => l.msg)).toEqual(['Workflow bundle created']);
    const atDebug = capturingLogger('debug');
    sdkLogger(atDebug.logger).info(report, { sdkComponent: 'worker' });
    expect(atDebug.lines).toEqual([expect.objectContaining({ level: 20, msg: report })]);
  });

  it("keeps a failed bundle build's report an error", () => {
    const { logger, lines } = capturingLogger('warn');
    sdkLogger(logger).error('asset workflow-bundle-1.js 1 MiB\nERROR in ./src/workflows/index.ts', {});
    expect(lines).toEqual([expect.objectContaining({ level: 50 })]);
  });
});
