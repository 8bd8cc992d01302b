// The binder carries out the claim rules against live member views: a member
// that becomes ready serves the oldest waiting claim without any list; a bind
// wakes the pool; a deleted claim's member is released and its finalizer waits
// for the member to be handled; bindings survive a rebuild from statuses.
// Claims reconcile through the same Reconciler as every kind.
import { describe, expect, it } from 'vitest';
import { ClaimBinder } from './claim-binder.js';
import { ClaimSteps } from './claim-reconciler.js';
import { Reconciler } from './reconciler.js';
import { ClaimState } from '../state/claim-state.js';
import { FakeClock } from '../time/clock.js';
import { EventRecorder } from './event-recorder.js';
import { ResourceStore } from './resource-store.js';
import type { ActorView } from '../lifecycle/supervisor.js';
import type { ResourceKey } from '../spec/schema.js';

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const POOL: ResourceKey = { kind: 'InstancePool', namespace: 'sb', name: 'runners' };
const ORIGIN = { source: 'api' } as const;

function setup() {
  const clock = new FakeClock(NOW);
  const store = new ResourceStore(clock);
  const state = new ClaimState(undefined);
  const members: ActorView[] = [];
  const woken: string[] = [];
  const released: string[] = [];
  const binder = new ClaimBinder({
    store,
    state,
    recorder: new EventRecorder(100, clock),
    clock,
    members: () => members,
    wakePool: (p) => woken.push(p.name),
    wakeClaim: () => undefined,
    onReleased: (k) => released.push(k.name),
  });
  // Claims reconcile through the generic reconciler, as in the Manager.
  const reconciler = new Reconciler(new ClaimSteps({ binder, state }), { store, clock, onPruned: (k) => released.push(k.name) });
  const reconcile = (name: string) => reconciler.reconcile({ kind: 'InstanceClaim', namespace: 'sb', name }, new AbortController().signal);
  store.apply({ apiVersion: 'berth.dev/v1alpha1', kind: 'InstancePool', metadata: { name: 'runners', namespace: 'sb' }, spec: { template: { image: 'x' }, minReady: 1, claimTimeoutSeconds: 30 } } as never, ORIGIN);
  const claim = (name: string) => {
    store.apply({ apiVersion: 'berth.dev/v1alpha1', kind: 'InstanceClaim', metadata: { name, namespace: 'sb' }, spec: { poolRef: { name: 'runners' } } } as never, ORIGIN);
    binder.claimArrived({ kind: 'InstanceClaim', namespace: 'sb', name });
  };
  const member = (id: string, over: Partial<ActorView> = {}): ActorView => ({ containerId: `cid-${id}`, labels: { 'berth.dev/member': id }, createdAt: NOW - 1000, ports: [], phase: 'Ready', ready: true, terminating: false, ...over });
  const phase = (name: string) => (store.get({ kind: 'InstanceClaim', namespace: 'sb', name })?.object.status as { phase?: string; instance?: string } | undefined);
  const tick = (ms: number) => clock.advance(ms);
  return { store, state, binder, members, woken, released, claim, member, phase, tick, reconcile };
}

const flush = () => new Promise((r) => setImmediate(r));

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
    t.binder.memberChanged(POOL);
    await flush();
    expect(t.phase('first')).toMatchObject({ phase: 'Bound', instance: 'runners-a' });
    expect(t.phase('second')).toBeUndefined();
    expect(t.woken).toContain('runners');
    expect(t.binder.pendingCount(POOL)).toBe(1);
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
    t.store.delete({ kind: 'InstanceClaim', namespace: 'sb', name: 'one' }, ORIGIN);
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
    t.claim('late');
    await t.reconcile('late');
    t.tick(30_000);
    await t.reconcile('late');
    expect(t.phase('late')).toMatchObject({ phase: 'Failed' });
  });

  it('rebuilt from claim statuses, a Bound claim keeps its member and a new claim never gets it', async () => {
    const t = setup();
    t.store.apply({ apiVersion: 'berth.dev/v1alpha1', kind: 'InstanceClaim', metadata: { name: 'held', namespace: 'sb' }, spec: { poolRef: { name: 'runners' } } } as never, ORIGIN);
    t.state.rebuildFrom([{ id: 'InstanceClaim/sb/held', pool: 'InstancePool/sb/runners', createdAt: NOW - 60_000, status: { phase: 'Bound', instance: 'runners-a', containerId: 'cid-a' } }]);
    t.members.push(t.member('a'));
    t.claim('fresh');
    await flush();
    expect(t.phase('fresh')).toBeUndefined();
    await t.reconcile('held');
    expect(t.state.claims.get('InstanceClaim/sb/held')).toMatchObject({ phase: 'Bound', member: 'a' });
  });
});
