// The planner for one Instance: observed containers + desired spec + memory +
// now -> a Plan. Pure and total: it reads nothing but its input, and any
// input (however odd the runtime's answer) yields a plan, never an exception.
//
// Steps, as in DESIGN.md "Reconciliation rules":
//   1. keep only this controller's containers of this key (labels are ownership)
//   2. spec gone -> prune
//   3. several containers -> keep one, remove the rest (crash mid-replacement)
//   4. the first rule that acts on the kept container (or its absence) decides;
//      rules before it may still ask for a wake-up
//   5. the kept container takes the canonical name once nobody else holds it
import type { ObservedContainer } from '../runtime/types.js';
import { compareOldestFirst, id12, sameName } from './container.js';
import { driftRule } from './drift-rule.js';
import { duplicatesRule } from './duplicates-rule.js';
import { exitedRule } from './exited-rule.js';
import { finishedRule } from './finished-rule.js';
import { compareContainerHash } from './hash-compare.js';
import { maxAgeRule } from './max-age-rule.js';
import { missingRule } from './missing-rule.js';
import { probeRule } from './probe-rule.js';
import { pruneRule } from './prune-rule.js';
import { needsStopFirst, type InstanceRule, type InstanceView, type RuleResult } from './rule.js';
import { stoppedRule } from './stopped-rule.js';
import type { Action, Plan, PlanInput, Waiting } from './types.js';

/**
 * The rules about the one container of an Instance, in priority order: the
 * first that acts wins, so a container gets at most one structural change per
 * plan (a drifted crashed container is replaced, not restarted then replaced).
 */
export const INSTANCE_RULES: ReadonlyArray<readonly [name: string, rule: InstanceRule]> = [
  ['missing', missingRule],
  ['drift', driftRule],
  ['stopped', stoppedRule],
  ['finished', finishedRule],
  ['max-age', maxAgeRule],
  ['exited', exitedRule],
  ['probe', probeRule],
];

/** This controller's live containers of this key, one entry per id. */
export function ownedContainers(input: PlanInput): ObservedContainer[] {
  // Usually one container: the set that drops a listed-twice id is made only when there are more.
  const seen = input.observed.length > 1 ? new Set<string>() : undefined;
  const out: ObservedContainer[] = [];
  for (const c of input.observed) {
    if (c.managedBy !== input.controllerId) continue;
    if (c.kind !== input.key.kind || c.namespace !== input.key.namespace || c.owner !== input.key.name) continue;
    // Already on its way out: nothing to decide about it.
    if (c.state === 'removing') continue;
    if (seen?.has(c.id)) continue;
    seen?.add(c.id);
    out.push(c);
  }
  return out;
}

/**
 * The container the planner keeps for this Instance (the one status and
 * probes should describe): desired config, then running, then newest, with
 * hash formats compared as the drift rule does. Undefined without a spec.
 */
export function keptContainer(input: PlanInput): ObservedContainer | undefined {
  const desired = input.desired;
  if (!desired) return undefined;
  try {
    return duplicatesRule(ownedContainers(input), (c) => compareContainerHash(desired, c)).kept;
  } catch {
    return undefined;
  }
}

export function planInstance(input: PlanInput): Plan {
  try {
    return planInstanceUnchecked(input);
  } catch (error) {
    // Unreachable by construction (property-tested); a bug must not stop the controller.
    const message = error instanceof Error ? error.message : String(error);
    return { key: input.key, actions: [], waiting: { reason: 'PlanFailed', message: `planner error: ${message}` } };
  }
}

function planInstanceUnchecked(input: PlanInput): Plan {
  const owned = ownedContainers(input);
  const desired = input.desired;
  if (!desired) {
    const pruned = pruneRule(owned, input.pruneDisabled === true);
    return toPlan(input, [...pruned.actions], [pruned]);
  }

  const compare = (c: ObservedContainer) => compareContainerHash(desired, c);
  const dups = duplicatesRule(owned, compare);
  const kept = dups.kept;
  const view: InstanceView = { input, desired, container: kept, hash: kept ? compare(kept) : undefined };

  const results: RuleResult[] = [dups];
  let decided: Action[] = [];
  for (const [, rule] of INSTANCE_RULES) {
    const result = rule(view);
    results.push(result);
    if (result.actions.length > 0) {
      decided = result.actions;
      break;
    }
  }

  // Bring the kept container up before the others go, unless they would
  // fight over a fixed host port; replacements go after the others are gone,
  // so that the name they finish with is free.
  const bringUpFirst = decided.some((a) => a.type === 'start' || a.type === 'restart') && !needsStopFirst(desired);
  const actions = dups.actions.length === 0 ? [...decided] : bringUpFirst ? [...decided, ...dups.actions] : [...dups.actions, ...decided];

  const rename = kept ? renameAction(input, kept, actions) : undefined;
  if (rename) actions.push(rename);
  return toPlan(input, actions, results);
}

/**
 * The kept container is not under the canonical name: rename it once the old
 * holder is gone (removed in this plan, or already). Not when the container
 * itself is on its way out, nor while a container this plan does not remove
 * (another controller's, or one being removed) holds the name.
 */
function renameAction(input: PlanInput, kept: ObservedContainer, actions: readonly Action[]): Action | undefined {
  if (sameName(kept.name, input.containerName)) return undefined;
  const replacedOrRemoved = actions.some((a) => (a.type === 'replace' || a.type === 'remove') && a.containerId === kept.id);
  if (replacedOrRemoved) return undefined;
  const removed = new Set(actions.flatMap((a) => (a.type === 'remove' ? [a.containerId] : [])));
  const holders = input.observed.filter((c) => c.id !== kept.id && sameName(c.name, input.containerName)).sort(compareOldestFirst);
  if (holders.some((h) => !removed.has(h.id))) return undefined;
  const cause = holders.length > 0 ? `finish replacement of ${id12(holders[0]!.id)}` : 'not under its canonical name';
  return { type: 'rename', cause, containerId: kept.id, name: input.containerName };
}

function toPlan(input: PlanInput, actions: Action[], results: readonly RuleResult[]): Plan {
  let nextDeadline: number | undefined;
  let waiting: Waiting | undefined;
  for (const r of results) {
    if (r.deadline !== undefined && Number.isFinite(r.deadline) && (nextDeadline === undefined || r.deadline < nextDeadline)) nextDeadline = r.deadline;
    waiting ??= r.waiting;
  }
  // Assigned, not spread in: a plan is made per Instance per look, and each spread allocated an object.
  const plan: Plan = { key: input.key, actions };
  if (nextDeadline !== undefined) plan.nextDeadline = nextDeadline;
  if (waiting) plan.waiting = waiting;
  return plan;
}
