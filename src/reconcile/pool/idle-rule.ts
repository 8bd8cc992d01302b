// Rule 4 (surplus, by idleness): warm ready members above the target that
// have been idle longer than idleTimeoutSeconds are removed, longest idle
// first; when a surplus remains, look again when the next one times out.
// Not during a rolling update: the members above the target then are its
// surge, and rotation removes the stale ones.
import { compareOldestFirst, finiteOr } from '../container.js';
import type { Member } from './members.js';
import { earliestAfter, NOTHING, removeAction, warmAfter, type PoolRule } from './rule.js';
import type { PoolAction } from './types.js';

export const idleRule: PoolRule = (view, decided) => {
  const timeout = view.desired.spec.idleTimeoutSeconds;
  if (timeout === undefined || !Number.isFinite(timeout)) return NOTHING;
  const warm = warmAfter(view, decided);
  if (warm.some((w) => w.stale)) return NOTHING;
  const now = view.input.now;
  const ready = warm.filter((w) => w.ready).map((w) => w.member);
  const surplus = ready.length - view.limits.target;
  if (surplus <= 0) return NOTHING;

  const idleSince = (m: Member): number => finiteOr(m.observed.idleSince, now);
  const dueAt = (m: Member): number => idleSince(m) + timeout * 1000;
  const longestIdleFirst = [...ready].sort((a, b) => idleSince(a) - idleSince(b) || compareOldestFirst(a.observed.container, b.observed.container));
  const actions: PoolAction[] = [];
  for (const m of longestIdleFirst) {
    if (actions.length >= surplus || dueAt(m) > now) break;
    actions.push(removeAction(view, m, `idle for ${Math.floor((now - idleSince(m)) / 1000)}s above minReady`));
  }
  if (actions.length >= surplus) return { actions };
  const deadline = earliestAfter(now, longestIdleFirst.slice(actions.length).map(dueAt));
  return { actions, ...(deadline !== undefined ? { deadline } : {}) };
};
