// What a pool rule sees and returns. Rules run in order over one view; each
// sees the actions decided before it, so counts ("warm ready after the
// removals so far") stay consistent and no container gets two actions.
import { finiteOr } from '../container.js';
import type { Waiting } from '../types.js';
import type { Member } from './members.js';
import type { DesiredPool, PoolAction, PoolPlanInput } from './types.js';

export interface PoolRuleResult {
  actions: PoolAction[];
  /** Epoch ms when this rule wants to look again. */
  deadline?: number;
  waiting?: Waiting;
}

export const NOTHING: PoolRuleResult = Object.freeze({ actions: [] }) as PoolRuleResult;

/** The pool's numbers, sanitised (the spec is validated, but the planner is total anyway). */
export interface PoolLimits {
  minReady: number;
  /** Infinity when unset. */
  maxSize: number;
  maxSurge: number;
  maxUnavailable: number;
  /** Waiting claims, as a non-negative integer. */
  pendingClaims: number;
  /** Members being removed: they hold a place within maxSize until they are gone. */
  terminating: number;
  /** Warm members wanted: minReady + pendingClaims, capped so claimed + warm fit in maxSize. */
  target: number;
  /** Rotation never takes the warm ready count below this: minReady - maxUnavailable. */
  floor: number;
}

export interface PoolView {
  input: PoolPlanInput;
  desired: DesiredPool;
  /** This controller's members of this pool, oldest first. */
  members: readonly Member[];
  limits: PoolLimits;
}

export type PoolRule = (view: PoolView, decided: readonly PoolAction[]) => PoolRuleResult;

const wholeOr = (n: number | undefined, fallback: number): number => (typeof n === 'number' && Number.isFinite(n) ? Math.max(0, Math.floor(n)) : fallback);

export function poolLimits(desired: DesiredPool, members: readonly Member[], pendingClaims: number, terminatingCount = 0): PoolLimits {
  const spec = desired.spec;
  const minReady = wholeOr(spec.minReady, 1);
  const maxSize = spec.maxSize === undefined ? Infinity : wholeOr(spec.maxSize, Infinity);
  const maxSurge = wholeOr(spec.updateStrategy?.maxSurge, 1);
  const maxUnavailable = wholeOr(spec.updateStrategy?.maxUnavailable, 0);
  const pending = wholeOr(finiteOr(pendingClaims, 0), 0);
  const terminating = wholeOr(finiteOr(terminatingCount, 0), 0);
  const claimed = members.filter((m) => m.claimed).length;
  const target = Math.min(minReady + pending, Math.max(0, maxSize - claimed - terminating));
  return { minReady, maxSize, maxSurge, maxUnavailable, pendingClaims: pending, terminating, target, floor: Math.max(0, minReady - maxUnavailable) };
}

/** A warm member after the actions decided so far: recycled members count, not yet ready. */
export interface WarmEntry {
  member: Member;
  ready: boolean;
  stale: boolean;
}

const idsOf = (decided: readonly PoolAction[], type: PoolAction['type']): Set<string> =>
  new Set(decided.flatMap((a) => (a.type === type && a.type !== 'create' ? [a.containerId] : [])));

/** Containers some action of the plan already touches. */
export const actedOn = (decided: readonly PoolAction[]): Set<string> => new Set(decided.flatMap((a) => (a.type === 'create' ? [] : [a.containerId])));

/** Members still there once the decided removes are done (claimed and recycled ones included). */
export function keptAfter(view: PoolView, decided: readonly PoolAction[]): Member[] {
  const removed = idsOf(decided, 'remove');
  return view.members.filter((m) => !removed.has(m.containerId));
}

/** The warm members once the decided actions are done. */
export function warmAfter(view: PoolView, decided: readonly PoolAction[]): WarmEntry[] {
  const recycled = idsOf(decided, 'recycle');
  return keptAfter(view, decided).flatMap((m): WarmEntry[] => {
    if (m.claimed) return [];
    if (recycled.has(m.containerId)) return [{ member: m, ready: false, stale: false }];
    if (m.released || m.failure !== undefined) return [];
    return [{ member: m, ready: m.ready, stale: m.stale !== undefined }];
  });
}

/** How long a member being removed may take to stop: the pool's recycle.gracePeriodSeconds (default 0; members are disposable). */
export const memberGraceSeconds = (desired: DesiredPool): number => wholeOr(desired.spec.recycle?.gracePeriodSeconds, 0);

export const removeAction = (view: Pick<PoolView, 'desired'>, m: Member, cause: string): PoolAction => ({
  type: 'remove',
  containerId: m.containerId,
  member: m.name,
  cause,
  graceSeconds: memberGraceSeconds(view.desired),
});

/** The earliest finite deadline after now, if any. */
export function earliestAfter(now: number, deadlines: Iterable<number | undefined>): number | undefined {
  let out: number | undefined;
  for (const d of deadlines) if (d !== undefined && Number.isFinite(d) && d > now && (out === undefined || d < out)) out = d;
  return out;
}
