// Rule 2: the container's config hash is not the desired one -> replace it,
// naming the fields that drifted. New first, then the old goes (the executor
// renames after), unless a fixed host port forces stop-first. A Stopped
// Instance is not replaced: a replacement would start; it is replaced once
// it runs again.
import { NOTHING, replaceAction, type InstanceView, type RuleResult } from './rule.js';

export function driftRule(view: InstanceView): RuleResult {
  const { container: c, hash, desired } = view;
  if (!c || !hash || hash.matches) return NOTHING;
  if (desired.spec.state === 'Stopped') return NOTHING;
  return { actions: [replaceAction({ ...view, container: c }, 'ConfigDrift', hash.cause, hash.driftedFields)] };
}
