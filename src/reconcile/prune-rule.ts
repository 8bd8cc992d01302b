// Rule 7 (prune): the spec is gone, so every container berth made for it goes,
// unless the spec opted out with `berth.dev/prune: disabled`.
import type { ObservedContainer } from '../runtime/types.js';
import { compareOldestFirst } from './container.js';
import { NOTHING, type RuleResult } from './rule.js';
import { PRUNE_ANNOTATION } from './types.js';

/** `owned`: this controller's containers of the deleted spec. */
export function pruneRule(owned: readonly ObservedContainer[], pruneDisabled: boolean): RuleResult {
  if (owned.length === 0) return NOTHING;
  if (pruneDisabled) {
    const n = owned.length;
    return {
      actions: [],
      waiting: {
        reason: 'PruneDisabled',
        message: `spec deleted; ${PRUNE_ANNOTATION}: disabled keeps ${n} container${n === 1 ? '' : 's'}`,
      },
    };
  }
  return {
    actions: [...owned].sort(compareOldestFirst).map((c) => ({ type: 'remove', cause: 'spec deleted', containerId: c.id })),
  };
}
