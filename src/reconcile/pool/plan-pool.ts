// The planner for one InstancePool: observed members + desired spec + waiting
// claims + now -> a PoolPlan. Pure and total, like planInstance.
//
// Steps, as in DESIGN.md "Reconciliation rules":
//   1. keep only this controller's members of this pool (labels are ownership)
//   2. spec gone -> prune every member (claimed ones last; see prune-rule.ts)
//   3. the rules, in order, each seeing the actions decided before it:
//      released -> recycle or remove; failed -> remove; stale -> rotate
//      (surge first); above maxSize -> remove; below target -> create
//      (with surge while rolling); idle above target -> remove
//   4. removes and recycles first, then creates; the earliest deadline wins
//
// Invariants (property-tested): a claimed member is never removed or
// recycled while the pool exists; no container gets two actions; creates
// never take warm members above target + maxSurge nor all members above
// maxSize; rotation never takes the warm ready count below
// minReady - maxUnavailable.
import { healthRule } from './health-rule.js';
import { idleRule } from './idle-rule.js';
import { maxSizeRule } from './max-size-rule.js';
import { classify, ownedMembers, type Member } from './members.js';
import { minimumRule } from './minimum-rule.js';
import { poolPruneRule } from './prune-rule.js';
import { releasedRule } from './released-rule.js';
import { rolloutRule } from './rollout-rule.js';
import { earliestAfter, poolLimits, type PoolRule, type PoolRuleResult, type PoolView } from './rule.js';
import type { PoolAction, PoolPlan, PoolPlanInput, PoolRollout } from './types.js';
import type { Waiting } from '../types.js';

/** The pool rules in the order they decide. */
export const POOL_RULES: ReadonlyArray<readonly [name: string, rule: PoolRule]> = [
  ['released', releasedRule],
  ['health', healthRule],
  ['rollout', rolloutRule],
  ['max-size', maxSizeRule],
  ['minimum', minimumRule],
  ['idle', idleRule],
];

export function planPool(input: PoolPlanInput): PoolPlan {
  try {
    return planPoolUnchecked(input);
  } catch (error) {
    // Unreachable by construction (property-tested); a bug must not stop the controller.
    const message = error instanceof Error ? error.message : String(error);
    return { key: input.key, actions: [], waiting: { reason: 'PlanFailed', message: `planner error: ${message}` }, rollout: { updated: 0, total: 0, done: true } };
  }
}

/** The pool as the rules see it; undefined when the spec is gone. */
export function poolView(input: PoolPlanInput): PoolView | undefined {
  const desired = input.desired;
  if (!desired) return undefined;
  const members = ownedMembers(input).map((m) => classify(desired, m, input.now));
  return { input, desired, members, limits: poolLimits(desired, members, input.pendingClaims, input.terminating ?? 0) };
}

/** How far the config and age rotation got: claimed members count (they roll after release). */
export function rolloutOf(members: readonly Member[]): PoolRollout {
  const updated = members.filter((m) => m.stale === undefined).length;
  return { updated, total: members.length, done: updated === members.length };
}

function planPoolUnchecked(input: PoolPlanInput): PoolPlan {
  const view = poolView(input);
  if (!view) {
    const owned = ownedMembers(input);
    const pruned = poolPruneRule(owned, input.pruneDisabled === true);
    return toPlan(input, pruned.actions, [pruned], { updated: 0, total: owned.length, done: true });
  }
  const decided: PoolAction[] = [];
  const results: PoolRuleResult[] = [];
  for (const [, rule] of POOL_RULES) {
    const result = rule(view, decided);
    results.push(result);
    decided.push(...result.actions);
  }
  const creates = decided.filter((a) => a.type === 'create');
  const held = creates.length > 0 && input.createsHeldUntil !== undefined && input.createsHeldUntil > input.now;
  // Held back after failed creates: look again when the backoff ends.
  if (held) results.push({ actions: [], deadline: input.createsHeldUntil });
  const ordered = [...decided.filter((a) => a.type !== 'create'), ...(held ? [] : creates)];
  return toPlan(input, ordered, results, rolloutOf(view.members));
}

function toPlan(input: PoolPlanInput, actions: PoolAction[], results: readonly PoolRuleResult[], rollout: PoolRollout): PoolPlan {
  const nextDeadline = earliestAfter(
    input.now,
    results.map((r) => r.deadline),
  );
  let waiting: Waiting | undefined;
  for (const r of results) waiting ??= r.waiting;
  return {
    key: input.key,
    actions,
    ...(nextDeadline !== undefined ? { nextDeadline } : {}),
    ...(waiting ? { waiting } : {}),
    rollout,
  };
}
