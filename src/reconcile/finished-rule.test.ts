import { describe, expect, it } from 'vitest';
import { planInstance } from './plan-instance.js';
import { cid, desiredInstance, exitedOf, HOUR, MINUTE, NOW, planInput, planText, SECOND } from './testing.js';
import type { RestartMemory } from './types.js';

const ID = cid('3f2a1b0c9d8e');

describe('finished rule: run-to-completion', () => {
  const job = desiredInstance({ restartPolicy: 'Never', ttlSecondsAfterFinished: 60, failedRetentionSeconds: 3600 });

  it('keeps a successful run until ttlSecondsAfterFinished, then removes it', () => {
    expect(planText(job, [exitedOf(job, 0, 30 * SECOND, MINUTE, { id: ID })])).toBe(
      ['Instance/default/web: nothing to do', 'Instance/default/web: next check at 2026-01-01T12:00:30Z'].join('\n'),
    );
    expect(planText(job, [exitedOf(job, 0, 60 * SECOND, MINUTE, { id: ID })])).toBe('Instance/default/web: remove 3f2a1b0c9d8e (ttl after finished expired)');
  });

  it('keeps a failed run for failedRetentionSeconds, then removes it', () => {
    expect(planText(job, [exitedOf(job, 3, 10 * MINUTE, MINUTE, { id: ID })])).toBe(
      ['Instance/default/web: nothing to do', 'Instance/default/web: next check at 2026-01-01T12:50:00Z'].join('\n'),
    );
    expect(planText(job, [exitedOf(job, 3, HOUR, MINUTE, { id: ID })])).toBe('Instance/default/web: remove 3f2a1b0c9d8e (failed retention expired)');
  });

  it('keeps runs forever without a ttl or retention', () => {
    const keepAll = desiredInstance({ restartPolicy: 'Never' });
    expect(planText(keepAll, [exitedOf(keepAll, 0, 100 * HOUR, MINUTE, { id: ID })])).toBe('Instance/default/web: nothing to do');
    expect(planText(keepAll, [exitedOf(keepAll, 1, 100 * HOUR, MINUTE, { id: ID })])).toBe('Instance/default/web: nothing to do');
  });

  it('treats a clean exit under OnFailure as finished', () => {
    const d = desiredInstance({ restartPolicy: 'OnFailure', ttlSecondsAfterFinished: 0 });
    expect(planText(d, [exitedOf(d, 0, SECOND, MINUTE, { id: ID })])).toBe('Instance/default/web: remove 3f2a1b0c9d8e (ttl after finished expired)');
  });

  it('cleans up finished runs of a Stopped Instance too', () => {
    const d = desiredInstance({ restartPolicy: 'Never', ttlSecondsAfterFinished: 0, state: 'Stopped' });
    expect(planText(d, [exitedOf(d, 0, SECOND, MINUTE, { id: ID })])).toBe('Instance/default/web: remove 3f2a1b0c9d8e (ttl after finished expired)');
  });

  it('keeps a run whose finish time is unknown rather than guess', () => {
    expect(planText(job, [exitedOf(job, 0, HOUR, MINUTE, { id: ID, finishedAt: undefined })])).toBe('Instance/default/web: nothing to do');
  });

  it('does not run the job again once its finished container is removed', () => {
    const finished = exitedOf(job, 0, 2 * MINUTE, MINUTE, { id: ID });
    const first = planInstance(planInput(job, [finished]));
    expect(first.actions).toEqual([
      {
        type: 'remove',
        cause: 'ttl after finished expired',
        containerId: ID,
        completed: { configHash: job.hash.hash, hashVersion: '1', exitCode: 0, at: NOW - 2 * MINUTE },
      },
    ]);
    // The controller executes the remove and records what it carries.
    const action = first.actions[0]!;
    const memory: RestartMemory = { restartCount: 0, ...(action.type === 'remove' && action.completed ? { completed: action.completed } : {}) };
    expect(planText(job, [], { memory })).toBe('Instance/default/web: nothing to do');
    // Without that record (or with a new config) it would run again.
    expect(planText(job, [])).toBe('Instance/default/web: create berth-default-web (container missing)');
  });
});
