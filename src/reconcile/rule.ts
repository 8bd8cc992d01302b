// What a rule returns, and the view of the world the Instance rules share.
import type { ObservedContainer } from '../runtime/types.js';
import type { HashComparison } from './hash-compare.js';
import type { Action, DesiredInstance, PlanInput, Waiting } from './types.js';

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
 * Run-to-completion: with restartPolicy Never every exit is final; with
 * OnFailure a clean exit is.
 */
export function isFinishedRun(desired: DesiredInstance, failed: boolean): boolean {
  const policy = desired.spec.restartPolicy;
  return policy === 'Never' || (policy === 'OnFailure' && !failed);
}
