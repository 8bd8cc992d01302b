import { describe, expect, it } from 'vitest';
import { desiredPoolOf, memberOf, poolPlanText } from './testing.js';

describe('health rule: failed unclaimed members are replaced', () => {
  const d = desiredPoolOf({ minReady: 2 });

  it('removes a member whose health check fails, and one that exited; the minimum rule creates fresh ones', () => {
    expect(
      poolPlanText(d, [
        memberOf(d, 1, { health: 'unhealthy' }),
        memberOf(d, 2, { health: 'exited', container: { state: 'exited', exitCode: 1 } }),
        memberOf(d, 3),
      ]),
    ).toBe(
      [
        'InstancePool/sandboxes/runners: remove m-1 a1a1a1a1a1a1 (health check failing)',
        'InstancePool/sandboxes/runners: remove m-2 a2a2a2a2a2a2 (exited with code 1)',
        'InstancePool/sandboxes/runners: create m-4 (below pool minimum)',
      ].join('\n'),
    );
  });

  it('trusts the container state over a stale health reading', () => {
    expect(poolPlanText(d, [memberOf(d, 1, { health: 'ready', container: { state: 'dead' } }), memberOf(d, 2)])).toBe(
      ['InstancePool/sandboxes/runners: remove m-1 a1a1a1a1a1a1 (is dead)', 'InstancePool/sandboxes/runners: create m-3 (below pool minimum)'].join('\n'),
    );
    expect(poolPlanText(d, [memberOf(d, 1, { health: 'exited', container: { state: 'exited', oomKilled: true, exitCode: 137 } }), memberOf(d, 2)])).toBe(
      ['InstancePool/sandboxes/runners: remove m-1 a1a1a1a1a1a1 (was oom-killed)', 'InstancePool/sandboxes/runners: create m-3 (below pool minimum)'].join('\n'),
    );
  });

  it('leaves a claimed member alone however it fares: its claim owns it', () => {
    const claim = 'InstanceClaim/sandboxes/job-1';
    expect(
      poolPlanText(d, [
        memberOf(d, 1, { health: 'unhealthy', claimedBy: claim }),
        memberOf(d, 2, { health: 'exited', claimedBy: claim, container: { state: 'exited', exitCode: 1 } }),
        memberOf(d, 3),
        memberOf(d, 4),
      ]),
    ).toBe('InstancePool/sandboxes/runners: nothing to do');
  });

  it('does not count a starting member as failed', () => {
    expect(poolPlanText(d, [memberOf(d, 1, { health: 'starting', container: { state: 'created' } }), memberOf(d, 2)])).toBe(
      'InstancePool/sandboxes/runners: nothing to do',
    );
  });
});
