// What a rule returns, and the view of the world the Instance rules share.
import type { ObservedContainer } from '../runtime/types.js';
import type { HashComparison } from './hash-compare.js';
import type { Action, DesiredInstance, PlanInput, ReplaceReason, Waiting } from './types.js';

/** A rule's answer: actions with a cause each, an optional wake-up, an optional reason to wait. */
export interface RuleResult {
  actions: Action[];
  /** Epoch ms when this rule wants to look again (max age, ttl, backoff). */
  deadline?: number;
  waiting?: Waiting;
}

export const NOTHING: RuleResult = Object.freeze({ actions: [] }) as RuleResult;

/** The Instance as the rules after duplicate recovery see it: at most one container. */
export interface InstanceView {
  input: PlanInput;
  desired: DesiredInstance;
  /** The one container kept for this Instance (undefined: none). */
  container: ObservedContainer | undefined;
  /** The kept container's config compared with the desired one. */
  hash: HashComparison | undefined;
}

/** A rule about the one container of an Instance. */
export type InstanceRule = (view: InstanceView) => RuleResult;

/** The template binds a fixed host port: two containers cannot run side by side. */
export const needsStopFirst = (desired: DesiredInstance): boolean => desired.template.ports.some((p) => p.hostPort !== undefined);

/**
 * The replace action of the kept container, with everything the executor
 * needs so it decides nothing: the order, the temporary name of the new
 * container, and how long it may take to pass its probe.
 */
export function replaceAction(view: InstanceView & { container: ObservedContainer }, reason: ReplaceReason, cause: string, driftedFields?: string[]): Action {
  const { desired, input, container } = view;
  const h = desired.template.healthCheck;
  return {
    type: 'replace',
    reason,
    cause,
    containerId: container.id,
    stopFirst: needsStopFirst(desired),
    ...(driftedFields?.length ? { driftedFields } : {}),
    name: input.containerName,
    tempName: `${input.containerName}-${desired.hash.hash.slice(3, 11)}`,
    readyTimeoutMs: h ? (h.initialDelaySeconds + h.periodSeconds * (h.failureThreshold + 1)) * 1000 : 0,
  };
}

/**
 * Run-to-completion: with restartPolicy Never every exit is final; with
 * OnFailure a clean exit is.
 */
export function isFinishedRun(desired: DesiredInstance, failed: boolean): boolean {
  const policy = desired.spec.restartPolicy;
  return policy === 'Never' || (policy === 'OnFailure' && !failed);
}
