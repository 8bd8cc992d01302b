import { describe, expect, it } from 'vitest';
import { containerOf, desiredInstance, HOUR, NOW, planText } from './testing.js';

describe('missing rule: no container', () => {
  it('creates one under the canonical name', () => {
    expect(planText(desiredInstance(), [])).toBe('Instance/default/web: create berth-default-web (container missing)');
  });

  it('does not count another controller’s container as ours', () => {
    const d = desiredInstance();
    expect(planText(d, [containerOf(d, { managedBy: 'other-controller' })])).toBe('Instance/default/web: create berth-default-web (container missing)');
  });

  it('creates nothing while the Instance is Stopped', () => {
    expect(planText(desiredInstance({ state: 'Stopped' }), [])).toBe('Instance/default/web: nothing to do');
  });

  describe('a run-to-completion job that already completed', () => {
    const completedWith = (hash: string, exitCode: number) => ({ memory: { restartCount: 0, completed: { configHash: hash, hashVersion: '1', exitCode, at: NOW - HOUR } } });

    it('is not run again with the same config (Never, any exit code)', () => {
      const d = desiredInstance({ restartPolicy: 'Never' });
      expect(planText(d, [], completedWith(d.hash.hash, 0))).toBe('Instance/default/web: nothing to do');
      expect(planText(d, [], completedWith(d.hash.hash, 2))).toBe('Instance/default/web: nothing to do');
    });

    it('is not run again after a clean exit under OnFailure, but is after a failure', () => {
      const d = desiredInstance({ restartPolicy: 'OnFailure' });
      expect(planText(d, [], completedWith(d.hash.hash, 0))).toBe('Instance/default/web: nothing to do');
      expect(planText(d, [], completedWith(d.hash.hash, 1))).toBe('Instance/default/web: create berth-default-web (container missing)');
    });

    it('runs again when the config changed', () => {
      const before = desiredInstance({ restartPolicy: 'Never' });
      const after = desiredInstance({ restartPolicy: 'Never', image: 'busybox:1.37' });
      expect(planText(after, [], completedWith(before.hash.hash, 0))).toBe('Instance/default/web: create berth-default-web (container missing)');
    });

    it('runs again when the policy became Always', () => {
      const d = desiredInstance({ restartPolicy: 'Always' });
      expect(planText(d, [], completedWith(d.hash.hash, 0))).toBe('Instance/default/web: create berth-default-web (container missing)');
    });
  });
});
