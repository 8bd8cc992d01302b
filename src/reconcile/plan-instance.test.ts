import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { ContainerState, ObservedContainer } from '../runtime/types.js';
import { formatPlan } from './format.js';
import { planInstance } from './plan-instance.js';
import { cid, CONTAINER_NAME, CONTROLLER_ID, containerOf, desiredInstance, exitedOf, HOUR, KEY, MINUTE, NOW, planInput, planText, SECOND } from './testing.js';
import type { DesiredInstance, PlanInput, RestartMemory } from './types.js';

// ---- generators -------------------------------------------------------------

const STATES: ContainerState[] = ['created', 'running', 'paused', 'restarting', 'exited', 'dead', 'removing'];

const arbSpec = fc.record(
  {
    image: fc.constantFrom('nginx:1.26', 'nginx:1.27'),
    state: fc.constantFrom('Running', 'Stopped'),
    restartPolicy: fc.constantFrom('Always', 'OnFailure', 'Never'),
    maxAgeSeconds: fc.integer({ min: 1, max: 10 * 3600 }),
    ttlSecondsAfterFinished: fc.integer({ min: 0, max: 3600 }),
    failedRetentionSeconds: fc.integer({ min: 0, max: 3600 }),
    healthCheck: fc.constant({ tcp: { port: 80 }, failureThreshold: 3 }),
    ports: fc.constant([{ containerPort: 80, hostPort: 8080 }]),
  },
  { requiredKeys: ['image', 'state', 'restartPolicy'] },
);
const arbDesired: fc.Arbitrary<DesiredInstance> = arbSpec.map((spec) => desiredInstance(spec));

const wildTime = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: NOW - 20 * HOUR, max: NOW + HOUR }) },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.constantFrom(0, -1, Number.MAX_SAFE_INTEGER, Number.NaN, Number.POSITIVE_INFINITY) },
);
const maybe = <T,>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });

/** Containers as a runtime might report them: ours and others', current and stale, in every state. */
const arbContainer = (desiredHash: string): fc.Arbitrary<ObservedContainer> =>
  fc.record({
    id: fc.integer({ min: 0, max: 0xffffff }).map((n) => cid(n.toString(16).padStart(6, '0') + 'abcdef')),
    name: fc.constantFrom(CONTAINER_NAME, `/${CONTAINER_NAME}`, `${CONTAINER_NAME}-next`, 'something-else'),
    labels: fc.constant({}),
    managedBy: fc.constantFrom(CONTROLLER_ID, CONTROLLER_ID, 'another-controller', ''),
    kind: fc.constantFrom('Instance' as const, 'Instance' as const, 'InstancePool' as const),
    namespace: fc.constantFrom('default', 'default', 'other'),
    owner: fc.constantFrom('web', 'web', 'api'),
    member: maybe(fc.constant('m1')),
    configHash: maybe(fc.constantFrom(desiredHash, desiredHash, 'v1-00000000000000000000000000000000', 'garbage')),
    hashVersion: maybe(fc.constantFrom('1', '1', '0', '9', '')),
    configFields: maybe(fc.dictionary(fc.constantFrom('image', 'env', 'ports'), fc.constantFrom('aaaa0000', 'bbbb0000'))),
    createdAt: wildTime,
    state: fc.constantFrom(...STATES),
    engineHealth: maybe(fc.constantFrom('starting' as const, 'healthy' as const, 'unhealthy' as const)),
    exitCode: maybe(fc.integer({ min: -1, max: 255 })),
    oomKilled: maybe(fc.boolean()),
    startedAt: maybe(wildTime),
    finishedAt: maybe(wildTime),
    hostPorts: fc.constant([]),
    ports: fc.constant([]),
  });

