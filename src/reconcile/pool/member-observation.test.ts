// A pool's members from the list and the actors: literals in, members out.
import { describe, expect, it } from 'vitest';
import type { ObservedContainer } from '../../runtime/types.js';
import { memberHealth, observeMembers, type MemberActor } from './member-observation.js';
import { memberOf, NOW, POOL_KEY, HOUR, MINUTE } from './testing.js';

const listed = (n: number, c: Partial<ObservedContainer> = {}): ObservedContainer => memberOf(undefined, n, { container: c }).container;
const actor = (n: number, over: Partial<MemberActor> = {}): MemberActor => ({
  containerId: listed(n).id,
  labels: { 'berth.dev/member': `m-${n}`, 'berth.dev/managed-by': 'test-controller' },
  createdAt: NOW - HOUR,
  ports: [],
  phase: 'Ready',
  ready: true,
  terminating: false,
  ...over,
});
const noRecord = () => ({ uses: 0 });

describe('observeMembers', () => {
  it('a listed member with a Ready actor is ready, idle since it was created; one told to go is terminating, not a member', () => {
    const seen = observeMembers({ key: POOL_KEY, listed: [listed(1), listed(2)], actors: [actor(1), actor(2, { terminating: true })], record: noRecord });
    expect(seen.members.map((m) => [m.container.member, m.health, m.idleSince])).toEqual([['m-1', 'ready', NOW - HOUR]]);
    expect(seen.terminating).toBe(1);
    expect([...seen.present].sort()).toEqual(['m-1', 'm-2']);
  });

  it('a member created after the list was taken is a member already (starting), and one being created is one member, not two', () => {
    const creating = actor(3, { phase: 'Creating', ready: false });
    delete creating.containerId;
    const seen = observeMembers({
      key: POOL_KEY,
      // m-3 listed before its create call returned: it belongs to the actor creating it.
      listed: [listed(1), listed(3, { state: 'created' })],
      actors: [actor(1), actor(2, { phase: 'Starting', ready: false }), creating],
      record: noRecord,
    });
    expect(seen.members.map((m) => [m.container.member, m.health]).sort()).toEqual([
      ['m-1', 'ready'],
      ['m-2', 'starting'],
      ['m-3', 'starting'],
    ]);
  });

  it('claim records say who holds a member; a Reuse member is idle since its recycle (both survive a restart)', () => {
    const seen = observeMembers({
      key: POOL_KEY,
      listed: [listed(1), listed(2)],
      actors: [actor(1), actor(2)],
      record: (m) => (m === 'm-1' ? { uses: 2, claim: 'InstanceClaim/sandboxes/c1' } : { uses: 1, recycledAt: NOW - 5 * MINUTE }),
    });
    expect(seen.members.map((m) => [m.container.member, m.claimedBy, m.uses, m.idleSince])).toEqual([
      ['m-1', 'InstanceClaim/sandboxes/c1', 2, NOW - HOUR],
      ['m-2', undefined, 1, NOW - 5 * MINUTE],
    ]);
  });

  it('an actor that gave up, and was never listed, is no member', () => {
    const failed = actor(4, { phase: 'Failed', ready: false, failed: new Error('create refused') });
    delete failed.containerId;
    expect(observeMembers({ key: POOL_KEY, listed: [], actors: [failed], record: noRecord }).members).toEqual([]);
  });
});

describe('memberHealth', () => {
  it.each([
    ['exited container', { state: 'exited' }, actor(1), 'exited'],
    ['running, no actor yet (adopted)', {}, undefined, 'starting'],
    ['created, never started, actor idle (controller died between create and start)', { state: 'created' }, actor(1, { phase: 'Created' }), 'exited'],
    ['created in a list taken before the start returned, actor probing it', { state: 'created' }, actor(1, { phase: 'Probing' }), 'starting'],
    ['created in a list taken before the start returned, actor ready', { state: 'created' }, actor(1, { phase: 'Ready' }), 'ready'],
    ['created, actor starting it', { state: 'created' }, actor(1, { phase: 'Starting' }), 'starting'],
    ['probe passing', {}, actor(1), 'ready'],
    ['probe failing', {}, actor(1, { phase: 'Unhealthy' }), 'unhealthy'],
    ['actor stopped', {}, actor(1, { phase: 'Stopped' }), 'exited'],
  ] as const)('%s -> %s', (_name, c, a, health) => {
    expect(memberHealth(listed(1, c as Partial<ObservedContainer>), a)).toBe(health);
  });
});
