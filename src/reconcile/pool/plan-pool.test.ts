import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { ContainerState, ObservedContainer } from '../../runtime/types.js';
import { cid } from '../testing.js';
import { formatPoolPlan } from './format.js';
import { planPool } from './plan-pool.js';
import { CONTROLLER_ID, desiredPoolOf, HOUR, memberOf, MINUTE, NOW, POOL_KEY, poolInput, poolPlanText, SECOND } from './testing.js';
import type { DesiredPool, MemberHealth, ObservedMember, PoolAction, PoolPlanInput } from './types.js';

// ---- generators -------------------------------------------------------------

const STATES: ContainerState[] = ['created', 'running', 'running', 'running', 'paused', 'restarting', 'exited', 'dead', 'removing'];
const HEALTHS: MemberHealth[] = ['starting', 'ready', 'ready', 'ready', 'unhealthy', 'exited'];
const IMAGES = ['python:3.12-slim', 'python:3.11-slim'];
const maybe = <T,>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });

/** Pool specs the schema accepts: maxSize >= minReady, surge and unavailable not both 0. */
const arbPoolSpec = fc
  .record({
    minReady: fc.integer({ min: 0, max: 5 }),
    maxSizeExtra: maybe(fc.integer({ min: 0, max: 5 })),
    maxAgeSeconds: maybe(fc.integer({ min: 1, max: 4 * 3600 })),
    idleTimeoutSeconds: maybe(fc.integer({ min: 1, max: 3600 })),
    policy: fc.constantFrom('Replace', 'Reuse'),
    maxUses: maybe(fc.integer({ min: 1, max: 4 })),
    maxSurge: fc.integer({ min: 0, max: 3 }),
    maxUnavailable: fc.integer({ min: 0, max: 3 }),
  })
  .map((s) => ({
    minReady: s.minReady,
    ...(s.maxSizeExtra !== undefined ? { maxSize: Math.max(1, s.minReady + s.maxSizeExtra) } : {}),
    ...(s.maxAgeSeconds !== undefined ? { maxAgeSeconds: s.maxAgeSeconds } : {}),
    ...(s.idleTimeoutSeconds !== undefined ? { idleTimeoutSeconds: s.idleTimeoutSeconds } : {}),
    recycle: { policy: s.policy, ...(s.maxUses !== undefined ? { maxUses: s.maxUses } : {}) },
    updateStrategy: { maxSurge: s.maxUnavailable === 0 ? Math.max(1, s.maxSurge) : s.maxSurge, maxUnavailable: s.maxUnavailable },
  }));

const arbDesired: fc.Arbitrary<DesiredPool> = fc.tuple(arbPoolSpec, fc.constantFrom(...IMAGES)).map(([spec, image]) => desiredPoolOf(spec, { image }));
const OTHER_HASH = desiredPoolOf({}, { image: 'other:1' }).hash;

const wildTime = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: NOW - 6 * HOUR, max: NOW + MINUTE }) },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.constantFrom(0, -1, Number.MAX_SAFE_INTEGER, Number.NaN, Number.POSITIVE_INFINITY) },
);

