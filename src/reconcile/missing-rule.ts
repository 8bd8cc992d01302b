// Rule 1: no container -> create and start one, unless the Instance is
// Stopped or is a run-to-completion job that already completed with this
// config.
import { hashIsDesired } from './hash-compare.js';
import { NOTHING, type InstanceView, type RuleResult } from './rule.js';
import type { DesiredInstance, RestartMemory } from './types.js';

/** memory.completed records a finished run of the desired config that must not run again. */
export function completedWithDesiredConfig(desired: DesiredInstance, memory: RestartMemory): boolean {
  const done = memory.completed;
  if (!done || !hashIsDesired(desired, done.configHash, done.hashVersion)) return false;
  const policy = desired.spec.restartPolicy;
  return policy === 'Never' || (policy === 'OnFailure' && done.exitCode === 0);
}

export function missingRule(view: InstanceView): RuleResult {
  if (view.container) return NOTHING;
  const { desired, input } = view;
  if (desired.spec.state === 'Stopped') return NOTHING;
  if (completedWithDesiredConfig(desired, input.memory)) return NOTHING;
  return { actions: [{ type: 'create', cause: 'container missing', name: input.containerName }] };
}
