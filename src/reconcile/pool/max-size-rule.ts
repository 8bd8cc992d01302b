// Rule 4 (surplus, by size): more members than maxSize (maxSize was lowered)
// -> remove unclaimed ones until the pool fits: drifted first, then aged,
// then the oldest. Claimed members are never removed, so a pool whose claims
// alone exceed maxSize shrinks as they are released.
import { compareRotationOrder } from './members.js';
import { actedOn, keptAfter, NOTHING, removeAction, type PoolRule } from './rule.js';

export const maxSizeRule: PoolRule = (view, decided) => {
  const { maxSize } = view.limits;
  const kept = keptAfter(view, decided);
  const excess = kept.length - maxSize;
  if (!(excess > 0)) return NOTHING;
  const acted = actedOn(decided);
  const candidates = kept.filter((m) => !m.claimed && !acted.has(m.containerId)).sort(compareRotationOrder);
  return { actions: candidates.slice(0, excess).map((m) => removeAction(view, m, `above maxSize ${maxSize}`)) };
};
