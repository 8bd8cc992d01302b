import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatClaimPlan } from './format.js';
import { planClaims } from './plan-claims.js';
import type { ClaimPlanInput, ClaimView, MemberView } from './types.js';

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const POOL = 'InstancePool/sandboxes/runners';
const claim = (n: number, over: Partial<ClaimView> = {}): ClaimView => ({ id: `InstanceClaim/sandboxes/c${n}`, pool: POOL, phase: 'Pending', createdAt: NOW - 1000 + n, ...over });
const member = (n: number, over: Partial<MemberView> = {}): MemberView => ({ member: `m-${n}`, containerId: `cid${n}`, ready: true, terminating: false, current: true, createdAt: NOW - 60_000 + n, ...over });
const input = (over: Partial<ClaimPlanInput>): ClaimPlanInput => ({ pool: POOL, poolExists: true, claimTimeoutSeconds: 30, claims: [], members: [], now: NOW, ...over });
const plan = (over: Partial<ClaimPlanInput>): string => formatClaimPlan(planClaims(input(over)));

describe('planClaims', () => {
  it('binds waiting claims oldest first, current members first, then oldest', () => {
    expect(
      plan({
        claims: [claim(3), claim(1), claim(2)],
        members: [member(1, { current: false }), member(2), member(3)],
      }),
    ).toBe(
      [
        `${POOL}: bind InstanceClaim/sandboxes/c1 -> m-2 (waited 999 ms)`,
        `${POOL}: bind InstanceClaim/sandboxes/c2 -> m-3 (waited 998 ms)`,
        `${POOL}: bind InstanceClaim/sandboxes/c3 -> m-1 (waited 997 ms)`,
      ].join('\n'),
    );
  });

  it('binds only ready, unclaimed, non-terminating members, and a recycled one only after a probe since', () => {
    expect(
      plan({
        claims: [claim(1), claim(2)],
        members: [
          member(1, { ready: false }),
          member(2, { terminating: true }),
          member(3, { claimedBy: 'InstanceClaim/sandboxes/other' }),
          member(4, { released: true }),
          member(5, { recycledAt: NOW - 10, lastReadyAt: NOW - 20 }),
          member(6, { recycledAt: NOW - 10, lastReadyAt: NOW - 5 }),
        ],
      }),
    ).toBe([`${POOL}: bind InstanceClaim/sandboxes/c1 -> m-6 (waited 999 ms)`, `${POOL}: waiting: InstanceClaim/sandboxes/c2`, `${POOL}: next check at 2026-01-01T12:00:29.002Z`].join('\n'));
  });

  it('never hands out a member a Bound claim names, even if its own record lost the claim', () => {
    expect(plan({ claims: [claim(1, { phase: 'Bound', member: 'm-1' }), claim(2)], members: [member(1)] })).toBe(
      [`${POOL}: waiting: InstanceClaim/sandboxes/c2`, `${POOL}: next check at 2026-01-01T12:00:29.002Z`].join('\n'),
    );
  });

  it('fails a Bound claim whose member the pool no longer finds (MemberLost), not one merely missing from the members', () => {
    const bound = [claim(1, { phase: 'Bound', member: 'm-1', expiresAt: NOW + 5000 }), claim(2, { phase: 'Bound', member: 'm-2' }), claim(3, { phase: 'Bound', member: 'm-3', deleted: true })];
    expect(plan({ claims: bound, members: [member(2)], gone: ['m-1', 'm-3'] })).toBe(
      [`${POOL}: release InstanceClaim/sandboxes/c3 (releases m-3)`, `${POOL}: fail InstanceClaim/sandboxes/c1 (MemberLost: m-1 is gone)`].join('\n'),
    );
    // Without an observation saying so, a member absent from the actors is not lost (a restart, before the first list).
    expect(plan({ claims: bound.slice(0, 2), members: [] })).toBe(`${POOL}: nothing to do\n${POOL}: next check at 2026-01-01T12:00:05.000Z`);
  });

  it('fails a claim that waited claimTimeoutSeconds, and names a missing pool', () => {
    expect(plan({ claims: [claim(1, { createdAt: NOW - 30_000 })] })).toBe(`${POOL}: fail InstanceClaim/sandboxes/c1 (ClaimTimeout after 30000 ms)`);
    expect(plan({ poolExists: false, members: [member(1)], claims: [claim(1, { createdAt: NOW - 30_000 })] })).toBe(`${POOL}: fail InstanceClaim/sandboxes/c1 (PoolNotFound after 30000 ms)`);
  });

  it('expires a lease and releases a deleted claim; their members are not rebound in the same plan', () => {
    expect(
      plan({
        claims: [claim(1, { phase: 'Bound', member: 'm-1', expiresAt: NOW }), claim(2, { phase: 'Bound', member: 'm-2', deleted: true }), claim(3)],
        members: [member(1, { claimedBy: 'InstanceClaim/sandboxes/c1' }), member(2, { claimedBy: 'InstanceClaim/sandboxes/c2' })],
      }),
    ).toBe(
      [
        `${POOL}: release InstanceClaim/sandboxes/c2 (releases m-2)`,
        `${POOL}: expire InstanceClaim/sandboxes/c1 (releases m-1)`,
        `${POOL}: waiting: InstanceClaim/sandboxes/c3`,
        `${POOL}: next check at 2026-01-01T12:00:29.003Z`,
      ].join('\n'),
    );
  });

  it('sets the lease from ttlSeconds at bind time and wakes for it', () => {
    expect(plan({ claims: [claim(1, { ttlSeconds: 60 })], members: [member(1)] })).toBe(
      [`${POOL}: bind InstanceClaim/sandboxes/c1 -> m-1 (waited 999 ms, expires at 2026-01-01T12:01:00.000Z)`, `${POOL}: next check at 2026-01-01T12:01:00.000Z`].join('\n'),
    );
  });
});

