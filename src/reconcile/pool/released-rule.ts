// Rule 8's last step: a member whose claim was released goes per
// recycle.policy. Replace: it is removed (the minimum rule creates a fresh
// one). Reuse: it goes back to warm (the controller re-probes it) unless it
// served maxUses claims, fails, or would only rotate out again (drifted or
// past maxAgeSeconds): then it is removed.
import { finiteOr } from '../container.js';
import type { Member } from './members.js';
import { actedOn, removeAction, type PoolRule, type PoolView } from './rule.js';
import type { PoolAction } from './types.js';

export const releasedRule: PoolRule = (view, decided) => {
  const acted = actedOn(decided);
  return { actions: view.members.filter((m) => m.released && !acted.has(m.containerId)).map((m) => releasedAction(view, m)) };
};

function releasedAction(view: PoolView, m: Member): PoolAction {
  const { policy, maxUses } = view.desired.spec.recycle ?? { policy: 'Replace' };
  if (policy !== 'Reuse') return removeAction(view, m, 'released; replaced by a fresh member');
  if (m.failure !== undefined) return removeAction(view, m, `released; ${m.failure}`);
  const uses = Math.max(0, Math.floor(finiteOr(m.observed.uses, 0)));
  if (maxUses !== undefined && uses >= maxUses) return removeAction(view, m, `reached maxUses ${maxUses}`);
  if (m.stale) return removeAction(view, m, `released; ${m.stale.cause}`);
  const cause = maxUses !== undefined ? `released after use ${uses} of ${maxUses}` : `released after ${uses} use${uses === 1 ? '' : 's'}`;
  return { type: 'recycle', containerId: m.containerId, member: m.name, cause };
}
