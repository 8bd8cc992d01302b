// The binder carries out the claim rules against live member views: a member
// that becomes ready serves the oldest waiting claim without any list; a bind
// wakes the pool; a deleted claim's member is released and its finalizer waits
// for the member to be handled; bindings survive a rebuild from statuses.
// Claims reconcile through the same Reconciler as every kind.
import { describe, expect, it, vi } from 'vitest';
import { ClaimSteps } from './claim-reconciler.js';
import { Reconciler } from './reconciler.js';
import { claimBinderWorld, TEST_NOW as NOW } from './memory-world.testkit.js';
import type { InstanceClaim, InstancePool } from '../spec/schema.js';

function setup() {
  const w = claimBinderWorld();
  // Claims reconcile through the generic reconciler, as in the Manager.
  const reconciler = new Reconciler(new ClaimSteps({ binder: w.binder, state: w.state }), { store: w.store, clock: w.clock, onPruned: (k) => w.released.push(k.name) });
  const reconcile = (name: string) => reconciler.reconcile(w.claimKey(name), new AbortController().signal);
  const claim = (name: string) => w.binder.claimArrived(w.applyClaim(name));
  const phase = w.status;
  const tick = (ms: number) => w.clock.advance(ms);
  return { ...w, claim, phase, tick, reconcile };
}

const flush = () => new Promise((r) => setImmediate(r));

/** A claim on the memberless pool, reconciled until it has timed out (claimTimeoutSeconds 30). */
async function timedOut(t: ReturnType<typeof setup>, name: string): Promise<void> {
  t.claim(name);
  await t.reconcile(name);
  t.tick(30_000);
  await t.reconcile(name);
}

