// Rule 5: a running container older than maxAgeSeconds is replaced (new
// first, as for drift); a younger one asks to be woken when it comes of age.
// Only containers that run are rotated: an exited one is the exited rule's
// (restarting it with backoff), a finished run is the finished rule's.
import { finiteOr, isAlive } from './container.js';
import { NOTHING, replaceAction, type InstanceView, type RuleResult } from './rule.js';

export function maxAgeRule(view: InstanceView): RuleResult {
  const { container: c, desired, input } = view;
  const maxAge = desired.spec.maxAgeSeconds;
  if (!c || maxAge === undefined || desired.spec.state === 'Stopped' || !isAlive(c)) return NOTHING;
  const dueAt = finiteOr(c.createdAt, input.now) + maxAge * 1000;
  if (input.now < dueAt) return { actions: [], deadline: dueAt };
  return { actions: [replaceAction({ ...view, container: c }, 'MaxAgeExceeded', 'max age exceeded')] };
}
