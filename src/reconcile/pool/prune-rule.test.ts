import { describe, expect, it } from 'vitest';
import { planPool } from './plan-pool.js';
import { desiredPoolOf, HOUR, memberOf, NOW, poolInput, poolPlanText } from './testing.js';

describe('pool prune rule: the spec is gone', () => {
  const d = desiredPoolOf();
  const warm = memberOf(d, 1, { container: { createdAt: NOW - 2 * HOUR } });
  const starting = memberOf(d, 2, { health: 'starting' });
  const claimed = memberOf(d, 3, { claimedBy: 'InstanceClaim/sandboxes/job-7', container: { createdAt: NOW - 3 * HOUR } });
  const theirs = memberOf(d, 4, { container: { managedBy: 'someone-else' } });

  it('removes every member of ours, unclaimed oldest first, then the claimed ones naming their claim', () => {
    expect(poolPlanText(undefined, [claimed, starting, theirs, warm])).toBe(
      [
        'InstancePool/sandboxes/runners: remove m-1 a1a1a1a1a1a1 (pool deleted)',
        'InstancePool/sandboxes/runners: remove m-2 a2a2a2a2a2a2 (pool deleted)',
        'InstancePool/sandboxes/runners: remove m-3 a3a3a3a3a3a3 (pool deleted; claim InstanceClaim/sandboxes/job-7 loses its member)',
      ].join('\n'),
    );
  });

  it('keeps them all when the deleted spec opted out of pruning', () => {
    expect(poolPlanText(undefined, [warm, claimed, theirs], { pruneDisabled: true })).toBe(
      'InstancePool/sandboxes/runners: waiting PruneDisabled (pool deleted; berth.dev/prune: disabled keeps 2 members)',
    );
  });

  it('has nothing to do when nothing of ours is left, or only members already being removed', () => {
    expect(poolPlanText(undefined, [theirs])).toBe('InstancePool/sandboxes/runners: nothing to do');
    expect(poolPlanText(undefined, [memberOf(d, 1, { container: { state: 'removing' } })], { pruneDisabled: true })).toBe(
      'InstancePool/sandboxes/runners: nothing to do',
    );
  });

  it('reports no rollout for a deleted pool', () => {
    expect(planPool(poolInput(undefined, [warm, claimed])).rollout).toEqual({ updated: 0, total: 2, done: true });
  });
});
