// The status berth writes on an InstancePool (DESIGN.md "InstancePool": status).
import type { Condition } from '../../spec/status.js';

/** How long claims waited for a member, over the controller's recent window. */
export interface ClaimWaitStats {
  p50Ms?: number;
  p99Ms?: number;
  /** Claims the figures are taken over. */
  count: number;
}

export interface PoolStatus {
  /** All members, claimed and starting included. */
  replicas: number;
  /** Warm members passing their health check: unclaimed, not released. */
  ready: number;
  /** Members bound to a claim. */
  claimed: number;
  /** Members carrying the desired config hash. */
  updatedReplicas: number;
  /** The desired config hash. */
  configHash: string;
  observedGeneration: number;
  /** Ready, Progressing, Degraded. */
  conditions: Condition[];
  claimWait: ClaimWaitStats;
}
