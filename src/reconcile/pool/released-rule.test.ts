import { describe, expect, it } from 'vitest';
import { desiredPoolOf, memberOf, NOW, HOUR, poolPlanText } from './testing.js';

describe('released rule: recycle per policy', () => {
  it('Replace (the default): removes a released member; the minimum rule creates a fresh one', () => {
    const d = desiredPoolOf({ minReady: 2 });
    expect(poolPlanText(d, [memberOf(d, 1, { released: true, uses: 1 }), memberOf(d, 2)])).toBe(
      [
        'InstancePool/sandboxes/runners: remove m-1 a1a1a1a1a1a1 (released; replaced by a fresh member)',
        'InstancePool/sandboxes/runners: create m-3 (below pool minimum)',
      ].join('\n'),
    );
  });

  it('Reuse: sends a released member back to warm, counting it toward the minimum while it is re-probed', () => {
    const d = desiredPoolOf({ minReady: 2, recycle: { policy: 'Reuse', maxUses: 3 } });
    expect(poolPlanText(d, [memberOf(d, 1, { released: true, uses: 2 }), memberOf(d, 2)])).toBe(
      'InstancePool/sandboxes/runners: recycle m-1 a1a1a1a1a1a1 (released after use 2 of 3)',
    );
    const unlimited = desiredPoolOf({ minReady: 1, recycle: { policy: 'Reuse' } });
    expect(poolPlanText(unlimited, [memberOf(unlimited, 1, { released: true, uses: 1 })])).toBe(
      'InstancePool/sandboxes/runners: recycle m-1 a1a1a1a1a1a1 (released after 1 use)',
    );
  });

  it('Reuse: removes a member that reached maxUses', () => {
    const d = desiredPoolOf({ minReady: 1, recycle: { policy: 'Reuse', maxUses: 3 } });
    expect(poolPlanText(d, [memberOf(d, 1, { released: true, uses: 3 })])).toBe(
      [
        'InstancePool/sandboxes/runners: remove m-1 a1a1a1a1a1a1 (reached maxUses 3)',
        'InstancePool/sandboxes/runners: create m-2 (below pool minimum)',
      ].join('\n'),
    );
  });

  it('Reuse: removes a released member that failed, drifted or aged instead of recycling it', () => {
    const d = desiredPoolOf({ minReady: 0, maxAgeSeconds: 7200, recycle: { policy: 'Reuse' } });
    const old = desiredPoolOf({ minReady: 0 }, { image: 'python:3.11-slim' });
    expect(
      poolPlanText(d, [
        memberOf(d, 1, { released: true, uses: 1, health: 'exited', container: { state: 'exited', exitCode: 137 } }),
        memberOf(old, 2, { released: true, uses: 1 }),
        memberOf(d, 3, { released: true, uses: 1, container: { createdAt: NOW - 3 * HOUR } }),
      ]),
    ).toBe(
      [
        'InstancePool/sandboxes/runners: remove m-3 a3a3a3a3a3a3 (released; max age exceeded)',
        'InstancePool/sandboxes/runners: remove m-1 a1a1a1a1a1a1 (released; exited with code 137)',
        'InstancePool/sandboxes/runners: remove m-2 a2a2a2a2a2a2 (released; config hash changed: image)',
        'InstancePool/sandboxes/runners: rollout 1 of 3 members updated',
      ].join('\n'),
    );
  });

  it('never touches a member still bound to a claim, even one flagged released', () => {
    const d = desiredPoolOf({ minReady: 1 });
    expect(poolPlanText(d, [memberOf(d, 1, { claimedBy: 'InstanceClaim/sandboxes/job-1', released: true }), memberOf(d, 2)])).toBe(
      'InstancePool/sandboxes/runners: nothing to do',
    );
  });
});
