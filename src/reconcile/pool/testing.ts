// Literals for pool planner tests (and for callers' tests): a desired pool
// built through the real schema, defaults and hash, and members that match it
// unless told otherwise. Pure, like the planner.
import { configHash } from '../../spec/hash.js';
import { effectiveTemplate } from '../../spec/policy.js';
import { InstancePoolSpecSchema } from '../../spec/schema.js';
import type { ObservedContainer } from '../../runtime/types.js';
import { cid, CONTROLLER_ID, HOUR, MINUTE, NOW } from '../testing.js';
import { formatPoolPlan } from './format.js';
import { planPool } from './plan-pool.js';
import type { DesiredPool, ObservedMember, PoolPlanInput } from './types.js';

export { CONTROLLER_ID, HOUR, MINUTE, NOW, SECOND } from '../testing.js';

export const POOL_KEY = { kind: 'InstancePool', namespace: 'sandboxes', name: 'runners' } as const;
export const POOL_IMAGE = 'python:3.12-slim';

/** A desired pool from spec fields and template fields (image defaults to python:3.12-slim), through the real schema and hash. */
export function desiredPoolOf(spec: Record<string, unknown> = {}, template: Record<string, unknown> = {}, annotations: Record<string, string> = {}): DesiredPool {
  const parsed = InstancePoolSpecSchema.parse({ ...spec, template: { image: POOL_IMAGE, ...template } });
  const effective = effectiveTemplate(parsed.template);
  return { key: POOL_KEY, spec: parsed, template: effective, hash: configHash(effective), annotations };
}

/** The container id of member m-<n>: "a1a1a1a1a1a1..." for m-1, "a12a12a12a12..." for m-12 (hex, readable in plans). */
export const memberCid = (n: number): string => cid(`a${n}`.repeat(12));

export interface MemberOverrides extends Partial<Omit<ObservedMember, 'container'>> {
  container?: Partial<ObservedContainer>;
}

/** Member m-<n> of `desired` (its config), ours, running, ready, unclaimed, created an hour before NOW, idle for ten minutes. */
export function memberOf(desired: DesiredPool | undefined, n: number, overrides: MemberOverrides = {}): ObservedMember {
  const hash = desired?.hash ?? desiredPoolOf().hash;
  const { container, ...rest } = overrides;
  const name = `m-${n}`;
  return {
    container: {
      id: memberCid(n),
      name: `berth-${POOL_KEY.namespace}-${POOL_KEY.name}-${name}`,
      labels: {},
      managedBy: CONTROLLER_ID,
      kind: 'InstancePool',
      namespace: POOL_KEY.namespace,
      owner: POOL_KEY.name,
      member: name,
      configHash: hash.hash,
      hashVersion: hash.version,
      configFields: { ...hash.fields },
      createdAt: NOW - HOUR,
      startedAt: NOW - HOUR,
      state: 'running',
      hostPorts: [],
      ports: [],
      ...container,
    },
    health: 'ready',
    uses: 0,
    idleSince: NOW - 10 * MINUTE,
    ...rest,
  };
}

/** Ids that continue the m-<n> numbering after the highest member given: m-3 after m-1 and m-2. */
export function nextMemberIds(members: readonly ObservedMember[]): (i: number) => string {
  const highest = Math.max(0, ...members.map((m) => Number(/^m-(\d+)$/.exec(m.container.member ?? '')?.[1] ?? 0)));
  return (i) => `m-${highest + 1 + i}`;
}

export function poolInput(desired: DesiredPool | undefined, members: ObservedMember[], extra: Partial<PoolPlanInput> = {}): PoolPlanInput {
  return {
    controllerId: CONTROLLER_ID,
    key: POOL_KEY,
    desired,
    members,
    pendingClaims: 0,
    now: NOW,
    newMemberId: nextMemberIds(members),
    ...extra,
  };
}

/** The golden text of planning `desired` against `members` at NOW. */
export const poolPlanText = (...args: Parameters<typeof poolInput>): string => formatPoolPlan(planPool(poolInput(...args)));
