// The members a pool plan may touch, and what the rules need to know about
// each: claimed or released, failing, ready, current or due for rotation.
import type { ObservedContainer } from '../../runtime/types.js';
import type { ResourceKey } from '../../spec/schema.js';
import { compareOldestFirst, exitDescription, finiteOr, hasExited, id12 } from '../container.js';
import type { HashComparison } from '../hash-compare.js';
import { compareContainerHash } from '../hash-compare.js';
import type { DesiredPool, ObservedMember, PoolPlanInput } from './types.js';

/** The member id people see: the berth.dev/member label, or the short container id without one. */
export const memberName = (c: ObservedContainer): string => c.member || id12(c.id);

const isOfPool = (c: ObservedContainer, key: ResourceKey): boolean =>
  c.kind === 'InstancePool' && key.kind === 'InstancePool' && c.namespace === key.namespace && c.owner === key.name;

/**
 * This controller's live members of this pool, one per container id, oldest
 * first (so that no plan depends on the order the runtime lists them in).
 * Containers already being removed are left out: nothing to decide about them.
 */
export function ownedMembers(input: Pick<PoolPlanInput, 'controllerId' | 'key' | 'members'>): ObservedMember[] {
  return membersOf(input.members, input.key, input.controllerId);
}

/** As ownedMembers; without a controller id, any managed-by counts (the caller already chose them). */
export function membersOf(members: readonly ObservedMember[], key: ResourceKey, controllerId: string | undefined): ObservedMember[] {
  const seen = new Set<string>();
  const out: ObservedMember[] = [];
  for (const m of members) {
    const c = m.container;
    if (controllerId !== undefined && c.managedBy !== controllerId) continue;
    if (!isOfPool(c, key) || c.state === 'removing' || seen.has(c.id)) continue;
    seen.add(c.id);
    out.push(m);
  }
  return out.sort((a, b) => compareOldestFirst(a.container, b.container));
}

/** Why a member must rotate out although nobody claimed it: drift wins over age. */
export interface Staleness {
  reason: 'drift' | 'age';
  cause: string;
}

/** A member as the pool rules read it. */
export interface Member {
  observed: ObservedMember;
  containerId: string;
  /** The member id (memberName). */
  name: string;
  /** Bound to a claim: never disrupted while the pool exists. */
  claimed: boolean;
  /** Released by its claim and not bound again: awaits recycling. */
  released: boolean;
  /** The cause when its process exited or its health check fails ("exited with code 1", "health check failing"). */
  failure?: string;
  /** Passing its health check (and not failed). */
  ready: boolean;
  hash: HashComparison;
  /** Epoch ms when it reaches maxAgeSeconds; undefined without a max age. */
  dueAt?: number;
  stale?: Staleness;
}

/** Warm: neither claimed nor released nor failed; ready or on its way to ready. */
export const isWarm = (m: Member): boolean => !m.claimed && !m.released && m.failure === undefined;

export function classify(desired: DesiredPool, m: ObservedMember, now: number): Member {
  const c = m.container;
  const claimed = m.claimedBy !== undefined;
  const failure = hasExited(c) || m.health === 'exited' ? exitDescription(c) : m.health === 'unhealthy' ? 'health check failing' : undefined;
  const hash = compareContainerHash(desired, c);
  const maxAge = desired.spec.maxAgeSeconds;
  const dueAt = maxAge === undefined || !Number.isFinite(maxAge) ? undefined : finiteOr(c.createdAt, now) + maxAge * 1000;
  const stale: Staleness | undefined = !hash.matches
    ? { reason: 'drift', cause: hash.cause }
    : dueAt !== undefined && dueAt <= now
      ? { reason: 'age', cause: 'max age exceeded' }
      : undefined;
  return {
    observed: m,
    containerId: c.id,
    name: memberName(c),
    claimed,
    released: !claimed && m.released === true,
    ...(failure !== undefined ? { failure } : {}),
    ready: failure === undefined && m.health === 'ready',
    hash,
    ...(dueAt !== undefined ? { dueAt } : {}),
    ...(stale ? { stale } : {}),
  };
}

/** The order members rotate out in: drifted, then aged, then the rest; oldest first within each. */
export function compareRotationOrder(a: Member, b: Member): number {
  const rank = (m: Member): number => (m.stale?.reason === 'drift' ? 0 : m.stale?.reason === 'age' ? 1 : 2);
  return rank(a) - rank(b) || compareOldestFirst(a.observed.container, b.observed.container);
}
