import { describe, expect, it } from 'vitest';
import { planPool } from './plan-pool.js';
import { desiredPoolOf, HOUR, memberOf, MINUTE, NOW, poolInput, poolPlanText } from './testing.js';

const lines = (...l: string[]): string => l.map((x) => `InstancePool/sandboxes/runners: ${x}`).join('\n');

describe('rollout rule: drifted and aged warm members rotate out, surge first', () => {
  const d = desiredPoolOf({ minReady: 3 });
  const old = desiredPoolOf({ minReady: 3 }, { image: 'python:3.11-slim' });

  it('surges one current member before any old one goes (maxSurge 1, maxUnavailable 0)', () => {
    expect(poolPlanText(d, [memberOf(old, 1), memberOf(old, 2), memberOf(old, 3)])).toBe(
      lines('create m-4 (surge for rolling update)', 'rollout 0 of 3 members updated'),
    );
  });

  it('waits while the surge member is still starting: nothing ready may go', () => {
    expect(poolPlanText(d, [memberOf(old, 1), memberOf(old, 2), memberOf(old, 3), memberOf(d, 4, { health: 'starting' })])).toBe(
      lines('nothing to do', 'rollout 1 of 4 members updated'),
    );
  });

  it('removes one old member once the surge member is ready, naming the drifted fields, and surges the next', () => {
    expect(poolPlanText(d, [memberOf(old, 1), memberOf(old, 2), memberOf(old, 3), memberOf(d, 4)])).toBe(
      lines('remove m-1 a1a1a1a1a1a1 (config hash changed: image)', 'create m-5 (surge for rolling update)', 'rollout 1 of 4 members updated'),
    );
  });

  it('removes an old member that is not ready yet at once: it costs no availability', () => {
    expect(poolPlanText(d, [memberOf(old, 1, { health: 'starting' }), memberOf(old, 2), memberOf(old, 3)])).toBe(
      lines('remove m-1 a1a1a1a1a1a1 (config hash changed: image)', 'create m-4 (below pool minimum)', 'create m-5 (surge for rolling update)', 'rollout 0 of 3 members updated'),
    );
  });

  it('with maxUnavailable 1 and no surge, takes one old member down first', () => {
    const d0 = desiredPoolOf({ minReady: 3, updateStrategy: { maxSurge: 0, maxUnavailable: 1 } });
    expect(poolPlanText(d0, [memberOf(old, 1), memberOf(old, 2), memberOf(old, 3)])).toBe(
      lines('remove m-1 a1a1a1a1a1a1 (config hash changed: image)', 'create m-4 (below pool minimum)', 'rollout 0 of 3 members updated'),
    );
  });

  it('surges up to maxSurge at once', () => {
    const d2 = desiredPoolOf({ minReady: 3, updateStrategy: { maxSurge: 2 } });
    expect(poolPlanText(d2, [memberOf(old, 1), memberOf(old, 2), memberOf(old, 3)])).toBe(
      lines('create m-4 (surge for rolling update)', 'create m-5 (surge for rolling update)', 'rollout 0 of 3 members updated'),
    );
  });

  it('never disrupts a claimed member: it is replaced after release, and the rollout waits for it', () => {
    const claimedOld = memberOf(old, 1, { claimedBy: 'InstanceClaim/sandboxes/job-1' });
    expect(poolPlanText(d, [claimedOld, memberOf(d, 2), memberOf(d, 3), memberOf(d, 4)])).toBe(lines('nothing to do', 'rollout 3 of 4 members updated'));
    expect(planPool(poolInput(d, [claimedOld, memberOf(d, 2), memberOf(d, 3), memberOf(d, 4)])).rollout).toEqual({ updated: 3, total: 4, done: false });
  });

  it('rotates members past maxAgeSeconds the same way, and wakes when the next one comes of age', () => {
    const aged = desiredPoolOf({ minReady: 2, maxAgeSeconds: 2 * 3600 });
    const members = [memberOf(aged, 1, { container: { createdAt: NOW - 3 * HOUR } }), memberOf(aged, 2, { container: { createdAt: NOW - 90 * MINUTE } })];
    expect(poolPlanText(aged, members)).toBe(
      lines('create m-3 (surge for rolling update)', 'rollout 1 of 2 members updated', 'next check at 2026-01-01T12:30:00Z'),
    );
    expect(poolPlanText(aged, [...members, memberOf(aged, 3, { container: { createdAt: NOW - MINUTE } })])).toBe(
      lines('remove m-1 a1a1a1a1a1a1 (max age exceeded)', 'rollout 2 of 3 members updated', 'next check at 2026-01-01T12:30:00Z'),
    );
  });

  it('wakes when the earliest young member comes of age, and plans nothing before', () => {
    const aged = desiredPoolOf({ minReady: 2, maxAgeSeconds: 2 * 3600 });
    expect(poolPlanText(aged, [memberOf(aged, 1), memberOf(aged, 2, { container: { createdAt: NOW - 30 * MINUTE } })])).toBe(
      lines('nothing to do', 'next check at 2026-01-01T13:00:00Z'),
    );
  });

  it('rotates drifted members before aged ones, oldest first; all at once when maxUnavailable allows, without surge once none is left', () => {
    const aged = desiredPoolOf({ minReady: 2, maxAgeSeconds: 3600, updateStrategy: { maxSurge: 1, maxUnavailable: 2 } });
    const oldAged = desiredPoolOf({ minReady: 2, maxAgeSeconds: 3600 }, { image: 'python:3.11-slim' });
    expect(
      poolPlanText(aged, [
        memberOf(aged, 1, { container: { createdAt: NOW - 5 * HOUR } }),
        memberOf(oldAged, 2, { container: { createdAt: NOW - 30 * MINUTE } }),
        memberOf(aged, 3, { container: { createdAt: NOW - 2 * HOUR } }),
      ]),
    ).toBe(
      lines(
        'remove m-2 a2a2a2a2a2a2 (config hash changed: image)',
        'remove m-1 a1a1a1a1a1a1 (max age exceeded)',
        'remove m-3 a3a3a3a3a3a3 (max age exceeded)',
        'create m-4 (below pool minimum)',
        'create m-5 (below pool minimum)',
        'rollout 0 of 3 members updated',
      ),
    );
  });

  it('waits visibly when maxSize leaves no room to surge and maxUnavailable is 0', () => {
    const full = desiredPoolOf({ minReady: 2, maxSize: 2 });
    expect(poolPlanText(full, [memberOf(old, 1), memberOf(old, 2)])).toBe(
      lines(
        'waiting RolloutBlocked (rolling update cannot proceed: 2 members fill maxSize 2, so none can surge, and removing one of 2 outdated members would leave fewer than 2 ready; raise maxSize or updateStrategy.maxUnavailable)',
        'rollout 0 of 2 members updated',
      ),
    );
    // With maxUnavailable 1 the same pool rolls one member at a time; the removed one holds its place within maxSize until it is gone.
    const full1 = desiredPoolOf({ minReady: 2, maxSize: 2, updateStrategy: { maxUnavailable: 1 } });
    expect(poolPlanText(full1, [memberOf(old, 1), memberOf(old, 2)])).toBe(lines('remove m-1 a1a1a1a1a1a1 (config hash changed: image)', 'rollout 0 of 2 members updated'));
    expect(poolPlanText(full1, [memberOf(old, 2)], { terminating: 1 })).toBe(lines('nothing to do', 'rollout 0 of 1 members updated'));
    expect(poolPlanText(full1, [memberOf(old, 2)])).toBe(lines('create m-3 (below pool minimum)', 'rollout 0 of 1 members updated'));
  });

  it('changes of pool sizes, timeouts or policies roll nothing', () => {
    const before = desiredPoolOf({ minReady: 2 });
    const after = desiredPoolOf({ minReady: 2, maxSize: 9, idleTimeoutSeconds: 60, recycle: { policy: 'Reuse', maxUses: 4 }, claimTimeoutSeconds: 5 });
    expect(after.hash).toEqual(before.hash);
    expect(poolPlanText(after, [memberOf(before, 1), memberOf(before, 2)])).toBe(lines('nothing to do'));
  });
});
