import { describe, expect, it } from 'vitest';
import { cid, containerOf, desiredInstance, exitedOf, MINUTE, NOW, planText, SECOND } from './testing.js';

const ID = cid('3f2a1b0c9d8e');

describe('exited rule: restart per restartPolicy, with CrashLoopBackOff', () => {
  it('Always restarts any exit, the first time at once', () => {
    const d = desiredInstance({ restartPolicy: 'Always' });
    expect(planText(d, [exitedOf(d, 0, SECOND, SECOND, { id: ID })])).toBe('Instance/default/web: restart 3f2a1b0c9d8e attempt 1 (container exited with code 0)');
    expect(planText(d, [exitedOf(d, 137, SECOND, SECOND, { id: ID, oomKilled: true })])).toBe(
      'Instance/default/web: restart 3f2a1b0c9d8e attempt 1 (container was oom-killed)',
    );
    expect(planText(d, [containerOf(d, { id: ID, state: 'dead' })])).toBe('Instance/default/web: restart 3f2a1b0c9d8e attempt 1 (container is dead)');
  });

  it('OnFailure restarts a failure only', () => {
    const d = desiredInstance({ restartPolicy: 'OnFailure' });
    expect(planText(d, [exitedOf(d, 2, SECOND, SECOND, { id: ID })])).toBe('Instance/default/web: restart 3f2a1b0c9d8e attempt 1 (container exited with code 2)');
    expect(planText(d, [exitedOf(d, 0, SECOND, SECOND, { id: ID })])).toBe('Instance/default/web: nothing to do');
  });

  it('Never restarts nothing', () => {
    const d = desiredInstance({ restartPolicy: 'Never' });
    expect(planText(d, [exitedOf(d, 1, SECOND, SECOND, { id: ID })])).toBe('Instance/default/web: nothing to do');
  });

  describe('backoff', () => {
    const d = desiredInstance();
    const crashed = exitedOf(d, 1, SECOND, 2 * SECOND, { id: ID });

    it('waits lastRestartAt + delay before the next restart, and says why', () => {
      expect(planText(d, [crashed], { memory: { restartCount: 3, lastRestartAt: NOW - 30 * SECOND } })).toBe(
        'Instance/default/web: waiting CrashLoopBackOff until 2026-01-01T12:00:10Z (back-off 40s restarting failed container 3f2a1b0c9d8e (exited with code 1))',
      );
    });

    it('caps the delay at 5 minutes', () => {
      expect(planText(d, [crashed], { memory: { restartCount: 12, lastRestartAt: NOW - MINUTE } })).toBe(
        'Instance/default/web: waiting CrashLoopBackOff until 2026-01-01T12:04:00Z (back-off 5m0s restarting failed container 3f2a1b0c9d8e (exited with code 1))',
      );
    });

    it('restarts once the delay is over, counting attempts', () => {
      expect(planText(d, [crashed], { memory: { restartCount: 3, lastRestartAt: NOW - 40 * SECOND } })).toBe(
        'Instance/default/web: restart 3f2a1b0c9d8e attempt 4 (container exited with code 1)',
      );
    });

    it('starts over after the container ran for 10 minutes', () => {
      const ranLong = exitedOf(d, 1, SECOND, 10 * MINUTE, { id: ID });
      expect(planText(d, [ranLong], { memory: { restartCount: 8, lastRestartAt: NOW - 11 * MINUTE } })).toBe(
        'Instance/default/web: restart 3f2a1b0c9d8e attempt 1 (container exited with code 1)',
      );
    });
  });

  it('starts a container that was created but never started, whatever the policy', () => {
    for (const restartPolicy of ['Always', 'OnFailure', 'Never']) {
      const d = desiredInstance({ restartPolicy });
      expect(planText(d, [containerOf(d, { id: ID, state: 'created', startedAt: undefined })], { memory: { restartCount: 5, lastRestartAt: NOW } })).toBe(
        'Instance/default/web: start 3f2a1b0c9d8e (container created but not started)',
      );
    }
  });

  it('leaves a running, paused or engine-restarting container alone', () => {
    const d = desiredInstance();
    for (const state of ['running', 'paused', 'restarting'] as const) {
      expect(planText(d, [containerOf(d, { id: ID, state })])).toBe('Instance/default/web: nothing to do');
    }
  });
});