/** Members as the controller might report them: ours and others', current and stale, claimed, released, failing. */
const arbMember = (desired: DesiredPool | undefined): fc.Arbitrary<ObservedMember> => {
  const hashes = [desired?.hash ?? OTHER_HASH, desired?.hash ?? OTHER_HASH, OTHER_HASH];
  return fc
    .record({
      n: fc.integer({ min: 0, max: 0xffff }),
      managedBy: fc.constantFrom(CONTROLLER_ID, CONTROLLER_ID, CONTROLLER_ID, 'another-controller'),
      kind: fc.constantFrom('InstancePool' as const, 'InstancePool' as const, 'InstancePool' as const, 'Instance' as const),
      namespace: fc.constantFrom(POOL_KEY.namespace, POOL_KEY.namespace, POOL_KEY.namespace, 'other'),
      owner: fc.constantFrom(POOL_KEY.name, POOL_KEY.name, POOL_KEY.name, 'web'),
      member: maybe(fc.integer({ min: 0, max: 12 }).map((i) => `m-${i}`)),
      hash: fc.constantFrom(...hashes),
      hashLabel: fc.constantFrom('ok', 'ok', 'ok', 'missing', 'unknown-version', 'no-fields'),
      createdAt: wildTime,
      state: fc.constantFrom(...STATES),
      exitCode: maybe(fc.integer({ min: -1, max: 255 })),
      health: fc.constantFrom(...HEALTHS),
      claimedBy: maybe(fc.constantFrom('InstanceClaim/sandboxes/a', 'InstanceClaim/sandboxes/b')),
      released: maybe(fc.boolean()),
      uses: fc.oneof(fc.nat(6), fc.constantFrom(-1, Number.NaN, 1e9)),
      idleSince: wildTime,
    })
    .map((r): ObservedMember => {
      const container: ObservedContainer = {
        id: cid(r.n.toString(16).padStart(4, '0') + 'bcdef0'),
        name: `berth-x-${r.n}`,
        labels: {},
        managedBy: r.managedBy,
        kind: r.kind,
        namespace: r.namespace,
        owner: r.owner,
        ...(r.member !== undefined ? { member: r.member } : {}),
        ...(r.hashLabel !== 'missing' ? { configHash: r.hash.hash } : {}),
        hashVersion: r.hashLabel === 'unknown-version' ? '9' : r.hash.version,
        ...(r.hashLabel !== 'no-fields' ? { configFields: { ...r.hash.fields } } : {}),
        createdAt: r.createdAt,
        state: r.state,
        ...(r.exitCode !== undefined ? { exitCode: r.exitCode } : {}),
        hostPorts: [],
        ports: [],
      };
      return {
        container,
        health: r.health,
        ...(r.claimedBy !== undefined ? { claimedBy: r.claimedBy } : {}),
        ...(r.released !== undefined ? { released: r.released } : {}),
        uses: r.uses,
        idleSince: r.idleSince,
      };
    });
};

const arbInput: fc.Arbitrary<PoolPlanInput> = fc
  .tuple(fc.option(arbDesired, { nil: undefined, freq: 6 }), fc.boolean())
  .chain(([desired, pruneDisabled]) =>
    fc.record({
      desired: fc.constant(desired),
      members: fc.uniqueArray(arbMember(desired), { maxLength: 12, selector: (m) => m.container.id }),
      pendingClaims: fc.oneof({ weight: 6, arbitrary: fc.nat(4) }, { weight: 1, arbitrary: fc.constantFrom(-1, Number.NaN, Number.POSITIVE_INFINITY) }),
      pruneDisabled: fc.constant(pruneDisabled),
    }),
  )
  .map(({ desired, members, pendingClaims, pruneDisabled }) => poolInput(desired, members, { pendingClaims, pruneDisabled }));

// ---- an independent reading of the input, for the properties ----------------

const isOurs = (input: PoolPlanInput, m: ObservedMember): boolean => {
  const c = m.container;
  return c.managedBy === input.controllerId && c.kind === 'InstancePool' && c.namespace === input.key.namespace && c.owner === input.key.name && c.state !== 'removing';
};
const failed = (m: ObservedMember): boolean => m.health === 'exited' || m.health === 'unhealthy' || m.container.state === 'exited' || m.container.state === 'dead';
const current = (d: DesiredPool, m: ObservedMember, now: number): boolean => {
  const c = m.container;
  const sameConfig = c.configHash === d.hash.hash && (c.hashVersion ?? d.hash.version) === d.hash.version;
  const maxAge = d.spec.maxAgeSeconds;
  const createdAt = Number.isFinite(c.createdAt) ? c.createdAt : now;
  return sameConfig && (maxAge === undefined || createdAt + maxAge * 1000 > now);
};
const whole = (n: number): number => (Number.isFinite(n) ? Math.max(0, Math.floor(n)) : 0);

