// Rules 3 and 5's surge: keep `target` warm members (minReady, plus one per
// waiting claim), never letting all members (claimed and starting included)
// exceed maxSize. Warm members of any config count toward the target; while
// stale ones remain, up to maxSurge more are created so that rotation can
// take old ones down without dropping below its floor:
//
//   creates = min(target - current warm, target + surge - warm), at least 0,
//   at most maxSize - members kept
//
// A roll the pool cannot make progress on (at maxSize, so no surge, and no
// stale member removable without breaking the floor, nothing in flight)
// waits visibly as RolloutBlocked.
import { isWarm } from './members.js';
import { keptAfter, warmAfter, type PoolRule, type PoolView } from './rule.js';
import type { PoolAction } from './types.js';

export const minimumRule: PoolRule = (view, decided) => {
  const { minReady, maxSize, maxSurge, target, floor, terminating } = view.limits;
  const kept = keptAfter(view, decided);
  const warm = warmAfter(view, decided);
  const current = warm.filter((w) => !w.stale).length;
  const stale = warm.length - current;
  const surge = stale > 0 ? maxSurge : 0;
  const want = Math.max(0, Math.min(target - current, target + surge - warm.length));
  // Members still terminating hold their place within maxSize until they are gone, and so do those this plan removes.
  const removing = view.members.length - kept.length;
  const count = Math.max(0, Math.min(want, maxSize - kept.length - terminating - removing));

  const actions: PoolAction[] = [];
  const ids = newMemberIds(view, count);
  ids.forEach((member, i) => {
    const cause = i < minReady - warm.length ? 'below pool minimum' : i < target - warm.length ? 'claims waiting' : 'surge for rolling update';
    actions.push({ type: 'create', member, cause });
  });

  // A member starting or one still terminating is progress: the roll goes on when it is ready or gone.
  const inFlight = warm.some((w) => !w.stale && !w.ready) || terminating > 0;
  const rotating = new Set(view.members.filter((m) => m.stale && isWarm(m)).map((m) => m.containerId));
  const rotatedNow = decided.some((a) => a.type === 'remove' && rotating.has(a.containerId));
  if (stale > 0 && actions.length === 0 && !inFlight && !rotatedNow) {
    const noSurge = Number.isFinite(maxSize) && kept.length >= maxSize ? `${kept.length} members fill maxSize ${maxSize}, so none can surge` : `maxSurge is ${maxSurge}`;
    return {
      actions,
      waiting: {
        reason: 'RolloutBlocked',
        message:
          `rolling update cannot proceed: ${noSurge}, and removing one of ${stale} outdated members would leave fewer than ${floor} ready; ` +
          'raise maxSize or updateStrategy.maxUnavailable',
      },
    };
  }
  return { actions };
};

/**
 * `count` fresh member ids: newMemberId(0), newMemberId(1), ..., skipping ids
 * in use by any observed member of the input (ours or not: the runtime name
 * derives from it) or chosen before. Gives up after a bounded number of tries
 * (a generator that repeats itself) and returns fewer.
 */
function newMemberIds(view: PoolView, count: number): string[] {
  if (count <= 0) return [];
  const used = new Set(view.input.members.map((m) => m.container.member).filter((m): m is string => !!m));
  const out: string[] = [];
  const tries = count + used.size + 16;
  for (let i = 0; out.length < count && i < tries; i++) {
    const id = view.input.newMemberId(i);
    if (typeof id !== 'string' || id === '' || used.has(id)) continue;
    used.add(id);
    out.push(id);
  }
  return out;
}
