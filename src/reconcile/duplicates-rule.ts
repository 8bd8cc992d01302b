// Rule 2's recovery half: several containers for one Instance (a crash
// mid-replacement, or a race) converge on one. The kept one carries the
// desired config if any does; running beats not running; newest wins.
import type { ObservedContainer } from '../runtime/types.js';
import { compareOldestFirst, id12, isAlive } from './container.js';
import type { HashComparison } from './hash-compare.js';
import type { RuleResult } from './rule.js';

export interface DuplicatesResult extends RuleResult {
  /** The container the Instance keeps, undefined when there is none. */
  kept: ObservedContainer | undefined;
}

/** Higher is better: desired config, then alive, then newest (then id, for a total order). */
function better(a: ObservedContainer, aCurrent: boolean, b: ObservedContainer, bCurrent: boolean): boolean {
  if (aCurrent !== bCurrent) return aCurrent;
  if (isAlive(a) !== isAlive(b)) return isAlive(a);
  return compareOldestFirst(a, b) > 0;
}

/**
 * Picks the container to keep and removes the rest. A removed container with
 * another config than the kept one is a replacement that did not finish
 * ("replaced by <id12>"); one with the same config is a "duplicate container".
 */
export function duplicatesRule(owned: readonly ObservedContainer[], compare: (c: ObservedContainer) => HashComparison): DuplicatesResult {
  if (owned.length === 0) return { kept: undefined, actions: [] };
  // The common case, one container: nothing to choose (and no hash to compare here).
  if (owned.length === 1) return { kept: owned[0], actions: [] };
  const current = new Map(owned.map((c) => [c.id, compare(c).matches]));
  let kept = owned[0]!;
  for (const c of owned.slice(1)) {
    if (better(c, current.get(c.id)!, kept, current.get(kept.id)!)) kept = c;
  }
  const keptCurrent = current.get(kept.id)!;
  const rest = owned.filter((c) => c.id !== kept.id).sort(compareOldestFirst);
  return {
    kept,
    actions: rest.map((c) => ({
      type: 'remove',
      cause: keptCurrent && !current.get(c.id) ? `replaced by ${id12(kept.id)}` : 'duplicate container',
      containerId: c.id,
    })),
  };
}
