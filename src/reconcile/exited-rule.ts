// Rule 6: a container that is not running while the Instance should run is
// restarted per restartPolicy (Always: any exit; OnFailure: a failure; Never:
// no restart), with CrashLoopBackOff between consecutive restarts. A
// container that was created but never started is started: it never ran, so
// there is nothing to back off from and no policy to apply.
import { formatDelay, restartGate } from './backoff.js';
import { exitDescription, exitedWithFailure, hasExited, id12, neverStarted } from './container.js';
import { NOTHING, type InstanceView, type RuleResult } from './rule.js';

export function exitedRule(view: InstanceView): RuleResult {
  const { container: c, desired, input } = view;
  if (!c || desired.spec.state !== 'Running') return NOTHING;
  if (neverStarted(c)) return { actions: [{ type: 'start', cause: 'container created but not started', containerId: c.id }] };
  if (!hasExited(c)) return NOTHING;
  const policy = desired.spec.restartPolicy;
  if (policy === 'Never' || (policy === 'OnFailure' && !exitedWithFailure(c))) return NOTHING;
  const gate = restartGate(input.memory, c, input.now);
  if (!gate.allowed) {
    return {
      actions: [],
      deadline: gate.until,
      waiting: {
        reason: 'CrashLoopBackOff',
        message: `back-off ${formatDelay(gate.delayMs)} restarting failed container ${id12(c.id)} (${exitDescription(c)})`,
        until: gate.until,
      },
    };
  }
  return { actions: [{ type: 'restart', cause: `container ${exitDescription(c)}`, containerId: c.id, attempt: gate.attempt }] };
}