// ---------------------------------------------------------------------------
// Properties: over random claims and members, and over sequences of plans
// applied the way the binder applies them.

const arbMember = (i: number): fc.Arbitrary<MemberView> =>
  fc.record({
    ready: fc.boolean(),
    terminating: fc.boolean(),
    current: fc.boolean(),
    released: fc.boolean(),
    recycled: fc.option(fc.integer({ min: -5000, max: 0 }), { nil: undefined }),
    lastReady: fc.option(fc.integer({ min: -5000, max: 0 }), { nil: undefined }),
    age: fc.integer({ min: 0, max: 100_000 }),
  }).map((r) => ({
    member: `m-${i}`,
    containerId: `cid${i}`,
    ready: r.ready,
    terminating: r.terminating,
    current: r.current,
    createdAt: NOW - r.age,
    ...(r.released ? { released: true } : {}),
    ...(r.recycled !== undefined ? { recycledAt: NOW + r.recycled } : {}),
    ...(r.lastReady !== undefined ? { lastReadyAt: NOW + r.lastReady } : {}),
  }));

const arbClaims = (members: number): fc.Arbitrary<ClaimView[]> =>
  fc.array(
    fc.record({
      phase: fc.constantFrom('Pending', 'Pending', 'Bound', 'Failed', 'Expired', 'Released') as fc.Arbitrary<ClaimView['phase']>,
      age: fc.integer({ min: 0, max: 60_000 }),
      member: fc.integer({ min: 0, max: Math.max(0, members - 1) }),
      ttl: fc.option(fc.integer({ min: 1, max: 120 }), { nil: undefined }),
      expiresIn: fc.option(fc.integer({ min: -10_000, max: 10_000 }), { nil: undefined }),
      deleted: fc.boolean(),
      otherPool: fc.boolean(),
    }),
    { maxLength: 12 },
  ).map((rs) =>
    rs.map((r, i) => ({
      id: `InstanceClaim/ns/c${i}`,
      pool: r.otherPool && i % 5 === 4 ? 'InstancePool/ns/other' : POOL,
      phase: r.phase,
      createdAt: NOW - r.age,
      ...(r.phase === 'Bound' && members > 0 ? { member: `m-${r.member}` } : {}),
      ...(r.ttl !== undefined ? { ttlSeconds: r.ttl } : {}),
      ...(r.phase === 'Bound' && r.expiresIn !== undefined ? { expiresAt: NOW + r.expiresIn } : {}),
      ...(r.deleted && i % 3 === 0 ? { deleted: true } : {}),
    })),
  );

