// Rule 8's last step: a member whose claim was released goes per
// recycle.policy. Replace: it is removed (the minimum rule creates a fresh
// one). Reuse: it goes back to warm (the controller re-probes it) unless it
// served maxUses claims, fails, or would only rotate out again (drifted or
// past maxAgeSeconds): then it is removed.
import { finiteOr } from '../container.js';
import type { Member } from './members.js';
import { actedOn, removeAction, type PoolRule } from './rule.js';
import type { DesiredPool, PoolAction } from './types.js';

export const releasedRule: PoolRule = (view, decided) => {
  const acted = actedOn(decided);
  return { actions: view.members.filter((m) => m.released && !acted.has(m.containerId)).map((m) => releasedAction(view.desired, m)) };
};

function releasedAction(desired: DesiredPool, m: Member): PoolAction {
  const { policy, maxUses } = desired.spec.recycle ?? { policy: 'Replace' };
  if (policy !== 'Reuse') return removeAction(m, 'released; replaced by a fresh member');
  if (m.failure !== undefined) return removeAction(m, `released; ${m.failure}`);
  const uses = Math.max(0, Math.floor(finiteOr(m.observed.uses, 0)));
  if (maxUses !== undefined && uses >= maxUses) return removeAction(m, `reached maxUses ${maxUses}`);
  if (m.stale) return removeAction(m, `released; ${m.stale.cause}`);
  const cause = maxUses !== undefined ? `released after use ${uses} of ${maxUses}` : `released after ${uses} use${uses === 1 ? '' : 's'}`;
  return { type: 'recycle', containerId: m.containerId, member: m.name, cause };
}