const arbMemory = (desiredHash: string): fc.Arbitrary<RestartMemory> =>
  fc.record(
    {
      restartCount: fc.oneof(fc.nat(40), fc.constantFrom(-1, Number.NaN, 1e9)),
      lastRestartAt: fc.oneof(wildTime, fc.integer({ min: NOW - 10 * MINUTE, max: NOW })),
      probeFailures: fc.nat(6),
      completed: fc.record(
        { configHash: fc.constantFrom(desiredHash, 'garbage'), hashVersion: fc.constantFrom('1', '9'), exitCode: fc.integer({ min: -1, max: 3 }), at: wildTime },
        { requiredKeys: ['configHash', 'exitCode', 'at'] },
      ),
    },
    { requiredKeys: ['restartCount'] },
  );

/** A whole world: desired (or gone), observed, memory, prune opt-out. */
const arbInput: fc.Arbitrary<PlanInput> = fc
  .tuple(fc.option(arbDesired, { nil: undefined }), fc.boolean())
  .chain(([desired, pruneDisabled]) =>
    fc.record({
      desired: fc.constant(desired),
      observed: fc.uniqueArray(arbContainer(desired?.hash.hash ?? 'v1-x'), { maxLength: 6, selector: (c) => c.id }),
      memory: arbMemory(desired?.hash.hash ?? 'v1-x'),
      pruneDisabled: fc.constant(pruneDisabled),
    }),
  )
  .map(({ desired, observed, memory, pruneDisabled }) => planInput(desired, observed, { memory, pruneDisabled }));

const isOurs = (input: PlanInput, id: string): boolean =>
  input.observed.some(
    (c) => c.id === id && c.managedBy === input.controllerId && c.kind === input.key.kind && c.namespace === input.key.namespace && c.owner === input.key.name,
  );

const containerIdOf = (a: { type: string } & Partial<{ containerId: string }>): string | undefined => a.containerId;

// ---- properties -------------------------------------------------------------

