// The pool and claim reconciles (Reconciler + PoolSteps, ClaimSteps, the
// ClaimBinder) on the in-memory runtime with a FakeClock, wired as the
// Manager wires them: top up to minReady, never above maxSize (claims waiting
// included), terminating members hold their place until gone, FIFO binding of
// waiting claims, and the claim wait timeout.
import { describe, expect, it } from 'vitest';
import { ClaimBinder } from './claim-binder.js';
import { ClaimSteps } from './claim-reconciler.js';
import { ClaimState } from '../state/claim-state.js';
import { PoolSteps } from './pool-reconciler.js';
import { Reconciler } from './reconciler.js';
import { API, CONTROLLER_ID, keyOfPool, memoryWorld, pool } from './memory-world.testkit.js';
import { InstanceClaimSchema, type ResourceKey } from '../spec/schema.js';
import type { PoolStatus } from '../reconcile/pool/status-types.js';
import type { ClaimStatus } from '../spec/status.js';

function setup() {
  let binder: ClaimBinder | undefined;
  // As the Manager: a member passing its probe serves the oldest waiting claim at once.
  const w = memoryWorld({ onTransition: (owner, phase) => owner.kind === 'InstancePool' && phase === 'Ready' && binder?.memberChanged(owner) });
  const claims = new ClaimState(undefined);
  const wokenPools: string[] = [];
  const claimWakes: Array<{ name: string; afterMs: number }> = [];
  binder = new ClaimBinder({
    store: w.store,
    state: claims,
    recorder: w.recorder,
    clock: w.clock,
    members: (p) => w.supervisor.views(p),
    wakePool: (p) => wokenPools.push(p.name),
    wakeClaim: (c, afterMs) => claimWakes.push({ name: c.name, afterMs }),
  });
  const poolSteps = new PoolSteps({ controllerId: CONTROLLER_ID, runtime: w.runtime, supervisor: w.supervisor, recorder: w.recorder, binder, claims, policy: w.policy, clock: w.clock });
  const pools = new Reconciler(poolSteps, { store: w.store, clock: w.clock });
  const claimReconciler = new Reconciler(new ClaimSteps({ binder, state: claims }), { store: w.store, clock: w.clock });
  const key = keyOfPool('py');
  const reconcilePool = () => pools.reconcile(key, w.signal);
  const claimKey = (name: string): ResourceKey => ({ kind: 'InstanceClaim', namespace: 'default', name });
  const claim = (name: string) => {
    w.store.apply(InstanceClaimSchema.parse({ apiVersion: 'berth.dev/v1alpha1', kind: 'InstanceClaim', metadata: { name, namespace: 'default' }, spec: { poolRef: { name: 'py' } } }), API);
    binder.claimArrived(claimKey(name));
  };
  const reconcileClaim = (name: string) => claimReconciler.reconcile(claimKey(name), w.signal);
  const claimStatus = (name: string) => w.store.get(claimKey(name))?.object.status as ClaimStatus | undefined;
  const status = () => w.store.get(key)?.object.status as PoolStatus | undefined;
  const members = () => w.runtime.snapshot().filter((c) => c.owner === 'py');
  /** Reconciles the pool, then lets the members it launched or removed get there. */
  const converge = async () => {
    await reconcilePool();
    await w.settle();
  };
  return { ...w, claims, binder, key, reconcilePool, converge, claim, reconcileClaim, claimStatus, status, members, wokenPools, claimWakes };
}

