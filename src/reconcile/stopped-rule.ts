// Rule 9: state Stopped -> stop the container and keep it. Never creates
// (the missing rule holds back) and never restarts (the exited rule holds back).
import { isAlive } from './container.js';
import { NOTHING, type InstanceView, type RuleResult } from './rule.js';

export function stoppedRule(view: InstanceView): RuleResult {
  const c = view.container;
  if (!c || view.desired.spec.state !== 'Stopped' || !isAlive(c)) return NOTHING;
  return { actions: [{ type: 'stop', cause: 'state is Stopped', containerId: c.id }] };
}