describe('ClaimBinder', () => {
  it('binds a waiting claim the moment a member becomes ready, oldest claim first, and wakes the pool', async () => {
    const t = setup();
    t.members.push(t.member('a', { ready: false, phase: 'Probing' }));
    t.claim('first');
    t.tick(5);
    t.claim('second');
    await flush();
    expect(t.phase('first')).toBeUndefined();
    t.members[0] = t.member('a');
    t.binder.memberChanged(t.pool);
    await flush();
    expect(t.phase('first')).toMatchObject({ phase: 'Bound', instance: 'runners-a' });
    expect(t.phase('second')).toBeUndefined();
    expect(t.woken).toContain('runners');
    expect(t.binder.pendingCount(t.pool)).toBe(1);
  });

  it('the rules read a waiting claim as it is now: re-applied with a lease, it binds with that lease', async () => {
    const t = setup();
    t.members.push(t.member('a', { ready: false, phase: 'Probing' }));
    t.claim('lease');
    await t.reconcile('lease'); // the rules have read the claim once, without a ttl
    const [stored] = [t.store.get(t.claimKey('lease'))!.resource as InstanceClaim];
    t.store.apply({ ...stored, spec: { ...stored.spec, ttlSeconds: 60 } }, t.origin);
    t.members[0] = t.member('a');
    t.binder.memberChanged(t.pool);
    await flush();
    expect(t.phase('lease')).toMatchObject({ phase: 'Bound', instance: 'runners-a', expiresAt: new Date(NOW + 60_000).toISOString() });
  });

  it('never binds a terminating or claimed member', async () => {
    const t = setup();
    t.members.push(t.member('a', { terminating: true }), t.member('b'));
    t.claim('one');
    t.claim('two');
    await flush();
    expect(t.phase('one')?.instance).toBe('runners-b');
    expect(t.phase('two')).toBeUndefined();
  });

  it('a deleted claim releases its member; its finalizer waits until the member is recycled or gone', async () => {
    const t = setup();
    t.members.push(t.member('a'));
    t.claim('one');
    await flush();
    t.store.delete(t.claimKey('one'), t.origin);
    await t.reconcile('one');
    expect(t.state.member('InstancePool/sb/runners', 'a')).toMatchObject({ released: true, releasedBy: 'InstanceClaim/sb/one', uses: 1 });
    expect(t.released).toEqual([]);
    // A second look at the deleted claim still waits for the member.
    await t.reconcile('one');
    expect(t.released).toEqual([]);
    t.binder.memberHandled('InstanceClaim/sb/one');
    expect(t.released).toEqual(['one']);
  });

  it('a claim that waits claimTimeoutSeconds fails with ClaimTimeout', async () => {
    const t = setup();
    await timedOut(t, 'late');
    expect(t.phase('late')).toMatchObject({ phase: 'Failed' });
  });

  it('a cut claimTimeoutSeconds wakes each waiting claim at its new deadline', async () => {
    const t = setup();
    t.binder.poolApplied(t.pool);
    t.claim('a');
    t.tick(1_000);
    t.claim('b');
    await t.reconcile('a');
    await t.reconcile('b');
    const set = (spec: Partial<InstancePool['spec']>): void => {
      const runners = t.store.get(t.pool)!.resource as InstancePool;
      t.store.apply({ ...runners, spec: { ...runners.spec, ...spec } }, t.origin);
      t.binder.poolApplied(t.pool);
    };
    set({ minReady: 2 });
    set({ claimTimeoutSeconds: 60 });
    expect(t.wokenClaims).toEqual([]); // the same or a longer timeout: their timers come first
    t.tick(3_000);
    set({ claimTimeoutSeconds: 5 });
    expect(t.wokenClaims.sort()).toEqual(['a@1000', 'b@2000']);
    t.tick(1_000);
    await t.reconcile('a');
    expect([t.phase('a')?.phase, t.phase('b')?.phase]).toEqual(['Failed', 'Pending']);
  });

  it('a deleted pool: its waiting claims keep their timeout, are woken at their deadline, and fail PoolNotFound', async () => {
    const t = setup();
    const runners = t.store.get(t.pool)!.resource as InstancePool;
    t.store.apply({ ...runners, spec: { ...runners.spec, claimTimeoutSeconds: 4 } }, t.origin);
    t.binder.poolApplied(t.pool);
    t.claim('a');
    await t.reconcile('a');
    t.tick(1_000);
    t.store.delete(t.pool, t.origin);
    t.binder.poolApplied(t.pool);
    expect(t.wokenClaims).toEqual(['a@3000']);
    t.tick(3_000);
    await t.reconcile('a');
    expect(t.phase('a')).toMatchObject({ phase: 'Failed', conditions: [expect.objectContaining({ reason: 'PoolNotFound' })] });
  });

  it('a pool wake with no member free reads no queue; one with a member free binds the oldest', async () => {
    const t = setup();
    t.members.push(t.member('a', { ready: false, phase: 'Probing' }));
    t.claim('first');
    t.tick(5);
    t.claim('second');
    const reads = vi.spyOn(t.binder, 'planInput');
    t.binder.memberChanged(t.pool);
    await flush();
    expect(reads).not.toHaveBeenCalled();
    expect(t.binder.pendingCount(t.pool)).toBe(2);
    t.members[0] = t.member('a');
    t.binder.memberChanged(t.pool);
    await flush();
    expect(reads).toHaveBeenCalledTimes(1);
    expect(t.phase('first')).toMatchObject({ phase: 'Bound', instance: 'runners-a' });
    expect(t.binder.pendingCount(t.pool)).toBe(1);
  });

  it('an ended claim reconciles without reading its pool, and is still released once deleted', async () => {
    const t = setup();
    await timedOut(t, 'late');
    expect(t.phase('late')).toMatchObject({ phase: 'Failed' });
    const reads = vi.spyOn(t.binder, 'planInput');
    await t.reconcile('late');
    expect(reads).not.toHaveBeenCalled();
    expect(t.phase('late')).toMatchObject({ phase: 'Failed' });
    t.store.delete(t.claimKey('late'), t.origin);
    await t.reconcile('late');
    expect(reads).toHaveBeenCalled();
    expect(t.state.claims.has(`InstanceClaim/sb/late`)).toBe(false);
    expect(t.released).toContain('late');
  });

  it('a claim that times out wakes its pool, whose status counted it as waiting', async () => {
    const t = setup();
    t.claim('late');
    await t.reconcile('late');
    expect(t.binder.pendingCount(t.pool)).toBe(1);
    t.woken.length = 0;
    t.tick(30_000);
    await t.reconcile('late');
    await flush();
    expect(t.phase('late')).toMatchObject({ phase: 'Failed' });
    expect(t.binder.pendingCount(t.pool)).toBe(0);
    expect(t.woken).toContain('runners');
  });

  it('rebuilt from claim statuses, a Bound claim keeps its member and a new claim never gets it', async () => {
    const t = setup();
    t.applyClaim('held');
    t.state.rebuildFrom([{ id: 'InstanceClaim/sb/held', pool: 'InstancePool/sb/runners', createdAt: NOW - 60_000, status: { phase: 'Bound', instance: 'runners-a', containerId: 'cid-a' } }]);
    t.members.push(t.member('a'));
    t.claim('fresh');
    await flush();
    expect(t.phase('fresh')).toBeUndefined();
    await t.reconcile('held');
    expect(t.state.claims.get('InstanceClaim/sb/held')).toMatchObject({ phase: 'Bound', member: 'a' });
  });
});
