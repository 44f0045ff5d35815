import fs from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { workflowBundle } from './support/env';

/**
 * Replays recorded histories of employeeSyncWorkflow against today's code. A change that would make a running
 * workflow behave differently on replay (a new activity, a reordered timer) fails here with a
 * DeterminismViolationError, before it can break employees' workflows in production.
 */
const dir = path.join(__dirname, 'histories');
const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json'));

describe('employeeSyncWorkflow replay of recorded histories', () => {
  it('has recorded histories to replay', () => {
    expect(files.length).toBeGreaterThanOrEqual(5);
  });

  it.each(files)('replays %s deterministically', async (file) => {
    const history: unknown = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
    await expect(
      Worker.runReplayHistory(
        { workflowBundle: await workflowBundle() },
        history as Parameters<typeof Worker.runReplayHistory>[1],
      ),
    ).resolves.toBeUndefined();
  });
});
