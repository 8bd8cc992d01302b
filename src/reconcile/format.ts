// A plan as stable text, one line per action, each with its cause: what
// `berth diff` prints and what the golden tests compare.
//
//   Instance/default/web: replace 3f2a1b0c9d8e (config hash changed: env, image)
//   Instance/default/web: waiting CrashLoopBackOff until 2026-01-01T00:00:40Z (back-off 40s restarting ...)
//   Instance/default/web: nothing to do
import { keyString } from '../spec/schema.js';
import { id12 } from './container.js';
import type { Action, Plan, Waiting } from './types.js';

/** Epoch ms as ISO 8601 UTC, whole seconds without ".000"; never throws. */
export function formatTime(ms: number): string {
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return String(ms);
  return d.toISOString().replace(/\.000Z$/, 'Z');
}

/** One action without its key: "replace 3f2a1b0c9d8e (config hash changed: image)". */
export function formatAction(a: Action): string {
  switch (a.type) {
    case 'create':
      return `create ${a.name} (${a.cause})`;
    case 'replace':
      return `replace ${id12(a.containerId)}${a.stopFirst ? ' stop-first' : ''} (${a.cause})`;
    case 'restart':
      return `restart ${id12(a.containerId)} attempt ${a.attempt} (${a.cause})`;
    case 'rename':
      return `rename ${id12(a.containerId)} to ${a.name} (${a.cause})`;
    case 'start':
    case 'stop':
    case 'remove':
      return `${a.type} ${id12(a.containerId)} (${a.cause})`;
  }
}

export function formatWaiting(w: Waiting): string {
  return `waiting ${w.reason}${w.until !== undefined ? ` until ${formatTime(w.until)}` : ''} (${w.message})`;
}

/** The plan, one line per action, then the wait and the next wake-up; "nothing to do" when there are no actions. */
export function formatPlan(plan: Plan): string {
  const prefix = `${keyString(plan.key)}: `;
  const lines = plan.actions.map(formatAction);
  if (plan.waiting) lines.push(formatWaiting(plan.waiting));
  if (plan.actions.length === 0 && !plan.waiting) lines.push('nothing to do');
  if (plan.nextDeadline !== undefined && plan.nextDeadline !== plan.waiting?.until) lines.push(`next check at ${formatTime(plan.nextDeadline)}`);
  return lines.map((l) => prefix + l).join('\n');
}

/** Several plans (berth diff over a directory), in the order given. */
export const formatPlans = (plans: readonly Plan[]): string => plans.map(formatPlan).join('\n');
