// Kubernetes mode: a bind is a conditional write of the claim's status (a
// fake source here; the real apiserver in test/kubernetes-claim-bind.test.ts).
// It counts only once the source took it; on 409 the claim as the source
// holds it decides: another writer's binding is adopted, else the rules run
// again. Pod members carry their claim's label; a stale label is never warm.
import { describe, expect, it } from 'vitest';
import type { ClaimStatusRecord } from './claim-binder.js';
import { claimBinderWorld, TEST_NOW as NOW } from './memory-world.testkit.js';
import type { ClaimStatus } from '../spec/status.js';
import type { ClaimWriteOutcome, ServerClaimStatus } from '../reconcile/claim/server-binding.js';

/** A fake apiserver for claim statuses: a write is refused (409) while another writer's status is waiting to be seen. */
function fakeSource() {
  const server = new Map<string, ServerClaimStatus | undefined>();
  const foreign = new Map<string, ServerClaimStatus>();
  const writes: Array<{ claim: string; status: ClaimStatus }> = [];
  let gate: Promise<void> | undefined;
  /** The next write's fate instead of the fake apiserver's: refused, or never answered (thrown). */
  let next: 'refuse' | 'throw' | undefined;
  const record: ClaimStatusRecord = {
    records: () => true,
    write: async (key, status): Promise<ClaimWriteOutcome> => {
      await gate;
      const fate = next;
      next = undefined;
      if (fate === 'throw') throw new Error('patch status: connect ECONNREFUSED');
      if (fate === 'refuse') return { type: 'refused', message: 'status.expiresAt: Invalid value: must be of type date-time' };
      writes.push({ claim: key.name, status });
      const other = foreign.get(key.name);
      if (other) {
        foreign.delete(key.name);
        server.set(key.name, other);
        return { type: 'conflict', status: other };
      }
      server.set(key.name, status as ServerClaimStatus);
      return { type: 'written' };
    },
  };
  return {
    record,
    server,
    writes,
    failNext: (fate: 'refuse' | 'throw') => (next = fate),
    /** Another writer (an old leader) writes this status; berth has not seen it. */
    otherWriter: (claim: string, status: ServerClaimStatus) => foreign.set(claim, status),
    hold: () => {
      let release!: () => void;
      gate = new Promise((r) => (release = r));
      return () => {
        gate = undefined;
        release();
      };
    },
  };
}

function setup() {
  const w = claimBinderWorld({ origin: { source: 'kubernetes' } });
  const source = fakeSource();
  w.binder.recordBindsIn(source.record);
  const claim = (name: string) => w.binder.recordFor(w.applyClaim(name));
  return { ...w, source, claim };
}

const boundTo = (member: string): ServerClaimStatus => ({ phase: 'Bound', instance: `runners-${member}`, containerId: `cid-${member}`, boundAt: new Date(NOW - 50).toISOString() });

