// Rules 2 and 5 for pools: warm members with a stale config hash (drift) or
// past maxAgeSeconds rotate out, surge first. A stale member that is not
// ready yet costs no availability and goes at once; a ready one goes only
// while the warm ready count stays at or above minReady - maxUnavailable
// without it (members still starting do not count). The replacements come
// from the minimum rule, which may surge up to maxSurge above the target
// while stale members remain. Claimed members are never rotated: they are
// replaced after release.
import { compareRotationOrder } from './members.js';
import { earliestAfter, removeAction, warmAfter, type PoolRule } from './rule.js';

export const rolloutRule: PoolRule = (view, decided) => {
  const warm = warmAfter(view, decided);
  const staleStarting = warm.filter((w) => w.stale && !w.ready).map((w) => w.member);
  const staleReady = warm.filter((w) => w.stale && w.ready).map((w) => w.member);
  const ready = warm.filter((w) => w.ready).length;
  const removable = Math.max(0, ready - view.limits.floor);
  const out = [...staleStarting.sort(compareRotationOrder), ...staleReady.sort(compareRotationOrder).slice(0, removable)];
  // Members that stay young now come of age later: look again then.
  const deadline = earliestAfter(
    view.input.now,
    warm.filter((w) => !w.stale).map((w) => w.member.dueAt),
  );
  return { actions: out.map((m) => removeAction(view, m, m.stale!.cause)), ...(deadline !== undefined ? { deadline } : {}) };
};