interface After {
  kept: ObservedMember[];
  warm: ObservedMember[];
  /** Warm and not current (drifted or aged), not counting recycled members. */
  staleWarm: ObservedMember[];
  recycled: Set<string>;
  creates: PoolAction[];
}

function after(input: PoolPlanInput, actions: readonly PoolAction[]): After {
  const removed = new Set(actions.flatMap((a) => (a.type === 'remove' ? [a.containerId] : [])));
  const recycled = new Set(actions.flatMap((a) => (a.type === 'recycle' ? [a.containerId] : [])));
  const kept = input.members.filter((m) => isOurs(input, m) && !removed.has(m.container.id));
  const warm = kept.filter((m) => m.claimedBy === undefined && (recycled.has(m.container.id) || (m.released !== true && !failed(m))));
  const staleWarm = warm.filter((m) => !recycled.has(m.container.id) && !current(input.desired!, m, input.now));
  return { kept, warm, staleWarm, recycled, creates: actions.filter((a) => a.type === 'create') };
}

function targetOf(input: PoolPlanInput): { target: number; maxSize: number } {
  const spec = input.desired!.spec;
  const maxSize = spec.maxSize ?? Infinity;
  const claimed = input.members.filter((m) => isOurs(input, m) && m.claimedBy !== undefined).length;
  return { target: Math.min(spec.minReady + whole(input.pendingClaims), Math.max(0, maxSize - claimed)), maxSize };
}

const readyWarm = (input: PoolPlanInput, ms: readonly ObservedMember[]): number =>
  ms.filter((m) => isOurs(input, m) && m.claimedBy === undefined && m.released !== true && !failed(m) && m.health === 'ready').length;

const containerIdOf = (a: PoolAction): string | undefined => (a.type === 'create' ? undefined : a.containerId);

// ---- properties -------------------------------------------------------------

