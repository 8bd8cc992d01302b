// calculateStatus for an InstanceClaim, pure: from its binding record (what
// the claim rules decided), its place in the pool's queue and whether the
// pool exists. The Bound condition keeps its lastTransitionTime unless its
// status changes.
import { setCondition, type ClaimPhase, type ClaimStatus } from '../../spec/status.js';
import type { ObservedPort } from '../../runtime/types.js';

/** A claim's binding as the controller records it. */
export interface ClaimBinding {
  phase: ClaimPhase;
  instance?: string;
  containerId?: string;
  ports?: ObservedPort[];
  boundAt?: number;
  expiresAt?: number;
  waitMs?: number;
  reason?: string;
  message?: string;
}

export interface ClaimStatusInput {
  binding: ClaimBinding;
  poolName: string;
  /** The claim's (and so its pool's) namespace, for messages. */
  poolNamespace?: string;
  poolExists: boolean;
  /** 1-based place among the pool's waiting claims (Pending only). */
  position?: number;
  generation: number;
  previous?: ClaimStatus;
  now: number;
}

export function claimStatus(input: ClaimStatusInput): ClaimStatus {
  const { binding: b, poolName } = input;
  const [reason, message] =
    b.phase === 'Pending'
      ? input.poolExists
        ? ['WaitingForMember', `waiting for a warm member of pool ${poolName}${input.position !== undefined ? ` (position ${input.position} in the queue)` : ''}`]
        : ['PoolNotFound', `pool ${poolName} does not exist (yet)${input.poolNamespace !== undefined ? ` in namespace ${input.poolNamespace}` : ''}`]
      : [b.reason ?? b.phase, b.message ?? ''];
  const conditions = setCondition(
    input.previous?.conditions ?? [],
    { type: 'Bound', status: b.phase === 'Bound' ? 'True' : 'False', reason, message, observedGeneration: input.generation },
    new Date(input.now).toISOString(),
  );
  return {
    phase: b.phase,
    ...(b.instance !== undefined ? { instance: b.instance } : {}),
    ...(b.containerId !== undefined ? { containerId: b.containerId } : {}),
    ...(b.ports !== undefined ? { ports: b.ports } : {}),
    ...(b.boundAt !== undefined ? { boundAt: new Date(b.boundAt).toISOString() } : {}),
    ...(b.expiresAt !== undefined ? { expiresAt: new Date(b.expiresAt).toISOString() } : {}),
    ...(b.waitMs !== undefined ? { waitDurationMs: b.waitMs } : {}),
    observedGeneration: input.generation,
    conditions,
  };
}
