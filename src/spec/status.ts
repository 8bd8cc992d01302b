// Status shapes berth writes (metav1.Condition for conditions).

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  type: string;
  status: ConditionStatus;
  observedGeneration?: number;
  /** RFC 3339; changes only when status changes. */
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export interface ProbeResult {
  time: string;
  ok: boolean;
  message: string;
}

export interface InstanceStatus {
  phase: string;
  containerId?: string;
  configHash?: string;
  observedGeneration?: number;
  startedAt?: string;
  restartCount: number;
  lastProbe?: ProbeResult;
  conditions: Condition[];
  usage?: { cpu?: string; memory?: string; pids?: number };
  /** Fields that differed at the last replacement, so "why was this recreated?" has an answer. */
  lastDrift?: { fields: string[]; at: string };
}

/**
 * Sets a condition, keeping lastTransitionTime when the status did not change
 * (metav1 semantics), and returns a new list in a stable order.
 */
export function setCondition(conditions: readonly Condition[], next: Omit<Condition, 'lastTransitionTime'>, now: string): Condition[] {
  const prev = conditions.find((c) => c.type === next.type);
  const lastTransitionTime = prev && prev.status === next.status ? prev.lastTransitionTime : now;
  const merged: Condition = { ...next, lastTransitionTime };
  return [...conditions.filter((c) => c.type !== next.type), merged].sort((a, b) => CONDITION_ORDER(a.type) - CONDITION_ORDER(b.type));
}

const ORDER = ['Ready', 'Bound', 'Progressing', 'Degraded'];
const CONDITION_ORDER = (t: string): number => {
  const i = ORDER.indexOf(t);
  return i < 0 ? ORDER.length : i;
};

export type ClaimPhase = 'Pending' | 'Bound' | 'Released' | 'Expired' | 'Failed';

export interface ClaimStatus {
  phase: ClaimPhase;
  /** The pool member serving the claim, addressable as an instance (exec, logs). */
  instance?: string;
  containerId?: string;
  ports?: Array<{ containerPort: number; protocol: string; hostIP?: string; hostPort?: number }>;
  boundAt?: string;
  expiresAt?: string;
  /** How long the claim waited for a warm member. */
  waitDurationMs?: number;
  observedGeneration?: number;
  conditions: Condition[];
}
