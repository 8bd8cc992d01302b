// Rule 6 for pools: an unclaimed member whose process exited or whose health
// check fails is removed (the minimum rule creates a fresh one). A claimed
// member is left alone: its claim owns it, and it is replaced after release.
import { actedOn, removeAction, type PoolRule } from './rule.js';

export const healthRule: PoolRule = (view, decided) => {
  const acted = actedOn(decided);
  return {
    actions: view.members
      .filter((m) => !m.claimed && !m.released && m.failure !== undefined && !acted.has(m.containerId))
      .map((m) => removeAction(view, m, m.failure!)),
  };
};
