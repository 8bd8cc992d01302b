import { describe, expect, it } from 'vitest';
import { planPool } from './plan-pool.js';
import { poolStatus, type PoolStatusInput } from './status.js';
import { CONTROLLER_ID, desiredPoolOf, HOUR, memberOf, NOW, poolInput, SECOND } from './testing.js';
import type { DesiredPool, ObservedMember } from './types.js';

const NOW_ISO = '2026-01-01T12:00:00.000Z';

function statusOf(desired: DesiredPool, members: ObservedMember[], extra: Partial<PoolStatusInput> = {}) {
  const pendingClaims = extra.pendingClaims ?? 0;
  const plan = extra.plan ?? planPool(poolInput(desired, members, { pendingClaims }));
  return poolStatus({ desired, generation: 4, members, plan, pendingClaims, claimWait: { count: 0 }, now: NOW, ...extra });
}

const brief = (s: ReturnType<typeof statusOf>) => s.conditions.map((c) => `${c.type}=${c.status} ${c.reason}: ${c.message}`);

describe('poolStatus', () => {
  const d = desiredPoolOf({ minReady: 2 });
  const old = desiredPoolOf({ minReady: 2 }, { image: 'python:3.11-slim' });

  it('counts members and reports a converged pool', () => {
    const s = statusOf(d, [memberOf(d, 1), memberOf(d, 2), memberOf(d, 3, { claimedBy: 'InstanceClaim/sandboxes/a' })], {
      claimWait: { p50Ms: 3, p99Ms: 40, count: 12 },
    });
    expect(s).toEqual({
      replicas: 3,
      ready: 2,
      claimed: 1,
      starting: 0,
      terminating: 0,
      waiting: 0,
      updatedReplicas: 3,
      configHash: d.hash.hash,
      observedGeneration: 4,
      conditions: [
        { type: 'Ready', status: 'True', reason: 'MinimumReady', message: '2 of 2 warm members ready', observedGeneration: 4, lastTransitionTime: NOW_ISO },
        { type: 'Progressing', status: 'False', reason: 'Converged', message: 'the pool matches its spec', observedGeneration: 4, lastTransitionTime: NOW_ISO },
        { type: 'Degraded', status: 'False', reason: 'AsExpected', message: '', observedGeneration: 4, lastTransitionTime: NOW_ISO },
      ],
      claimWait: { p50Ms: 3, p99Ms: 40, count: 12 },
    });
  });

  it('counts terminating members among replicas, never as ready', () => {
    const s = statusOf(d, [memberOf(d, 1), memberOf(d, 2, { health: 'starting' })], { terminating: 2, pendingClaims: 3 });
    expect([s.replicas, s.ready, s.starting, s.terminating, s.waiting]).toEqual([4, 1, 1, 2, 3]);
  });

  it('is below minimum while members start, and scaling', () => {
    const s = statusOf(d, [memberOf(d, 1, { health: 'starting' })], { pendingClaims: 1 });
    expect(brief(s)).toEqual([
      'Ready=False PoolBelowMinimum: 0 of 2 warm members ready; 1 claim waiting',
      'Progressing=True Scaling: create 1 (below pool minimum); create 1 (claims waiting); 1 member starting',
      'Degraded=False AsExpected: ',
    ]);
    expect(s.ready).toBe(0);
  });

  it('says when maxSize keeps the pool below its minimum (claimed and terminating members count toward it)', () => {
    const capped = desiredPoolOf({ minReady: 2, maxSize: 3 });
    const s = statusOf(capped, [memberOf(capped, 1), memberOf(capped, 2, { claimedBy: 'InstanceClaim/sandboxes/a' })], { terminating: 1, pendingClaims: 1 });
    expect(brief(s)[0]).toBe('Ready=False PoolBelowMinimum: 1 of 2 warm members ready; 1 claimed; 1 claim waiting; maxSize 3 reached');
    const room = statusOf(capped, [memberOf(capped, 1), memberOf(capped, 2, { claimedBy: 'InstanceClaim/sandboxes/a' })]);
    expect(brief(room)[0]).toBe('Ready=False PoolBelowMinimum: 1 of 2 warm members ready; 1 claimed');
  });

  it('reports a rollout by config drift with the drifted fields, and claimed members waiting for release', () => {
    const s = statusOf(d, [memberOf(old, 1), memberOf(old, 2), memberOf(old, 3, { claimedBy: 'InstanceClaim/sandboxes/a' })]);
    expect(brief(s)[1]).toBe('Progressing=True ConfigDrift: 0 of 3 members updated; config hash changed: image; 1 claimed member is replaced after release');
    expect(s.updatedReplicas).toBe(0);
  });

  it('reports a rollout by age', () => {
    const aged = desiredPoolOf({ minReady: 1, maxAgeSeconds: 3600 });
    const s = statusOf(aged, [memberOf(aged, 1, { container: { createdAt: NOW - 2 * HOUR } })]);
    expect(brief(s)[1]).toBe('Progressing=True MaxAgeExceeded: 0 of 1 members updated; max age exceeded');
    expect(s.updatedReplicas).toBe(1);
  });

  it('is degraded by an act error, or a blocked rollout', () => {
    expect(brief(statusOf(d, [memberOf(d, 1), memberOf(d, 2)], { actError: { reason: 'ImagePullFailed', message: 'pull access denied' } }))[2]).toBe(
      'Degraded=True ImagePullFailed: pull access denied',
    );
    const full = desiredPoolOf({ minReady: 2, maxSize: 2 });
    expect(brief(statusOf(full, [memberOf(old, 1), memberOf(old, 2)]))[2]).toMatch(/^Degraded=True RolloutBlocked: rolling update cannot proceed/);
  });

  it('keeps lastTransitionTime while a condition keeps its status', () => {
    const first = statusOf(d, [memberOf(d, 1)]);
    const later = poolStatus({
      desired: d,
      generation: 5,
      members: [memberOf(d, 1, { health: 'starting' })],
      plan: planPool(poolInput(d, [memberOf(d, 1, { health: 'starting' })])),
      pendingClaims: 0,
      claimWait: { count: 0 },
      previous: first,
      now: NOW + 30 * SECOND,
    });
    const ready = later.conditions.find((c) => c.type === 'Ready')!;
    expect(ready).toMatchObject({ status: 'False', lastTransitionTime: NOW_ISO, observedGeneration: 5 });
    const now = statusOf(d, [memberOf(d, 1), memberOf(d, 2)], { previous: later, now: NOW + 60 * SECOND });
    expect(now.conditions.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True', lastTransitionTime: '2026-01-01T12:01:00.000Z' });
  });

  it('counts only this controller’s members when given its id, and never members being removed', () => {
    const members = [memberOf(d, 1), memberOf(d, 2, { container: { managedBy: 'someone' } }), memberOf(d, 3, { container: { state: 'removing' } })];
    expect(statusOf(d, members, { controllerId: CONTROLLER_ID }).replicas).toBe(1);
    expect(statusOf(d, members).replicas).toBe(2);
  });
});
