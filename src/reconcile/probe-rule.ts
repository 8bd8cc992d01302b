// Rule 6 (probes): berth's own health check failed failureThreshold times in a
// row -> restart the container (an Instance is restarted; a pool member would
// be replaced), with the same CrashLoopBackOff as a crash.
import { formatDelay, restartGate } from './backoff.js';
import { id12 } from './container.js';
import { NOTHING, type InstanceView, type RuleResult } from './rule.js';

export function probeRule(view: InstanceView): RuleResult {
  const { container: c, desired, input } = view;
  const check = desired.template.healthCheck;
  const failures = input.memory.probeFailures ?? 0;
  if (!c || !check || c.state !== 'running' || desired.spec.state !== 'Running') return NOTHING;
  if (!(failures >= check.failureThreshold)) return NOTHING;
  const gate = restartGate(input.memory, c, input.now);
  if (!gate.allowed) {
    return {
      actions: [],
      deadline: gate.until,
      waiting: {
        reason: 'CrashLoopBackOff',
        message: `back-off ${formatDelay(gate.delayMs)} restarting unhealthy container ${id12(c.id)} (health check failed ${failures} times)`,
        until: gate.until,
      },
    };
  }
  return { actions: [{ type: 'restart', cause: `health check failed ${failures} times`, containerId: c.id, attempt: gate.attempt }] };
}