const arbInput = fc.integer({ min: 0, max: 8 }).chain((n) =>
  fc.record({
    members: n === 0 ? fc.constant([] as MemberView[]) : fc.tuple(...Array.from({ length: n }, (_, i) => arbMember(i))),
    claims: arbClaims(n),
    timeout: fc.integer({ min: 0, max: 60 }),
    poolExists: fc.boolean(),
    gone: fc.subarray(Array.from({ length: n + 1 }, (_, i) => `m-${i}`)),
  }),
);

describe('planClaims properties', () => {
  it('binds only free members, each at most once, never one a Bound claim holds, and only pending claims; a claim on a gone member is lost', () => {
    fc.assert(
      fc.property(arbInput, ({ members, claims, timeout, poolExists, gone }) => {
        const inp = input({ members, claims, claimTimeoutSeconds: timeout, poolExists, gone });
        const p = planClaims(inp);
        // exactly the live Bound claims on a gone member are lost
        const lost = claims.filter((c) => c.pool === POOL && c.phase === 'Bound' && !c.deleted && c.member !== undefined && gone.includes(c.member)).map((c) => c.id);
        expect(p.decisions.flatMap((d) => (d.type === 'lost' ? [d.claim] : [])).sort()).toEqual(lost.sort());
        const binds = p.decisions.filter((d) => d.type === 'bind');
        const byMember = new Set(binds.map((b) => (b.type === 'bind' ? b.member : '')));
        expect(byMember.size).toBe(binds.length);
        const held = new Set(claims.filter((c) => c.pool === POOL && c.phase === 'Bound' && !c.deleted).map((c) => c.member));
        for (const b of binds) {
          if (b.type !== 'bind') continue;
          const m = members.find((x) => x.member === b.member)!;
          expect(m.ready && !m.terminating && m.claimedBy === undefined && !m.released).toBe(true);
          if (m.recycledAt !== undefined) expect((m.lastReadyAt ?? -Infinity) >= m.recycledAt).toBe(true);
          expect(held.has(b.member)).toBe(false);
          const c = claims.find((x) => x.id === b.claim)!;
          expect(c.phase === 'Pending' && !c.deleted && c.pool === POOL).toBe(true);
        }
        // every claim gets at most one decision; other pools' claims get none
        const ids = p.decisions.map((d) => d.claim);
        expect(new Set(ids).size).toBe(ids.length);
        for (const id of ids) expect(claims.find((c) => c.id === id)!.pool).toBe(POOL);
      }),
      { numRuns: 2000 },
    );
  });

  it('FIFO: no waiting or failed claim is older than a claim that was bound', () => {
    fc.assert(
      fc.property(arbInput, ({ members, claims, timeout, poolExists }) => {
        const p = planClaims(input({ members, claims, claimTimeoutSeconds: timeout, poolExists }));
        const bound = p.decisions.flatMap((d) => (d.type === 'bind' ? [claims.find((c) => c.id === d.claim)!] : []));
        const skipped = [...p.waiting, ...p.decisions.flatMap((d) => (d.type === 'timeout' ? [d.claim] : []))].map((id) => claims.find((c) => c.id === id)!);
        for (const b of bound) for (const s of skipped) expect(s.createdAt > b.createdAt || (s.createdAt === b.createdAt && s.id > b.id)).toBe(true);
        // and binds come out in FIFO order
        for (let i = 1; i < bound.length; i++) expect(bound[i]!.createdAt >= bound[i - 1]!.createdAt).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('a pending claim is never lost: it is bound, failed, or waiting with a deadline', () => {
    fc.assert(
      fc.property(arbInput, ({ members, claims, timeout, poolExists }) => {
        const p = planClaims(input({ members, claims, claimTimeoutSeconds: timeout, poolExists }));
        for (const c of claims.filter((x) => x.pool === POOL && x.phase === 'Pending' && !x.deleted)) {
          const d = p.decisions.find((x) => x.claim === c.id);
          if (d) expect(['bind', 'timeout']).toContain(d.type);
          else {
            expect(p.waiting).toContain(c.id);
            expect(p.nextDeadline).toBeDefined();
            expect(p.nextDeadline!).toBeLessThanOrEqual(c.createdAt + timeout * 1000);
          }
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('over many rounds, applied as the binder applies them (members vanishing too), a member is never on two live claims and every claim ends Failed, Expired or released', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.constantFrom('claim', 'claim', 'ready', 'delete', 'tick', 'recycle', 'vanish'), { minLength: 5, maxLength: 40 }),
        fc.integer({ min: 1, max: 5 }),
        (memberCount, steps, timeoutSeconds) => {
          let now = NOW;
          let next = 0;
          const claims = new Map<string, ClaimView>();
          const fresh = (i: number): MemberView => ({ member: `m-${i}`, containerId: `c${i}`, ready: false, terminating: false, current: true, createdAt: now });
          const members: MemberView[] = Array.from({ length: memberCount }, (_, i) => fresh(i));
          let made = memberCount;
          /** Members removed behind the controller's back since the last plan (the pool's list no longer finds them). */
          let gone: string[] = [];
          const apply = (): void => {
            const p = planClaims({ pool: POOL, poolExists: true, claimTimeoutSeconds: timeoutSeconds, claims: [...claims.values()], members, gone, now });
            gone = [];
            for (const d of p.decisions) {
              const c = claims.get(d.claim)!;
              if (d.type === 'lost') {
                expect(members.some((m) => m.member === d.member)).toBe(false);
                claims.set(d.claim, { ...c, phase: 'Failed' });
              } else if (d.type === 'bind') {
                const m = members.find((x) => x.member === d.member)!;
                expect(m.claimedBy).toBeUndefined();
                m.claimedBy = d.claim;
                delete m.recycledAt;
                claims.set(d.claim, { ...c, phase: 'Bound', member: d.member, ...(d.expiresAt !== undefined ? { expiresAt: d.expiresAt } : {}) });
              } else if (d.type === 'timeout') claims.set(d.claim, { ...c, phase: 'Failed' });
              else {
                const m = members.find((x) => x.member === d.member);
                if (m && m.claimedBy === d.claim) {
                  delete m.claimedBy;
                  m.released = true;
                }
                if (d.type === 'expire') claims.set(d.claim, { ...c, phase: 'Expired' });
                else claims.delete(d.claim);
              }
            }
          };
          for (const step of steps) {
            now += 700;
            if (step === 'claim') claims.set(`InstanceClaim/ns/c${next}`, { id: `InstanceClaim/ns/c${next++}`, pool: POOL, phase: 'Pending', createdAt: now, ttlSeconds: 2 });
            if (step === 'ready') members.forEach((m) => (m.ready = true));
            if (step === 'delete') {
              const first = [...claims.values()].find((c) => !c.deleted);
              if (first) claims.set(first.id, { ...first, deleted: true });
            }
            if (step === 'recycle') for (const m of members) if (m.released) Object.assign(m, { released: undefined, recycledAt: now, lastReadyAt: now + 1 });
            if (step === 'vanish' && members.length > 0) {
              // The claimed member if there is one (docker rm -f), else any; the pool makes a fresh one.
              const i = Math.max(0, members.findIndex((m) => m.claimedBy !== undefined));
              gone.push(members[i]!.member);
              members.splice(i, 1, fresh(made++));
            }
            apply();
            const live = [...claims.values()].filter((c) => c.phase === 'Bound' && !c.deleted);
            const held = live.map((c) => c.member);
            expect(new Set(held).size).toBe(held.length);
            // and no live claim names a member that is gone
            for (const m of held) expect(members.some((x) => x.member === m)).toBe(true);
          }
          // drain: long after every timeout and lease, nothing is left Pending
          now += 3_600_000;
          apply();
          // (every claim had a 2 s lease, so none is still Bound either; deleted ones are gone)
          for (const c of claims.values()) expect(['Failed', 'Expired']).toContain(c.phase);
        },
      ),
      { numRuns: 500 },
    );
  });
});