describe('planPool: invariants', () => {
  it('holds creates back while recent creates fail (backoff), removes still go, and looks again when the backoff ends', () => {
    const desired = desiredPoolOf({ minReady: 3, maxSize: 5 });
    const members = [memberOf(desired, 1), memberOf(desired, 2, { health: 'exited', container: { state: 'exited', exitCode: 1 } })];
    const held = planPool(poolInput(desired, members, { createsHeldUntil: NOW + 4 * SECOND }));
    expect(held.actions.map((a) => a.type)).toEqual(['remove']);
    expect(held.nextDeadline).toBe(NOW + 4 * SECOND);
    const free = planPool(poolInput(desired, members, { createsHeldUntil: NOW - 1 }));
    expect(free.actions.filter((a) => a.type === 'create')).toHaveLength(2);
  });

  it('never throws, and never falls back to its safety net, whatever the runtime reports', () => {
    fc.assert(
      fc.property(arbInput, (input) => {
        const plan = planPool(input);
        expect(plan.waiting?.reason).not.toBe('PlanFailed');
        expect(() => formatPoolPlan(plan)).not.toThrow();
      }),
      { numRuns: 2000 },
    );
    // 2000 random pools: seconds on a busy machine; the default 5 s is a timing, not what this checks.
  }, 60_000);

  it('only acts on members this controller manages of this pool (labels are ownership)', () => {
    fc.assert(
      fc.property(arbInput, (input) => {
        for (const a of planPool(input).actions) {
          const id = containerIdOf(a);
          if (id !== undefined) expect(input.members.some((m) => m.container.id === id && isOurs(input, m)), `${a.type} ${id}`).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('never gives a container two actions, and creates members under fresh ids', () => {
    fc.assert(
      fc.property(arbInput, (input) => {
        const actions = planPool(input).actions;
        const ids = actions.flatMap((a) => (a.type === 'create' ? [] : [a.containerId]));
        expect(new Set(ids).size).toBe(ids.length);
        const created = actions.flatMap((a) => (a.type === 'create' ? [a.member] : []));
        expect(new Set(created).size).toBe(created.length);
        for (const id of created) expect(input.members.some((m) => m.container.member === id)).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });

  it('never removes or recycles a claimed member while the pool exists', () => {
    fc.assert(
      fc.property(
        arbInput.filter((i) => i.desired !== undefined),
        (input) => {
          for (const a of planPool(input).actions) {
            const id = containerIdOf(a);
            if (id === undefined) continue;
            const m = input.members.find((x) => x.container.id === id)!;
            expect(m.claimedBy, `${a.type} ${a.member} (${a.cause})`).toBeUndefined();
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('creates at most maxSurge warm members above the target (none while nothing rolls), and never exceeds maxSize', () => {
    fc.assert(
      fc.property(
        arbInput.filter((i) => i.desired !== undefined),
        (input) => {
          const plan = planPool(input);
          const { kept, warm, staleWarm, creates } = after(input, plan.actions);
          if (creates.length === 0) return;
          const { target, maxSize } = targetOf(input);
          const surge = staleWarm.length > 0 ? input.desired!.spec.updateStrategy.maxSurge : 0;
          expect(warm.length + creates.length).toBeLessThanOrEqual(target + surge);
          expect(kept.length + creates.length).toBeLessThanOrEqual(maxSize);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('rotation never takes the warm ready count below minReady - maxUnavailable', () => {
    fc.assert(
      fc.property(
        arbInput.filter((i) => i.desired !== undefined),
        (input) => {
          const plan = planPool(input);
          // Removals to fit maxSize are the only ones allowed to go lower: the size cap is harder than warmth.
          const notBySize = plan.actions.filter((a) => !a.cause.startsWith('above maxSize'));
          const removed = new Set(notBySize.flatMap((a) => (a.type === 'remove' ? [a.containerId] : [])));
          const before = readyWarm(input, input.members);
          const afterRemoval = readyWarm(input, input.members.filter((m) => !removed.has(m.container.id)));
          const { minReady, updateStrategy } = input.desired!.spec;
          expect(afterRemoval).toBeGreaterThanOrEqual(Math.min(before, Math.max(0, minReady - updateStrategy.maxUnavailable)));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('gives every action a lowercase cause, and wakes up only in the future', () => {
    fc.assert(
      fc.property(arbInput, (input) => {
        const plan = planPool(input);
        for (const a of plan.actions) expect(a.cause).toMatch(/^[a-z]/);
        if (plan.nextDeadline !== undefined) expect(plan.nextDeadline).toBeGreaterThan(input.now);
      }),
      { numRuns: 1000 },
    );
  });

  it('does not depend on the order members are listed in', () => {
    fc.assert(
      fc.property(arbInput, (input) => {
        const reversed = { ...input, members: [...input.members].reverse() };
        expect(formatPoolPlan(planPool(reversed))).toBe(formatPoolPlan(planPool(input)));
      }),
      { numRuns: 1000 },
    );
  });

  it('plans nothing for a converged pool: minReady ready current young members, nothing claimed or waiting', () => {
    const arbConverged = fc
      .tuple(
        arbDesired,
        fc.array(fc.record({ age: fc.integer({ min: 0, max: 10 * 3600 * 1000 }), idle: fc.integer({ min: 0, max: 10 * 3600 * 1000 }) }), { maxLength: 5 }),
        fc.uniqueArray(arbMember(undefined), { maxLength: 4, selector: (m) => m.container.id }),
      )
      .map(([d, shapes, noise]) => {
        const maxAgeMs = (d.spec.maxAgeSeconds ?? Infinity) * 1000;
        const ours = Array.from({ length: d.spec.minReady }, (_, i) => {
          const s = shapes[i] ?? { age: HOUR, idle: MINUTE };
          const createdAt = NOW - Math.min(s.age, maxAgeMs - 1);
          return memberOf(d, i + 1, { container: { createdAt, startedAt: createdAt }, idleSince: NOW - s.idle });
        });
        const others = noise.map((m) => ({ ...m, container: { ...m.container, managedBy: 'another-controller', member: 'x' } }));
        return poolInput(d, [...ours, ...others]);
      });
    fc.assert(
      fc.property(arbConverged, (input) => {
        const plan = planPool(input);
        expect(plan.actions).toEqual([]);
        expect(plan.waiting).toBeUndefined();
        expect(plan.rollout.done).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });
});

// ---- a rolling update, simulated --------------------------------------------

interface ModelMember {
  n: number;
  old: boolean;
  createdAt: number;
  /** Steps until it passes its health check (0: ready). */
  startingFor: number;
}

/**
 * A roll from `old` to `desired` acted out: each step plans against the model,
 * removes what the plan removes, lets starting members progress, and adds the
 * plan's creates as starting members that need 1-3 steps to get ready.
 */
function simulateRoll(desired: DesiredPool, old: DesiredPool, initial: ModelMember[], delays: number[], maxSteps: number) {
  let model = initial;
  let next = Math.max(0, ...initial.map((m) => m.n)) + 1;
  let d = 0;
  const floor = Math.max(0, desired.spec.minReady - desired.spec.updateStrategy.maxUnavailable);
  for (let step = 0; step < maxSteps; step++) {
    const now = NOW + step * SECOND;
    const members = model.map((m) =>
      memberOf(m.old ? old : desired, m.n, { health: m.startingFor > 0 ? 'starting' : 'ready', container: { createdAt: m.createdAt } }),
    );
    const plan = planPool(poolInput(desired, members, { now, newMemberId: (i) => `m-${next + i}` }));
    const readyBefore = model.filter((m) => m.startingFor === 0).length;
    const removed = new Set(plan.actions.flatMap((a) => (a.type === 'remove' ? [a.member] : [])));
    const bySize = new Set(plan.actions.flatMap((a) => (a.type === 'remove' && a.cause.startsWith('above maxSize') ? [a.member] : [])));
    const readyAfterRotation = model.filter((m) => m.startingFor === 0 && (!removed.has(`m-${m.n}`) || bySize.has(`m-${m.n}`))).length;
    expect(readyAfterRotation, `step ${step}: ${formatPoolPlan(plan)}`).toBeGreaterThanOrEqual(Math.min(readyBefore, floor));
    expect(plan.waiting, formatPoolPlan(plan)).toBeUndefined();
    if (plan.actions.length === 0 && plan.rollout.done && model.every((m) => m.startingFor === 0)) return { steps: step, model };

    model = model.filter((m) => !removed.has(`m-${m.n}`)).map((m) => ({ ...m, startingFor: Math.max(0, m.startingFor - 1) }));
    for (const a of plan.actions) {
      if (a.type !== 'create') continue;
      model.push({ n: Number(a.member.slice(2)), old: false, createdAt: now, startingFor: delays[d++ % delays.length]! });
    }
    next = Math.max(next, ...model.map((m) => m.n + 1));
  }
  return { steps: maxSteps, model };
}

describe('planPool: a rolling update', () => {
  const arbRoll = fc
    .record({
      minReady: fc.integer({ min: 1, max: 5 }),
      maxSurge: fc.integer({ min: 0, max: 3 }),
      maxUnavailable: fc.integer({ min: 0, max: 2 }),
      room: maybe(fc.integer({ min: 0, max: 4 })),
      byAge: fc.boolean(),
      oldReady: fc.integer({ min: 0, max: 7 }),
      oldStarting: fc.integer({ min: 0, max: 2 }),
      currentReady: fc.integer({ min: 0, max: 2 }),
      delays: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 8 }),
    })
    .map((r) => {
      const maxSurge = r.maxUnavailable === 0 ? Math.max(1, r.maxSurge) : r.maxSurge;
      // Without maxUnavailable a roll needs room to surge: maxSize above minReady.
      const maxSize = r.room === undefined ? undefined : r.minReady + (r.maxUnavailable === 0 ? Math.max(1, r.room) : r.room);
      const spec = { minReady: r.minReady, ...(maxSize !== undefined ? { maxSize } : {}), updateStrategy: { maxSurge, maxUnavailable: r.maxUnavailable } };
      const desired = r.byAge ? desiredPoolOf({ ...spec, maxAgeSeconds: 3600 }) : desiredPoolOf(spec);
      const old = r.byAge ? desired : desiredPoolOf(spec, { image: 'python:3.11-slim' });
      const oldAt = r.byAge ? NOW - 2 * HOUR : NOW - 10 * MINUTE;
      let n = 0;
      const initial: ModelMember[] = [
        ...Array.from({ length: r.oldReady }, () => ({ n: ++n, old: !r.byAge, createdAt: oldAt, startingFor: 0 })),
        ...Array.from({ length: r.oldStarting }, () => ({ n: ++n, old: !r.byAge, createdAt: oldAt, startingFor: 2 })),
        ...Array.from({ length: r.currentReady }, () => ({ n: ++n, old: false, createdAt: NOW - MINUTE, startingFor: 0 })),
      ];
      return { desired, old, initial, delays: r.delays };
    });

  it('keeps warm ready members at minReady - maxUnavailable or more, and completes within a bounded number of steps', () => {
    fc.assert(
      fc.property(arbRoll, ({ desired, old, initial, delays }) => {
        const bound = 4 * (initial.length + desired.spec.minReady + 2) + 10;
        const { steps, model } = simulateRoll(desired, old, initial, delays, bound);
        expect(steps, 'the roll did not finish').toBeLessThan(bound);
        expect(model.every((m) => !m.old && m.createdAt > NOW - HOUR)).toBe(true);
        expect(model.filter((m) => m.startingFor === 0).length).toBeGreaterThanOrEqual(desired.spec.minReady);
        if (desired.spec.maxSize !== undefined) expect(model.length).toBeLessThanOrEqual(desired.spec.maxSize);
      }),
      { numRuns: 500 },
    );
  });

  it('rolls three members one at a time with the default strategy (golden)', () => {
    const desired = desiredPoolOf({ minReady: 3 });
    const old = desiredPoolOf({ minReady: 3 }, { image: 'python:3.11-slim' });
    const texts: string[] = [];
    let model: ModelMember[] = [1, 2, 3].map((n) => ({ n, old: true, createdAt: NOW - HOUR, startingFor: 0 }));
    for (let step = 0; step < 10; step++) {
      const members = model.map((m) => memberOf(m.old ? old : desired, m.n, { health: m.startingFor > 0 ? 'starting' : 'ready', container: { createdAt: m.createdAt } }));
      const plan = planPool(poolInput(desired, members));
      texts.push(formatPoolPlan(plan).replaceAll('InstancePool/sandboxes/runners: ', ''));
      if (plan.actions.length === 0 && plan.rollout.done) break;
      const removed = new Set(plan.actions.flatMap((a) => (a.type === 'remove' ? [a.member] : [])));
      model = model.filter((m) => !removed.has(`m-${m.n}`)).map((m) => ({ ...m, startingFor: 0 }));
      for (const a of plan.actions) if (a.type === 'create') model.push({ n: Number(a.member.slice(2)), old: false, createdAt: NOW, startingFor: 1 });
    }
    // A created member is seen starting for one step, then ready.
    expect(texts).toEqual([
      'create m-4 (surge for rolling update)\nrollout 0 of 3 members updated',
      'nothing to do\nrollout 1 of 4 members updated',
      'remove m-1 a1a1a1a1a1a1 (config hash changed: image)\ncreate m-5 (surge for rolling update)\nrollout 1 of 4 members updated',
      'nothing to do\nrollout 2 of 4 members updated',
      'remove m-2 a2a2a2a2a2a2 (config hash changed: image)\ncreate m-6 (surge for rolling update)\nrollout 2 of 4 members updated',
      'nothing to do\nrollout 3 of 4 members updated',
      'remove m-3 a3a3a3a3a3a3 (config hash changed: image)\nrollout 3 of 4 members updated',
      'nothing to do',
    ]);
  });
});

// ---- golden plans through several rules -------------------------------------

describe('planPool: golden plans', () => {
  const lines = (...l: string[]): string => l.map((x) => `InstancePool/sandboxes/runners: ${x}`).join('\n');

  it('nothing to do for a converged pool', () => {
    const d = desiredPoolOf({ minReady: 2 });
    expect(poolPlanText(d, [memberOf(d, 1), memberOf(d, 2)])).toBe(lines('nothing to do'));
  });

  it('plans for its key and only this controller’s members of it', () => {
    const d = desiredPoolOf({ minReady: 1 });
    const otherPool = memberOf(d, 1, { health: 'unhealthy', container: { owner: 'other' } });
    const otherController = memberOf(d, 2, { health: 'unhealthy', container: { managedBy: 'someone' } });
    const instance = memberOf(d, 3, { health: 'unhealthy', container: { kind: 'Instance' } });
    expect(poolPlanText(d, [otherPool, otherController, instance])).toBe(lines('create m-4 (below pool minimum)'));
    expect(planPool(poolInput(d, [])).key).toEqual(POOL_KEY);
  });

  it('replaces released and failed members, rolls a drifted one and grows for claims in one plan, removes before it creates', () => {
    const d = desiredPoolOf({ minReady: 2, maxSize: 6 });
    const old = desiredPoolOf({ minReady: 2 }, { env: [{ name: 'MODE', value: 'old' }] });
    expect(
      poolPlanText(
        d,
        [
          memberOf(d, 1, { claimedBy: 'InstanceClaim/sandboxes/a' }),
          memberOf(d, 2, { released: true, uses: 1 }),
          memberOf(d, 3, { health: 'unhealthy' }),
          memberOf(old, 4, { health: 'starting' }),
          memberOf(d, 5),
        ],
        { pendingClaims: 1 },
      ),
    ).toBe(
      lines(
        'remove m-2 a2a2a2a2a2a2 (released; replaced by a fresh member)',
        'remove m-3 a3a3a3a3a3a3 (health check failing)',
        'remove m-4 a4a4a4a4a4a4 (config hash changed: env)',
        // maxSize 6: the three removed members hold their places until they are gone, so one create fits now.
        'create m-6 (below pool minimum)',
        'rollout 4 of 5 members updated',
      ),
    );
  });

  it('wakes at the earliest deadline of all rules', () => {
    const d = desiredPoolOf({ minReady: 1, maxAgeSeconds: 2 * 3600, idleTimeoutSeconds: 600 });
    expect(poolPlanText(d, [memberOf(d, 1, { idleSince: NOW - 9 * MINUTE }), memberOf(d, 2, { idleSince: NOW - 5 * MINUTE })])).toBe(
      lines('nothing to do', 'next check at 2026-01-01T12:01:00Z'),
    );
  });

  it('falls back to an empty plan if a rule ever throws (the id generator here)', () => {
    const d = desiredPoolOf({ minReady: 1 });
    const plan = planPool(poolInput(d, [], { newMemberId: () => { throw new Error('boom'); } }));
    expect(plan.actions).toEqual([]);
    expect(plan.waiting).toEqual({ reason: 'PlanFailed', message: 'planner error: boom' });
  });
});
