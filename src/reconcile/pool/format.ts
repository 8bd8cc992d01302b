// A pool plan as stable text, one line per action with its cause, as
// ../format.ts does for Instances: what `berth diff` prints and what the
// golden tests compare.
//
//   InstancePool/sandboxes/runners: remove m-1 3f2a1b0c9d8e (config hash changed: image)
//   InstancePool/sandboxes/runners: create m-3 (surge for rolling update)
//   InstancePool/sandboxes/runners: rollout 1 of 3 members updated
import { keyString } from '../../spec/schema.js';
import { id12 } from '../container.js';
import { formatTime, formatWaiting } from '../format.js';
import type { PoolAction, PoolPlan } from './types.js';

/** One action without its key: "create m-3 (below pool minimum)", "remove m-1 3f2a1b0c9d8e (health check failing)". */
export function formatPoolAction(a: PoolAction): string {
  if (a.type === 'create') return `create ${a.member} (${a.cause})`;
  const short = id12(a.containerId);
  return `${a.type} ${a.member === short ? short : `${a.member} ${short}`} (${a.cause})`;
}

/**
 * The plan, one line per action, then the wait, the rollout while it is not
 * done, and the next wake-up; "nothing to do" when there are no actions and
 * no wait.
 */
export function formatPoolPlan(plan: PoolPlan): string {
  const prefix = `${keyString(plan.key)}: `;
  const lines = plan.actions.map(formatPoolAction);
  if (plan.waiting) lines.push(formatWaiting(plan.waiting));
  if (plan.actions.length === 0 && !plan.waiting) lines.push('nothing to do');
  if (!plan.rollout.done) lines.push(`rollout ${plan.rollout.updated} of ${plan.rollout.total} members updated`);
  if (plan.nextDeadline !== undefined && plan.nextDeadline !== plan.waiting?.until) lines.push(`next check at ${formatTime(plan.nextDeadline)}`);
  return lines.map((l) => prefix + l).join('\n');
}

/** Several plans, in the order given. */
export const formatPoolPlans = (plans: readonly PoolPlan[]): string => plans.map(formatPoolPlan).join('\n');