describe('planInstance: invariants', () => {
  it('never throws, and never falls back to its safety net, whatever the runtime reports', () => {
    fc.assert(
      fc.property(arbInput, (input) => {
        const plan = planInstance(input);
        expect(plan.waiting?.reason).not.toBe('PlanFailed');
        expect(() => formatPlan(plan)).not.toThrow();
      }),
      { numRuns: 2000 },
    );
  });

  it('never acts on a container another controller manages (nor one of another key)', () => {
    fc.assert(
      fc.property(arbInput, (input) => {
        for (const a of planInstance(input).actions) {
          const id = containerIdOf(a);
          if (id !== undefined) expect(isOurs(input, id), `${a.type} ${id}`).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('creates at most one container per plan and changes each container at most once', () => {
    fc.assert(
      fc.property(arbInput, (input) => {
        const actions = planInstance(input).actions;
        expect(actions.filter((a) => a.type === 'create' || a.type === 'replace').length).toBeLessThanOrEqual(1);
        const structural = actions.filter((a) => a.type !== 'rename' && a.type !== 'create').map(containerIdOf);
        expect(new Set(structural).size).toBe(structural.length);
        expect(actions.filter((a) => a.type === 'rename').length).toBeLessThanOrEqual(1);
      }),
      { numRuns: 2000 },
    );
  });

  it('gives every action a lowercase cause, and wakes up only in the future', () => {
    fc.assert(
      fc.property(arbInput, (input) => {
        const plan = planInstance(input);
        for (const a of plan.actions) expect(a.cause).toMatch(/^[a-z]/);
        if (plan.nextDeadline !== undefined) expect(plan.nextDeadline).toBeGreaterThan(input.now);
        if (plan.waiting?.until !== undefined) expect(plan.waiting.until).toBeGreaterThan(input.now);
      }),
      { numRuns: 1000 },
    );
  });

  it('does not depend on the order the runtime lists containers in', () => {
    fc.assert(
      fc.property(arbInput, (input) => {
        const reversed = { ...input, observed: [...input.observed].reverse() };
        expect(formatPlan(planInstance(reversed))).toBe(formatPlan(planInstance(input)));
      }),
      { numRuns: 1000 },
    );
  });

  it('plans nothing for a converged world: one young running container of the desired config under its name', () => {
    const arbConverged = fc
      .tuple(
        arbSpec.map((s) => desiredInstance({ ...s, state: 'Running' })),
        fc.integer({ min: 0, max: 10 * 3600 * 1000 }),
        fc.array(arbContainer('v1-x').map((c) => ({ ...c, managedBy: 'another-controller', name: 'not-ours' })), { maxLength: 3 }),
        arbMemory('v1-x'),
      )
      .map(([d, ageMs, noise, memory]) => {
        const maxAgeMs = (d.spec.maxAgeSeconds ?? Infinity) * 1000;
        const createdAt = NOW - Math.min(ageMs, maxAgeMs - 1);
        const ours = containerOf(d, { createdAt, startedAt: createdAt });
        const probeFailures = Math.min(memory.probeFailures ?? 0, (d.template.healthCheck?.failureThreshold ?? 1) - 1);
        return planInput(d, [ours, ...noise], { memory: { ...memory, probeFailures } });
      });
    fc.assert(
      fc.property(arbConverged, (input) => {
        const plan = planInstance(input);
        expect(plan.actions).toEqual([]);
        expect(plan.waiting).toBeUndefined();
      }),
      { numRuns: 1000 },
    );
  });
});

// ---- golden plans through several rules -------------------------------------

describe('planInstance: golden plans', () => {
  it('nothing to do for a converged Instance', () => {
    const d = desiredInstance();
    expect(planText(d, [containerOf(d)])).toBe('Instance/default/web: nothing to do');
  });

  it('wakes at the earliest deadline of all rules', () => {
    const job = desiredInstance({ restartPolicy: 'OnFailure', maxAgeSeconds: 3600, ttlSecondsAfterFinished: 600 });
    // A finished run (ttl due in 9 min) sits beside nothing else: the ttl deadline.
    expect(planText(job, [exitedOf(job, 0, MINUTE, MINUTE)])).toBe(
      ['Instance/default/web: nothing to do', 'Instance/default/web: next check at 2026-01-01T12:09:00Z'].join('\n'),
    );
    // A crash-looping container: the backoff is the wait, not the max age.
    const crashed = exitedOf(job, 1, SECOND, SECOND, { createdAt: NOW - 10 * SECOND });
    expect(planInstance(planInput(job, [crashed], { memory: { restartCount: 2, lastRestartAt: NOW - 5 * SECOND } })).nextDeadline).toBe(NOW + 15 * SECOND);
  });

  it('plans for the key it is given and only this controller’s containers of it', () => {
    const d = desiredInstance();
    const otherKey = containerOf(d, { id: cid('0a0a0a0a0a0a'), owner: 'api', name: 'berth-default-api', state: 'exited', exitCode: 1 });
    const otherController = containerOf(d, { id: cid('0b0b0b0b0b0b'), managedBy: 'someone', state: 'exited', exitCode: 1 });
    expect(planText(d, [otherKey, otherController])).toBe('Instance/default/web: create berth-default-web (container missing)');
    expect(planInstance(planInput(d, [])).key).toEqual(KEY);
  });

  it('removes a duplicate, then replaces the drifted survivor (which ends under the canonical name)', () => {
    const before = desiredInstance({ image: 'nginx:1.26' });
    const d = desiredInstance({ image: 'nginx:1.27', env: [{ name: 'MODE', value: 'prod' }] });
    const a = containerOf(before, { id: cid('aaaaaaaaaaaa'), createdAt: NOW - 2 * HOUR });
    const b = containerOf(before, { id: cid('bbbbbbbbbbbb'), name: 'berth-default-web-1', createdAt: NOW - HOUR });
    expect(planText(d, [a, b])).toBe(
      [
        'Instance/default/web: remove aaaaaaaaaaaa (duplicate container)',
        'Instance/default/web: replace bbbbbbbbbbbb (config hash changed: env, image)',
      ].join('\n'),
    );
  });
});
