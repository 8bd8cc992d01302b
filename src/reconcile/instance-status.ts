// calculateStatus for an Instance, pure: what was observed, what was planned,
// how acting went, and the lifecycle phase of the current container. Conditions
// keep their lastTransitionTime unless their status changes.
import { setCondition, type Condition, type InstanceStatus, type ProbeResult } from '../spec/status.js';
import type { ObservedContainer } from '../runtime/types.js';
import type { DesiredInstance, Plan, RestartMemory } from './types.js';

export interface InstanceStatusInput {
  desired: DesiredInstance;
  generation: number;
  /** The container the Instance is now represented by, if any (after acting). */
  current?: ObservedContainer;
  /** Its lifecycle phase from the machine (Ready, Probing, Stopped, ...), when known. */
  phase?: string;
  lastProbe?: ProbeResult;
  plan: Plan;
  /** The error acting on the plan ended with, if any. */
  actError?: { reason: string; message: string };
  memory: RestartMemory;
  previous?: InstanceStatus;
  usage?: InstanceStatus['usage'];
  lastDrift?: InstanceStatus['lastDrift'];
  /** What the spec asks for that the runtime does not enforce (e.g. resources.pids on Pods): a Warning condition says so. */
  notEnforced?: string[];
  now: number;
}

type C = Omit<Condition, 'lastTransitionTime' | 'observedGeneration'>;

export function instanceStatus(input: InstanceStatusInput): InstanceStatus {
  const { desired, current, plan, actError, memory, now } = input;
  const nowIso = new Date(now).toISOString();
  const phase = phaseFor(input);
  const ready = readyCondition(input, phase);
  const progressing: C =
    actError || plan.actions.length > 0
      ? { type: 'Progressing', status: 'True', reason: progressReason(plan, actError), message: plan.actions.map((a) => a.cause).join('; ') || actError?.message || '' }
      : phase === 'Probing' || phase === 'Starting' || phase === 'Creating' || phase === 'Pending'
        ? { type: 'Progressing', status: 'True', reason: 'Starting', message: 'waiting for the container to pass its health check' }
        : { type: 'Progressing', status: 'False', reason: 'Converged', message: 'the container matches the spec' };
  const degraded: C = actError
    ? { type: 'Degraded', status: 'True', reason: actError.reason, message: actError.message }
    : plan.waiting && plan.waiting.reason !== 'PruneDisabled'
      ? { type: 'Degraded', status: 'True', reason: plan.waiting.reason, message: plan.waiting.message }
      : phase === 'Unhealthy'
        ? { type: 'Degraded', status: 'True', reason: 'HealthCheckFailed', message: input.lastProbe?.message ?? 'health check failing' }
        : { type: 'Degraded', status: 'False', reason: 'AsExpected', message: '' };

  let conditions = input.previous?.conditions ?? [];
  for (const c of [ready, progressing, degraded]) conditions = setCondition(conditions, { ...c, observedGeneration: input.generation }, nowIso);
  // Only while there is something to warn about: no Warning=False on every Instance.
  if (input.notEnforced?.length) {
    conditions = setCondition(conditions, { type: 'Warning', status: 'True', reason: 'NotEnforced', message: `not enforced by this runtime: ${input.notEnforced.join('; ')}`, observedGeneration: input.generation }, nowIso);
  } else {
    conditions = conditions.filter((c) => c.type !== 'Warning');
  }

  return {
    phase,
    ...(current ? { containerId: current.id } : {}),
    configHash: current?.configHash ?? desired.hash.hash,
    observedGeneration: input.generation,
    ...(current?.startedAt ? { startedAt: new Date(current.startedAt).toISOString() } : {}),
    restartCount: memory.restartCount,
    ...(input.lastProbe ? { lastProbe: input.lastProbe } : {}),
    conditions,
    ...(input.usage ? { usage: input.usage } : {}),
    ...(input.lastDrift ? { lastDrift: input.lastDrift } : {}),
  };
}

function phaseFor(input: InstanceStatusInput): string {
  const { current, desired, memory, plan } = input;
  if (!current) {
    if (memory.completed && memory.completed.configHash === desired.hash.hash) return memory.completed.exitCode === 0 ? 'Succeeded' : 'Failed';
    if (desired.spec.state === 'Stopped') return 'Stopped';
    return input.actError ? 'Failed' : 'Pending';
  }
  if (current.state === 'exited' || current.state === 'dead') {
    if (plan.waiting?.reason === 'CrashLoopBackOff') return 'Failed';
    if (desired.spec.restartPolicy !== 'Always' && desired.spec.state === 'Running') return current.exitCode === 0 && !current.oomKilled ? 'Succeeded' : 'Failed';
    return 'Stopped';
  }
  return input.phase ?? (current.state === 'running' ? 'Running' : capitalise(current.state));
}

function readyCondition(input: InstanceStatusInput, phase: string): C {
  const { desired, current, plan, actError } = input;
  if (phase === 'Ready') return { type: 'Ready', status: 'True', reason: desired.template.healthCheck ? 'HealthCheckPassed' : 'ContainerRunning', message: '' };
  if (actError) return { type: 'Ready', status: 'False', reason: actError.reason, message: actError.message };
  if (plan.waiting) return { type: 'Ready', status: 'False', reason: plan.waiting.reason, message: plan.waiting.message };
  switch (phase) {
    case 'Succeeded':
      return { type: 'Ready', status: 'False', reason: 'Completed', message: 'the container ran to completion' };
    case 'Failed':
      return { type: 'Ready', status: 'False', reason: 'ContainerFailed', message: current?.exitCode !== undefined ? `exited with code ${current.exitCode}` : 'the container failed' };
    case 'Stopped':
      return { type: 'Ready', status: 'False', reason: desired.spec.state === 'Stopped' ? 'Stopped' : 'ContainerExited', message: desired.spec.state === 'Stopped' ? 'state is Stopped' : 'the container is not running' };
    case 'Unhealthy':
      return { type: 'Ready', status: 'False', reason: 'HealthCheckFailed', message: input.lastProbe?.message ?? 'health check failing' };
    case 'Probing':
      return { type: 'Ready', status: 'False', reason: 'Probing', message: 'waiting for the health check to pass' };
    default:
      return { type: 'Ready', status: 'False', reason: plan.actions.length ? progressReason(plan, undefined) : phase, message: plan.actions.map((a) => a.cause).join('; ') };
  }
}

function progressReason(plan: Plan, actError: InstanceStatusInput['actError']): string {
  if (actError) return actError.reason;
  const first = plan.actions[0];
  if (!first) return 'Converged';
  if (first.type === 'replace') return first.reason;
  if (first.type === 'create') return 'Creating';
  if (first.type === 'restart') return 'Restarting';
  if (first.type === 'stop') return 'Stopping';
  if (first.type === 'remove') return 'Removing';
  return 'Progressing';
}

const capitalise = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);