describe('ClaimBinder with the source as the record', () => {
  it('a bind counts only once the source took it; meanwhile the member is reserved and the claim is Pending to everyone', async () => {
    const t = setup();
    t.members.push(t.member('a'));
    t.claim('c1');
    t.claim('c2');
    const release = t.source.hold();
    const settling = t.binder.settle(t.pool);
    expect(t.status('c1')?.phase).not.toBe('Bound');
    // The reserved member is not free: c2 does not get it, and neither claim counts as waiting twice.
    expect(t.binder.planInput(t.pool).members[0]).toMatchObject({ member: 'a', claimedBy: 'InstanceClaim/sb/c1' });
    expect((await t.binder.settle(t.pool)).decisions).toEqual([]);
    release();
    await settling;
    expect(t.status('c1')).toMatchObject({ phase: 'Bound', instance: 'runners-a' });
    expect(t.source.server.get('c1')).toMatchObject({ phase: 'Bound', instance: 'runners-a' });
    expect(t.status('c2')?.phase).not.toBe('Bound');
    expect(t.labels).toEqual([['cid-a', 'c1']]);
  });

  it('409 with another writer’s binding: the claim adopts it, the member berth chose stays warm', async () => {
    const t = setup();
    t.members.push(t.member('a'), t.member('b', { ready: false, phase: 'Probing' }));
    t.claim('c1');
    t.source.otherWriter('c1', boundTo('b'));
    await t.binder.settle(t.pool);
    await new Promise((r) => setImmediate(r));
    expect(t.status('c1')).toMatchObject({ phase: 'Bound', instance: 'runners-b', containerId: 'cid-b' });
    expect(t.state.member('InstancePool/sb/runners', 'b').claim).toBe('InstanceClaim/sb/c1');
    // Not overwritten: the source still shows the other writer's binding.
    expect(t.source.server.get('c1')).toMatchObject({ instance: 'runners-b' });
    // a was never handed out: the next claim takes it as warm.
    t.claim('c2');
    await t.binder.settle(t.pool);
    expect(t.status('c2')).toMatchObject({ phase: 'Bound', instance: 'runners-a' });
  });

  it('another writer’s binding the informer already brought is taken over, not overwritten by a write that would succeed', async () => {
    const t = setup();
    t.members.push(t.member('a'), t.member('b', { ready: false, phase: 'Probing' }));
    t.claim('c1');
    // A status-only update (an old leader's late write) is in the store; it woke nothing.
    t.store.setStatus(t.claimKey('c1'), boundTo('b') as never);
    await t.binder.settle(t.pool);
    expect(t.source.writes.filter((w) => w.status.phase === 'Bound' && w.status.instance === 'runners-a')).toEqual([]);
    expect(t.status('c1')).toMatchObject({ phase: 'Bound', instance: 'runners-b', containerId: 'cid-b' });
    t.claim('c2');
    await t.binder.settle(t.pool);
    expect(t.status('c2')).toMatchObject({ phase: 'Bound', instance: 'runners-a' });
  });

  it('409 without another binding: the bind did not happen, and the rules bind again on the fresh version', async () => {
    const t = setup();
    t.members.push(t.member('a'));
    t.claim('c1');
    t.source.otherWriter('c1', { phase: 'Pending' });
    await t.binder.settle(t.pool);
    for (let i = 0; i < 5 && t.status('c1')?.phase !== 'Bound'; i++) await new Promise((r) => setImmediate(r));
    expect(t.source.writes.map((w) => w.claim)).toEqual(['c1', 'c1']);
    expect(t.status('c1')).toMatchObject({ phase: 'Bound', instance: 'runners-a' });
  });

  it('adopting a member another claim holds takes it from that claim: never one member on two claims', async () => {
    const t = setup();
    t.members.push(t.member('a'));
    t.claim('c1');
    await t.binder.settle(t.pool);
    expect(t.status('c1')).toMatchObject({ phase: 'Bound', instance: 'runners-a' });
    t.claim('c2');
    // An old leader had bound c2 to a; berth learns it from a 409 on c2.
    t.binder.serverSaid(t.claimKey('c2'), boundTo('a'));
    expect(t.status('c2')).toMatchObject({ phase: 'Bound', instance: 'runners-a' });
    expect(t.status('c1')?.phase).toBe('Pending');
    const holders = [...t.state.claims.values()].filter((r) => r.phase === 'Bound' && r.member === 'a');
    expect(holders).toHaveLength(1);
  });

  it('a binding another manager set (a user\'s status patch) is not adopted: the claim keeps waiting, the member stays with its claim', async () => {
    const t = setup();
    t.members.push(t.member('a'));
    t.claim('c1');
    await t.binder.settle(t.pool);
    t.claim('c2');
    t.binder.serverSaid(t.claimKey('c2'), boundTo('a'), 'kubectl-patch');
    expect(t.status('c2')?.phase).not.toBe('Bound');
    expect(t.status('c1')).toMatchObject({ phase: 'Bound', instance: 'runners-a' });
    expect(t.state.member('InstancePool/sb/runners', 'a').claim).toBe('InstanceClaim/sb/c1');
  });

  it('adopting a member that was released (being recycled) fails the claim MemberLost and leaves the member to its recycle', async () => {
    const t = setup();
    t.members.push(t.member('a'));
    t.claim('c1');
    await t.binder.settle(t.pool);
    t.store.delete(t.claimKey('c1'), t.origin);
    await t.binder.settle(t.pool);
    expect(t.state.member('InstancePool/sb/runners', 'a')).toMatchObject({ released: true });
    t.claim('c2');
    // A stale copy of c2 (or an old leader's late write) names a: a is not handed back out dirty.
    t.binder.serverSaid(t.claimKey('c2'), boundTo('a'));
    expect(t.status('c2')).toMatchObject({ phase: 'Failed' });
    expect(JSON.stringify(t.status('c2'))).toContain('MemberLost');
    expect(t.state.member('InstancePool/sb/runners', 'a')).toMatchObject({ released: true });
    expect(t.state.member('InstancePool/sb/runners', 'a').claim).toBeUndefined();
  });

  it('a bound status the source refuses fails the claim with the refusal, and the member stays warm', async () => {
    const t = setup();
    t.members.push(t.member('a'));
    t.claim('c1');
    t.source.failNext('refuse');
    await t.binder.settle(t.pool);
    expect(t.status('c1')).toMatchObject({ phase: 'Failed' });
    expect(JSON.stringify(t.status('c1'))).toContain('expiresAt');
    expect(t.state.member('InstancePool/sb/runners', 'a').claim).toBeUndefined();
    t.claim('c2');
    await t.binder.settle(t.pool);
    expect(t.status('c2')).toMatchObject({ phase: 'Bound', instance: 'runners-a' });
  });

  it('a bind write that gets no answer gives the member back and tries the claim again later', async () => {
    const t = setup();
    t.members.push(t.member('a'));
    t.claim('c1');
    t.source.failNext('throw');
    await t.binder.settle(t.pool);
    expect(t.status('c1')?.phase).not.toBe('Bound');
    expect(t.state.member('InstancePool/sb/runners', 'a').claim).toBeUndefined();
    expect(t.wokenClaims).toContain('c1@1000');
    await t.binder.settle(t.pool);
    expect(t.status('c1')).toMatchObject({ phase: 'Bound', instance: 'runners-a' });
  });

  it('a Pod labelled for a claim that does not hold it is never warm', async () => {
    const t = setup();
    t.members.push(t.member('a', { labels: { 'berth.dev/member': 'a', 'berth.dev/claim': 'ghost' } }));
    t.claim('c1');
    await t.binder.settle(t.pool);
    expect(t.status('c1')?.phase).not.toBe('Bound');
    expect(t.source.writes).toEqual([]);
  });

  it('release removes the claim label', async () => {
    const t = setup();
    t.members.push(t.member('a'));
    t.claim('c1');
    await t.binder.settle(t.pool);
    t.store.delete(t.claimKey('c1'), t.origin);
    await t.binder.settle(t.pool);
    expect(t.labels).toEqual([
      ['cid-a', 'c1'],
      ['cid-a', undefined],
    ]);
  });
});
