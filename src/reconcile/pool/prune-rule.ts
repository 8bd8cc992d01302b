// Rule 7 (prune) for a pool: the spec is gone, so every member goes, unless
// the deleted spec opted out with `berth.dev/prune: disabled`.
//
// Claimed members go too (after the unclaimed ones): a deleted pool cannot
// replace or recycle a member on release, so keeping them would leak
// containers for as long as their claims live, and a claim without a ttl
// lives forever. Deleting the pool is the user's explicit word; the cause
// names the claim that loses its member, so `berth diff` shows it first.
import { PRUNE_ANNOTATION } from '../types.js';
import { compareOldestFirst } from '../container.js';
import { memberName } from './members.js';
import { NOTHING, type PoolRuleResult } from './rule.js';
import type { ObservedMember } from './types.js';

/** `owned`: this controller's members of the deleted pool. */
export function poolPruneRule(owned: readonly ObservedMember[], pruneDisabled: boolean): PoolRuleResult {
  if (owned.length === 0) return NOTHING;
  if (pruneDisabled) {
    const n = owned.length;
    return {
      actions: [],
      waiting: { reason: 'PruneDisabled', message: `pool deleted; ${PRUNE_ANNOTATION}: disabled keeps ${n} member${n === 1 ? '' : 's'}` },
    };
  }
  const unclaimedFirst = [...owned].sort(
    (a, b) => Number(a.claimedBy !== undefined) - Number(b.claimedBy !== undefined) || compareOldestFirst(a.container, b.container),
  );
  return {
    actions: unclaimedFirst.map((m) => ({
      type: 'remove',
      containerId: m.container.id,
      member: memberName(m.container),
      cause: m.claimedBy === undefined ? 'pool deleted' : `pool deleted; claim ${m.claimedBy} loses its member`,
      // A claimed member may be doing someone's work: it gets the default stop grace period.
      graceSeconds: m.claimedBy === undefined ? 0 : 10,
    })),
  };
}
