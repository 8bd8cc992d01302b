// A claim's status from its binding: literals in, status out.
import { describe, expect, it } from 'vitest';
import { claimStatus } from './status.js';

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const ISO = new Date(NOW).toISOString();

describe('claimStatus', () => {
  it('Pending on an existing pool says its place in the queue', () => {
    expect(claimStatus({ binding: { phase: 'Pending' }, poolName: 'runners', poolExists: true, position: 2, generation: 1, now: NOW })).toEqual({
      phase: 'Pending',
      observedGeneration: 1,
      conditions: [{ type: 'Bound', status: 'False', reason: 'WaitingForMember', message: 'waiting for a warm member of pool runners (position 2 in the queue)', observedGeneration: 1, lastTransitionTime: ISO }],
    });
  });

  it('Pending on a missing pool says so', () => {
    const s = claimStatus({ binding: { phase: 'Pending' }, poolName: 'gone', poolNamespace: 'team-a', poolExists: false, generation: 1, now: NOW });
    expect(s.conditions[0]).toMatchObject({ reason: 'PoolNotFound', message: 'pool gone does not exist (yet) in namespace team-a' });
  });

  it('Bound carries the member, its container and ports, times as RFC 3339; the condition keeps its transition time while it holds', () => {
    const binding = { phase: 'Bound' as const, instance: 'runners-ab12c', containerId: 'c1', ports: [], boundAt: NOW, expiresAt: NOW + 60_000, waitMs: 3, reason: 'Bound', message: 'bound to runners-ab12c' };
    const first = claimStatus({ binding, poolName: 'runners', poolExists: true, generation: 1, now: NOW });
    expect(first).toMatchObject({ phase: 'Bound', instance: 'runners-ab12c', containerId: 'c1', boundAt: ISO, expiresAt: new Date(NOW + 60_000).toISOString(), waitDurationMs: 3 });
    expect(first.conditions[0]).toMatchObject({ type: 'Bound', status: 'True', reason: 'Bound' });
    const later = claimStatus({ binding, poolName: 'runners', poolExists: true, generation: 1, previous: first, now: NOW + 5000 });
    expect(later.conditions[0]!.lastTransitionTime).toBe(ISO);
  });

  it('Failed keeps the reason the rules gave', () => {
    const s = claimStatus({ binding: { phase: 'Failed', reason: 'ClaimTimeout', message: 'no warm member of pool runners became free within 30s' }, poolName: 'runners', poolExists: true, generation: 3, now: NOW });
    expect(s).toMatchObject({ phase: 'Failed', observedGeneration: 3 });
    expect(s.conditions[0]).toMatchObject({ status: 'False', reason: 'ClaimTimeout', observedGeneration: 3 });
  });
});
