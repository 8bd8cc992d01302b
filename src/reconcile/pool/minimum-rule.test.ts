import { describe, expect, it } from 'vitest';
import { planPool } from './plan-pool.js';
import { desiredPoolOf, memberOf, poolInput, poolPlanText } from './testing.js';

const lines = (...l: string[]): string => l.map((x) => `InstancePool/sandboxes/runners: ${x}`).join('\n');

describe('minimum rule: keep minReady warm, plus one per waiting claim, within maxSize', () => {
  it('fills an empty pool to minReady', () => {
    const d = desiredPoolOf({ minReady: 3 });
    expect(poolPlanText(d, [])).toBe(lines('create m-1 (below pool minimum)', 'create m-2 (below pool minimum)', 'create m-3 (below pool minimum)'));
  });

  it('counts starting members toward the minimum: nothing more while they come up', () => {
    const d = desiredPoolOf({ minReady: 2 });
    expect(poolPlanText(d, [memberOf(d, 1, { health: 'starting' }), memberOf(d, 2)])).toBe(lines('nothing to do'));
  });

  it('does not count claimed members: a claim takes a member out of the warm set', () => {
    const d = desiredPoolOf({ minReady: 2 });
    expect(poolPlanText(d, [memberOf(d, 1, { claimedBy: 'InstanceClaim/sandboxes/a' }), memberOf(d, 2)])).toBe(lines('create m-3 (below pool minimum)'));
  });

  it('grows for waiting claims', () => {
    const d = desiredPoolOf({ minReady: 2 });
    expect(poolPlanText(d, [memberOf(d, 1)], { pendingClaims: 2 })).toBe(
      lines('create m-2 (below pool minimum)', 'create m-3 (claims waiting)', 'create m-4 (claims waiting)'),
    );
  });

  it('never lets all members, claimed and starting included, exceed maxSize', () => {
    const d = desiredPoolOf({ minReady: 2, maxSize: 4 });
    const members = [memberOf(d, 1, { claimedBy: 'InstanceClaim/sandboxes/a' }), memberOf(d, 2, { claimedBy: 'InstanceClaim/sandboxes/b' }), memberOf(d, 3, { health: 'starting' })];
    expect(poolPlanText(d, members, { pendingClaims: 5 })).toBe(lines('create m-4 (below pool minimum)'));
    expect(poolPlanText(d, [...members, memberOf(d, 4)], { pendingClaims: 5 })).toBe(lines('nothing to do'));
  });

  it('skips member ids already in use', () => {
    const d = desiredPoolOf({ minReady: 2 });
    const plan = planPool(poolInput(d, [memberOf(d, 1)], { newMemberId: (i) => ['m-1', 'm-1', 'x-9', 'x-10'][i] ?? `z-${i}` }));
    expect(plan.actions).toEqual([{ type: 'create', member: 'x-9', cause: 'below pool minimum' }]);
  });

  it('creates fewer rather than loop when the id generator repeats itself', () => {
    const d = desiredPoolOf({ minReady: 3 });
    const plan = planPool(poolInput(d, [], { newMemberId: () => 'same' }));
    expect(plan.actions).toEqual([{ type: 'create', member: 'same', cause: 'below pool minimum' }]);
  });

  it('with minReady 0 and no claims keeps no warm member', () => {
    const d = desiredPoolOf({ minReady: 0 });
    expect(poolPlanText(d, [])).toBe(lines('nothing to do'));
  });
});
