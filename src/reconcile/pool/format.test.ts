import { describe, expect, it } from 'vitest';
import { formatPoolAction, formatPoolPlan, formatPoolPlans } from './format.js';
import { memberCid, NOW, POOL_KEY } from './testing.js';
import type { PoolPlan } from './types.js';

const done = { updated: 3, total: 3, done: true };

describe('formatPoolPlan', () => {
  it('prints one line per action with its member, short id and cause, in plan order', () => {
    const plan: PoolPlan = {
      key: POOL_KEY,
      actions: [
        { type: 'remove', containerId: memberCid(1), member: 'm-1', cause: 'config hash changed: image', graceSeconds: 0 },
        { type: 'recycle', containerId: memberCid(2), member: 'm-2', cause: 'released after use 1 of 3' },
        { type: 'create', member: 'm-3', cause: 'below pool minimum' },
      ],
      rollout: { updated: 2, total: 3, done: false },
      nextDeadline: NOW + 90_000,
    };
    expect(formatPoolPlan(plan)).toBe(
      [
        'InstancePool/sandboxes/runners: remove m-1 a1a1a1a1a1a1 (config hash changed: image)',
        'InstancePool/sandboxes/runners: recycle m-2 a2a2a2a2a2a2 (released after use 1 of 3)',
        'InstancePool/sandboxes/runners: create m-3 (below pool minimum)',
        'InstancePool/sandboxes/runners: rollout 2 of 3 members updated',
        'InstancePool/sandboxes/runners: next check at 2026-01-01T12:01:30Z',
      ].join('\n'),
    );
  });

  it('shows the short id once for a member without a member label', () => {
    expect(formatPoolAction({ type: 'remove', containerId: memberCid(7), member: 'a7a7a7a7a7a7', cause: 'pool deleted', graceSeconds: 0 })).toBe('remove a7a7a7a7a7a7 (pool deleted)');
  });

  it('says "nothing to do" for an empty plan, and prints a wait instead', () => {
    expect(formatPoolPlan({ key: POOL_KEY, actions: [], rollout: done })).toBe('InstancePool/sandboxes/runners: nothing to do');
    expect(
      formatPoolPlan({ key: POOL_KEY, actions: [], rollout: done, waiting: { reason: 'PruneDisabled', message: 'pool deleted; berth.dev/prune: disabled keeps 2 members' } }),
    ).toBe('InstancePool/sandboxes/runners: waiting PruneDisabled (pool deleted; berth.dev/prune: disabled keeps 2 members)');
  });

  it('joins several plans in the order given', () => {
    const other = { ...POOL_KEY, name: 'builders' };
    expect(formatPoolPlans([{ key: POOL_KEY, actions: [], rollout: done }, { key: other, actions: [{ type: 'create', member: 'm-1', cause: 'claims waiting' }], rollout: done }])).toBe(
      ['InstancePool/sandboxes/runners: nothing to do', 'InstancePool/sandboxes/builders: create m-1 (claims waiting)'].join('\n'),
    );
  });
});