describe('InstancePool reconcile on the memory runtime', () => {
  it('tops up to minReady without waiting for the engine, and reports the members ready', async () => {
    const t = setup();
    t.store.apply(pool('py', { minReady: 2, maxSize: 4 }), API);
    const hold = t.runtime.script.hold('create');
    expect(await t.reconcilePool()).toEqual({}); // returned with both creates still in flight
    await hold.reached;
    expect(t.members()).toEqual([]);
    await t.reconcilePool(); // the actors know of the creates in flight: they count
    expect(t.status()).toMatchObject({ replicas: 2, ready: 0, starting: 2 });
    expect(t.runtime.script.count('create')).toBe(2); // both creates are at the engine; none planned twice
    expect(hold.waiting).toBe(2);
    hold.release();
    await t.settle();
    expect(t.members().map((m) => m.state)).toEqual(['running', 'running']);
    expect(t.members().every((m) => /^berth-default-py-[0-9a-f]{5}$/.test(m.name) && m.member !== undefined)).toBe(true);
    expect(t.transitions.filter((x) => x.owner === 'py' && x.phase === 'Ready')).toHaveLength(2);
    await t.converge();
    expect(t.status()).toMatchObject({ replicas: 2, ready: 2, starting: 0 });
    expect(t.runtime.script.count('create')).toBe(2); // converged: nothing more
  });

  it('grows for waiting claims but never above maxSize', async () => {
    const t = setup();
    t.store.apply(pool('py', { minReady: 1, maxSize: 3 }), API);
    for (const n of ['c1', 'c2', 'c3', 'c4', 'c5']) t.claim(n);
    await t.converge();
    expect(t.members()).toHaveLength(3);
    // Members became ready and took the oldest claims; the pool stays at maxSize.
    await t.converge();
    await t.converge();
    expect(t.members()).toHaveLength(3);
    expect(t.runtime.script.count('create')).toBe(3);
    expect(t.status()).toMatchObject({ replicas: 3 });
  });

  it('a member being removed holds its place within maxSize until it is gone', async () => {
    const t = setup();
    t.store.apply(pool('py', { minReady: 2, maxSize: 2 }), API);
    await t.converge();
    const [a] = t.members();
    const hold = t.runtime.script.hold('remove');
    t.runtime.exit(a!.id, 1);
    await t.converge(); // the exited member is removed; no room for its replacement yet
    await hold.reached;
    expect(t.runtime.script.count('create')).toBe(2);
    expect(t.status()).toMatchObject({ terminating: 1, replicas: 2 });
    await t.converge();
    expect(t.runtime.script.count('create')).toBe(2);
    hold.release();
    await t.settle();
    expect(t.members().map((m) => m.id)).not.toContain(a!.id);
    await t.converge();
    expect(t.runtime.script.count('create')).toBe(3);
    expect(t.members().filter((m) => m.state === 'running')).toHaveLength(2);
  });

  it('binds waiting claims first come, first served, as members become ready', async () => {
    const t = setup();
    t.store.apply(pool('py', { minReady: 1, maxSize: 1 }), API);
    t.claim('first');
    t.clock.advance(10);
    t.claim('second');
    await t.converge();
    await t.settle();
    expect(t.claimStatus('first')).toMatchObject({ phase: 'Bound' });
    expect(t.claimStatus('first')?.containerId).toBe(t.members()[0]!.id);
    expect(t.claimStatus('second')?.phase).not.toBe('Bound');
    expect(t.binder.pendingCount(t.key)).toBe(1);
    expect(t.wokenPools).toContain('py');
  });

  it('a released member is replaced (Replace) and the claim is let go once its member is gone', async () => {
    const t = setup();
    t.store.apply(pool('py', { minReady: 1, maxSize: 2 }), API);
    t.claim('job');
    await t.converge();
    const bound = t.claimStatus('job')?.containerId;
    expect(bound).toBe(t.members()[0]!.id);
    await t.converge(); // the claimed member no longer counts as warm: a fresh one tops up
    expect(t.members().filter((m) => m.state === 'running')).toHaveLength(2);

    t.store.delete({ kind: 'InstanceClaim', namespace: 'default', name: 'job' }, API);
    await t.reconcileClaim('job');
    await t.converge(); // the released member is removed, not reused
    expect(t.members().map((m) => m.id)).not.toContain(bound);
    expect(t.recorder.list({ name: 'py' }).some((e) => e.reason === 'MemberRemoved' && e.message.includes('released'))).toBe(true);
    await t.converge();
    expect(t.members().filter((m) => m.state === 'running')).toHaveLength(1);
    expect(t.claims.claims.has('InstanceClaim/default/job')).toBe(false);
  });

  it('a released member without a probe serves again after a Reuse recycle, and a claim waiting for it binds at once', async () => {
    const t = setup();
    t.store.apply(pool('py', { minReady: 1, maxSize: 1, recycle: { policy: 'Reuse' } }), API);
    t.claim('a');
    await t.converge();
    const member = t.claimStatus('a')?.containerId;
    expect(member).toBe(t.members()[0]!.id);
    t.clock.advance(50);
    t.claim('b'); // maxSize 1: waits for a's member
    await t.converge();
    expect(t.claimStatus('b')?.phase).not.toBe('Bound');

    t.clock.advance(50);
    t.store.delete({ kind: 'InstanceClaim', namespace: 'default', name: 'a' }, API);
    await t.reconcileClaim('a');
    await t.converge(); // recycled in place: no probe to pass, so it is ready again now
    await t.settle();
    expect(t.claimStatus('b')).toMatchObject({ phase: 'Bound', containerId: member });
    expect(t.members()).toHaveLength(1);
  });

  it('a claim that waits past claimTimeoutSeconds fails with ClaimTimeout', async () => {
    const t = setup();
    t.store.apply(pool('py', { minReady: 0, maxSize: 1, claimTimeoutSeconds: 30 }), API);
    t.runtime.script.hold('create'); // the pool cannot produce a member
    t.claim('late');
    await t.reconcilePool();
    const first = await t.reconcileClaim('late');
    expect(first.requeueAfterMs).toBe(30_000);
    expect(t.claimStatus('late')?.phase).toBe('Pending');
    t.clock.advance(30_000);
    await t.reconcileClaim('late');
    expect(t.claimStatus('late')).toMatchObject({ phase: 'Failed' });
    expect(t.claimStatus('late')?.conditions.some((c) => c.reason === 'ClaimTimeout')).toBe(true);
  });
});
